"""`rerunnable-report`: a run reports its progress, steps and result, from inside its pod.

    rerunnable-report --progress 42/100 --message "loading shard 7"
    rerunnable-report --step load --phase Running
    rerunnable-report --step load --phase Succeeded --result location=s3://backups/2026-12-02

It reads what the operator put in the pod (RERUNNABLE_REPORT_URL,
RERUNNABLE_REPORT_CA, RERUNNABLE_REPORT_TOKEN_FILE) and POSTs one report.
A result is also merged into the container's termination message
(`--termination-log`, the kubelet's default path unless given), which the
operator reads when the run ends: the operator answers a report before it has
written it (writes are coalesced, one a second), so a replica that dies in
that second would lose it, and a result must not be lost.
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

__all__ = ["keep_result", "main", "report_body"]

PHASES = ("Running", "Succeeded", "Failed", "Skipped")
TERMINATION_LOG = "/dev/termination-log"  # the kubelet's default terminationMessagePath
TERMINATION_LOG_MAX = 4096  # bytes the kubelet keeps of a termination message


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


def keep_result(path: str, result: dict[str, str]) -> str | None:
    """Merge `result` into the termination message at `path`; None if it was kept, else why
    not. Only a file that exists (the kubelet mounts it in every container) and holds
    nothing or a JSON object is written: a message of the workload's own is left alone."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return f"{path} does not exist (not in a Kubernetes container?)"
    except (OSError, UnicodeDecodeError) as e:
        return f"cannot read {path}: {e}"
    try:
        message = json.loads(text) if text.strip() else {}
    except ValueError:
        message = None
    if not isinstance(message, dict):
        return f"{path} holds a message of the workload's own"
    kept = message.get("result")
    message["result"] = {**(kept if isinstance(kept, dict) else {}), **result}
    data = json.dumps(message, separators=(",", ":"))
    if len(data.encode()) > TERMINATION_LOG_MAX:
        return f"the result would not fit in {path} ({TERMINATION_LOG_MAX} bytes)"
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(data)
    except OSError as e:
        return f"cannot write {path}: {e}"
    return None


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
    parser.add_argument(
        "--termination-log",
        default=TERMINATION_LOG,
        metavar="PATH",
        help="where a result is also kept (the container's terminationMessagePath)",
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
    body = report_body(args)
    if "result" in body and (why := keep_result(args.termination_log, body["result"])):
        print(
            f"rerunnable-report: result not kept in the termination message: {why}", file=sys.stderr
        )
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
        data=json.dumps(body).encode(),
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
