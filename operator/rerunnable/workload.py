"""`rerunnable-report`: a run reports its progress, steps and result, from inside its pod.

    rerunnable-report --progress 42/100 --message "loading shard 7"
    rerunnable-report --step load --phase Running
    rerunnable-report --step load --phase Succeeded --result location=s3://backups/2026-12-02

It reads what the operator put in the pod (RERUNNABLE_REPORT_URL,
RERUNNABLE_REPORT_CA, RERUNNABLE_REPORT_TOKEN_FILE) and POSTs one report.
Python's standard library only: copy this one file into any image with Python
3.9+ and run it. The same with curl:

    curl --cacert <(printf '%s' "$RERUNNABLE_REPORT_CA") \\
      -H "Authorization: Bearer $(cat "$RERUNNABLE_REPORT_TOKEN_FILE")" \\
      -H 'Content-Type: application/json' \\
      -d '{"progress": {"completed": 42, "total": 100}}' "$RERUNNABLE_REPORT_URL"

Exit codes: 0 accepted; 1 refused (the operator's message is printed); 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any

__all__ = ["main", "report_body"]

PHASES = ("Running", "Succeeded", "Failed", "Skipped")


def report_body(args: argparse.Namespace) -> dict[str, Any]:
    """The JSON report the arguments ask for."""
    body: dict[str, Any] = {}
    if args.progress:
        done, _, total = args.progress.partition("/")
        progress = {"completed": int(done)}
        if total:
            progress["total"] = int(total)
        body["progress"] = progress
    if args.message is not None:
        body["message"] = args.message
    if args.step:
        step = {"name": args.step, "phase": args.phase}
        if args.step_message is not None:
            step["message"] = args.step_message
        body["step"] = step
    if args.result:
        body["result"] = dict(pair.split("=", 1) for pair in args.result)
    return body


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rerunnable-report",
        description="Report a run's progress, steps and result to the Rerunnable operator "
        "(every call is also a heartbeat).",
    )
    parser.add_argument("--progress", metavar="DONE[/TOTAL]", help="e.g. 42/100")
    parser.add_argument("--message", help="what the run is doing, in its own words")
    parser.add_argument("--step", metavar="NAME", help="a step of the run (declared in spec.steps)")
    parser.add_argument("--phase", choices=PHASES, default="Running", help="the step's phase")
    parser.add_argument("--step-message", metavar="TEXT", help="words about the step")
    parser.add_argument(
        "--result", action="append", default=[], metavar="KEY=VALUE", help="repeat for several"
    )
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.progress and not all(p.isdigit() for p in args.progress.split("/", 1)):
        parser.error(f"--progress {args.progress}: write DONE or DONE/TOTAL, e.g. 42/100")
    if any("=" not in pair for pair in args.result):
        parser.error("--result: write KEY=VALUE")
    missing = [
        name
        for name in ("RERUNNABLE_REPORT_URL", "RERUNNABLE_REPORT_TOKEN_FILE")
        if not os.environ.get(name)
    ]
    if missing:
        print(
            f"rerunnable-report: {', '.join(missing)} not set: is spec.reporting.enabled true "
            "for this job?",
            file=sys.stderr,
        )
        return 2
    with open(os.environ["RERUNNABLE_REPORT_TOKEN_FILE"]) as f:
        token = f.read().strip()
    context = ssl.create_default_context(cadata=os.environ.get("RERUNNABLE_REPORT_CA") or None)
    request = urllib.request.Request(
        os.environ["RERUNNABLE_REPORT_URL"],
        data=json.dumps(report_body(args)).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, context=context, timeout=args.timeout):
            return 0
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        with contextlib.suppress(ValueError):
            detail = json.loads(detail).get("message", detail)
        print(f"rerunnable-report: refused ({e.code}): {detail}", file=sys.stderr)
        return 1
    except OSError as e:
        print(
            f"rerunnable-report: cannot reach {os.environ['RERUNNABLE_REPORT_URL']}: {e}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
