"""`make chaos`: the scenarios of docs/reliability.md against the local cluster.

    python -m chaos.run [--scenarios storm,apiserver,...] [--storm-seconds 600] ...

Prints one line per scenario (faults injected, runs, duplicates, lost, stuck,
backward transitions, takeover and recovery times) and writes every figure to
chaos/results/<UTC>.json. Exits 1 when any scenario broke a promise.
"""

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig
from tests.e2e.cluster import REPO, ensure_cluster, install_crds

from chaos import scenarios
from chaos.trial import Result

RESULTS = REPO / "chaos" / "results"
DEFAULT = "storm,apiserver,etcd,failover,partition,badinput,soak"


def parse(argv: list[str]) -> tuple[list[str], scenarios.Settings, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="make chaos", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--scenarios",
        default=DEFAULT,
        help=f"comma-separated, of: {', '.join(scenarios.SCENARIOS)} (default: {DEFAULT})",
    )
    defaults = scenarios.Settings()
    for f in dataclasses.fields(scenarios.Settings):
        parser.add_argument(
            f"--{f.name.replace('_', '-')}",
            type=type(getattr(defaults, f.name)),
            default=getattr(defaults, f.name),
            help=f"(default: {getattr(defaults, f.name)})",
        )
    parser.add_argument("--keep", action="store_true", help="keep each scenario's namespace")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in scenarios.SCENARIOS]
    if unknown:
        parser.error(f"--scenarios: unknown {', '.join(unknown)}")
    settings = scenarios.Settings(
        **{f.name: getattr(args, f.name) for f in dataclasses.fields(scenarios.Settings)}
    )
    return names, settings, args


def line(r: Result) -> str:
    d = r.as_dict()
    figures = ", ".join(f"{k} {v}" for k, v in r.figures.items())
    return (
        f"{r.scenario:<10} {'ok  ' if d['ok'] else 'FAIL'} faults {r.faults:>4}  runs {r.runs:>5}  "
        f"tokens {r.tokens:>5}  dup {d['duplicates']}  lost {d['lost']}  stuck {d['stuck']}  "
        f"orphans {d['orphans']}  disagree {d['disagreements']}  backward {d['backward']}  "
        f"({r.seconds / 60:.1f} min)\n           {figures}"
    )


def main(argv: list[str] | None = None) -> int:
    names, settings, args = parse(sys.argv[1:] if argv is None else argv)
    cluster = ensure_cluster()
    install_crds(cluster)
    log_dir = REPO / ".cluster" / "chaos-logs"
    started = datetime.now(UTC)
    results: list[dict[str, Any]] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    with Client(config=KubeConfig.from_file(cluster.kubeconfig), field_manager="chaos") as client:
        for name in names:
            print(f"--- {name}: {scenarios.SCENARIOS[name].what}", flush=True)
            t0 = time.monotonic()
            try:
                result = scenarios.run(name, cluster, client, log_dir, settings, keep=args.keep)
            except Exception as e:  # the scenario itself broke: say so, go on with the next
                traceback.print_exc()
                result = Result(name)
                result.findings.stuck.append(f"the scenario failed: {e!r}")
            print(line(result), flush=True)
            for kind, found in result.findings.as_dict().items():
                for f in found[:10]:
                    print(f"           {kind}: {f}")
            results.append(result.as_dict() | {"wall_seconds": round(time.monotonic() - t0)})
            _write(path, started, settings, results)  # after each: a long run keeps what it has
    print(f"results: {path.relative_to(REPO)}; logs: {log_dir.relative_to(REPO)}")
    return 0 if all(r["ok"] for r in results) else 1


def _write(
    path: Path, started: datetime, settings: scenarios.Settings, results: list[dict[str, Any]]
) -> None:
    path.write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "settings": dataclasses.asdict(settings),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average": os.getloadavg(),
                },
                "scenarios": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    sys.exit(main())
