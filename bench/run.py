"""`make bench`: every scenario, both sides, on the benchmark's own cluster.

python -m bench.run [--sizes 100,1000] [--slots 3] [--scenarios fanout,burst,footprint]
"""

import argparse
import asyncio
import json
import logging
import os
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.e2e.certs import free_port, make_certs

from bench.cluster import REPO, BenchCluster
from bench.kubeapi import Api
from bench.operator import OperatorUnderTest
from bench.report import table, targets_table
from bench.reports import reports
from bench.scenarios import Bench, burst, fanout, footprint, foreign
from bench.targets import judge
from bench.watchers import JobWatcher, RerunnableJobWatcher

__all__ = ["main"]

log = logging.getLogger("bench")
SCENARIOS = ("fanout", "burst", "footprint", "reports", "foreign")


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0] if __doc__ else "")
    p.add_argument(
        "--sizes", type=_sizes, default=[100, 1000, 5000], help="fan-out N (default 100,1000,5000)"
    )
    p.add_argument("--slots", type=int, default=3, help="consecutive slots measured (default 3)")
    p.add_argument(
        "--alone-from",
        type=int,
        default=5000,
        help="fan-outs of this N or more run without CronJobs beside them, like the floor "
        "(default 5000: its only target is against the floor)",
    )
    p.add_argument(
        "--scenarios",
        type=lambda s: [x for x in s.split(",") if x],
        default=list(SCENARIOS),
        help="comma-separated subset of " + ",".join(SCENARIOS),
    )
    p.add_argument("--report-runs", type=int, default=50, help="reports: running runs (50)")
    p.add_argument(
        "--report-seconds", type=float, default=20, help="reports: seconds of reporting (20)"
    )
    p.add_argument(
        "--report-rate",
        type=float,
        default=19,
        help="reports: reports a second per run (19; the endpoint takes 20)",
    )
    p.add_argument("--burst-size", type=int, default=1000, help="manual burst N (default 1000)")
    p.add_argument(
        "--burst-concurrency",
        type=int,
        default=16,
        help="concurrent requests of the floor client and of the annotating client "
        "(default 16, the operator's worker count)",
    )
    p.add_argument(
        "--footprint-sizes",
        type=_sizes,
        default=[100, 1000, 10000, 100000],
        help="idle objects (default 100,1000,10000,100000)",
    )
    p.add_argument(
        "--status-floor-max",
        type=int,
        default=10000,
        help="footprint: time the bare client's status writes up to this N (10000)",
    )
    p.add_argument("--idle-window", type=float, default=60, help="seconds of idle CPU sampling")
    p.add_argument(
        "--schedule-limit",
        type=float,
        default=600,
        help="footprint: give up waiting for 'all scheduled' after this many seconds (600)",
    )
    p.add_argument(
        "--foreign-jobs", type=int, default=20000, help="foreign: Jobs of others (20000)"
    )
    p.add_argument("--foreign-rjobs", type=int, default=1000, help="foreign: own idle jobs (1000)")
    p.add_argument(
        "--foreign-window",
        type=float,
        default=60,
        help="foreign: seconds from the operator's start its CPU is counted over (60)",
    )
    p.add_argument(
        "--raised-qps",
        default="1000/2000",
        help="controller-manager client QPS/burst for the fair fight (default 1000/2000; "
        "'none' skips that phase)",
    )
    p.add_argument("--concurrency", type=int, default=64, help="requests at once when creating")
    p.add_argument(
        "--no-suspend",
        dest="suspend_jobs",
        action="store_false",
        help="let the Jobs make (simulated) pods; default: suspend: true, no pods",
    )
    p.add_argument(
        "--arm-ahead-seconds",
        type=int,
        default=60,
        help="the operator's --arm-ahead-seconds (default 60: an every-minute job's next "
        "slot is armed in the pass after its last; 0: runs made at their slot)",
    )
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    p.add_argument("--keep-cluster", action="store_true", help="leave the bench cluster running")
    args = p.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def machine() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": list(os.getloadavg()),
    }


async def _phase(
    args: argparse.Namespace,
    cluster: BenchCluster,
    results: dict[str, Any],
    label: str,
    qps: float | None,
    burst_qps: int | None,
) -> None:
    log.info("cluster up (controller-manager QPS %s)", "default" if qps is None else qps)
    cluster.up(qps, burst_qps)
    operator = OperatorUnderTest(
        cluster.kubeconfig, cluster.state / "logs" / f"operator-{label}.log"
    )
    operator.extra_args = _arming(args)
    async with Api(
        cluster.kubeconfig, concurrency=max(args.concurrency, args.burst_concurrency)
    ) as api:
        jobs, rjobs = JobWatcher(api), RerunnableJobWatcher(api)
        await jobs.start()
        await rjobs.start()
        b = Bench(
            api,
            cluster,
            jobs,
            rjobs,
            operator,
            args.concurrency,
            args.suspend_jobs,
            floor_concurrency=args.burst_concurrency,
        )
        try:
            if "fanout" in args.scenarios:
                operator.start()
                for n in args.sizes:
                    log.info("fan-out N=%d, %d slots, QPS %s", n, args.slots, label)
                    beside = n < args.alone_from
                    results["fanout"].append(
                        await fanout(b, n, args.slots, label, cronjob_beside=beside)
                    )
                    log.info("  %s", results["fanout"][-1])
            if label == "default" and "burst" in args.scenarios:
                log.info("manual burst N=%d", args.burst_size)
                results["burst"].append(await burst(b, args.burst_size, args.burst_concurrency))
                log.info("  %s", results["burst"][-1])
            if label == "default" and "reports" in args.scenarios:
                results["reports"].append(await _reports(args, cluster, b, operator))
                log.info("  %s", results["reports"][-1])
            if label == "default" and "footprint" in args.scenarios:
                for n in args.footprint_sizes:
                    log.info("footprint N=%d", n)
                    results["footprint"].append(
                        await footprint(
                            b,
                            n,
                            args.idle_window,
                            args.schedule_limit,
                            status_floor_max=args.status_floor_max,
                        )
                    )
                    log.info("  %s", results["footprint"][-1])
            if label == "default" and "foreign" in args.scenarios:
                log.info("foreign: %d Jobs of others", args.foreign_jobs)
                results["foreign"].append(
                    await foreign(b, args.foreign_jobs, args.foreign_rjobs, args.foreign_window)
                )
                log.info("  %s", results["foreign"][-1])
        finally:
            operator.stop()
            await jobs.stop()
            await rjobs.stop()


async def _reports(
    args: argparse.Namespace, cluster: BenchCluster, b: Bench, operator: OperatorUnderTest
) -> dict[str, Any]:
    """The operator again, taking reports (a test CA), then the reports scenario."""
    operator.stop()
    folder = cluster.state / "report-tls"
    folder.mkdir(parents=True, exist_ok=True)
    make_certs(folder)
    port, metrics_port = free_port(), free_port()
    operator.extra_args = [
        *_arming(args),
        "--report-port",
        str(port),
        "--report-url",
        f"https://127.0.0.1:{port}",
        "--report-cert-dir",
        str(folder),
        "--metrics-port",
        str(metrics_port),
    ]
    operator.start()
    log.info(
        "reports: %d runs, %g a second each, %gs",
        args.report_runs,
        args.report_rate,
        args.report_seconds,
    )
    return await reports(
        b,
        args.report_runs,
        args.report_seconds,
        args.report_rate,
        f"http://127.0.0.1:{metrics_port}/metrics",
        (folder / "ca.crt").read_text(),
    )


def _arming(args: argparse.Namespace) -> list[str]:
    return ["--arm-ahead-seconds", str(args.arm_ahead_seconds)]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.time()
    results: dict[str, Any] = {
        "started": datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "suspend_jobs": args.suspend_jobs,
        "args": {k: str(v) for k, v in vars(args).items()},
        "fanout": [],
        "burst": [],
        "footprint": [],
        "reports": [],
        "foreign": [],
    }
    cluster = BenchCluster()
    try:
        await _phase(args, cluster, results, "default", None, None)
        if args.raised_qps != "none" and "fanout" in args.scenarios:
            qps, burst_ = args.raised_qps.split("/")
            await _phase(args, cluster, results, "raised", float(qps), int(burst_))
    except Exception as e:  # what was measured before is written all the same
        log.exception("the benchmark stopped")
        results["error"] = repr(e)
    finally:
        if not args.keep_cluster:
            cluster.down()
    results["duration_s"] = round(time.time() - started)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    args = parse_args(argv)
    results = asyncio.run(run(args))
    targets = judge(results)
    results["targets"] = [t.as_dict() for t in targets]
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"{stamp}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print(targets_table(targets))
    print(f"machine: {results['machine']}")
    print(f"took {results['duration_s']} s; results in {path}")
    if "error" in results:
        print(f"stopped early: {results['error']}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
