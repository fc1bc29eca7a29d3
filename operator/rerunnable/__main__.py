"""Command line entry point: `rerunnable` and `python -m rerunnable`.

Starts the operator against the current kubeconfig (KUBECONFIG, then
~/.kube/config, then the in-cluster service account), watching all namespaces
or the ones given.
"""

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rerunnable import __version__
from rerunnable.controller.leader import Election, default_identity
from rerunnable.controller.logs import configure as configure_logging

if TYPE_CHECKING:
    import kopf

    from rerunnable.controller.app import Operator
    from rerunnable.controller.health import HealthServer

__all__ = ["main"]


# --arm-ahead-seconds at most: an armed run waits no longer than an hour for its slot.
MAX_ARM_AHEAD = 3600


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rerunnable",
        description="Kubernetes operator for RerunnableJobs (rerunnable.dev/v1alpha1).",
        epilog="Example: rerunnable --namespace team-a --namespace team-b",
    )
    parser.add_argument("--version", action="version", version=f"rerunnable {__version__}")
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch this namespace (repeat for several; default: all namespaces)",
    )
    scope.add_argument(
        "-A", "--all-namespaces", action="store_true", help="watch all namespaces (the default)"
    )
    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="kubeconfig file (default: $KUBECONFIG, whose files are merged as kubectl "
        "merges them, then ~/.kube/config, then the Pod's service account)",
    )
    parser.add_argument("--context", help="kubeconfig context (default: its current-context)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at debug level")
    parser.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log line format"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=8080,
        metavar="PORT",
        help="serve Prometheus metrics on :PORT/metrics (0: off; default 8080)",
    )
    parser.add_argument(
        "--arm-ahead-seconds",
        type=int,
        default=0,
        metavar="SECONDS",
        help="make a scheduled run's Execution this long before its slot (Pending, reason "
        "Scheduled), so that only its Job is written at the slot: for many jobs due in the "
        f"same minute (0: off, the default; at most {MAX_ARM_AHEAD})",
    )
    _election_flags(parser)
    _webhook_flags(parser)
    _report_flags(parser)
    _health_flags(parser)
    args = parser.parse_args(argv)
    _check(parser, args)
    return args


def _election_flags(parser: argparse.ArgumentParser) -> None:
    election = parser.add_argument_group("leader election (one replica works, the others stand by)")
    election.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="elect a leader through a Lease (default: on)",
    )
    election.add_argument(
        "--leader-election-namespace",
        default=os.environ.get("POD_NAMESPACE", "default"),
        help="namespace of the Lease (default: $POD_NAMESPACE, else default)",
    )
    election.add_argument(
        "--leader-election-id", default="rerunnable-operator", help="name of the Lease"
    )
    election.add_argument("--lease-duration", type=int, default=15, metavar="SECONDS")
    election.add_argument("--renew-deadline", type=float, default=10.0, metavar="SECONDS")
    election.add_argument("--retry-period", type=float, default=2.0, metavar="SECONDS")


def _webhook_flags(parser: argparse.ArgumentParser) -> None:
    webhook = parser.add_argument_group("admission webhooks (configured by the Helm chart)")
    webhook.add_argument(
        "--webhook-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve the admission webhooks over HTTPS on PORT (default 0: off)",
    )
    webhook.add_argument(
        "--webhook-cert-dir",
        type=Path,
        metavar="DIR",
        help="directory holding the webhook's tls.crt and tls.key",
    )
    webhook.add_argument(
        "--webhook-addr", default="0.0.0.0", metavar="ADDR", help="address to listen on"
    )


def _report_flags(parser: argparse.ArgumentParser) -> None:
    reports = parser.add_argument_group(
        "reports from runs (spec.reporting): progress, steps, results, heartbeats"
    )
    reports.add_argument(
        "--report-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve the report endpoint over HTTPS on PORT (default 0: off)",
    )
    reports.add_argument(
        "--report-url",
        metavar="URL",
        help="the base URL workloads reach the endpoint at, e.g. "
        "https://rerunnable-reports.rerunnable-system.svc:8443",
    )
    reports.add_argument(
        "--report-cert-dir",
        type=Path,
        metavar="DIR",
        help="tls.crt, tls.key and ca.crt of the endpoint (default: --webhook-cert-dir)",
    )
    reports.add_argument(
        "--report-addr", default="0.0.0.0", metavar="ADDR", help="address to listen on"
    )


def _health_flags(parser: argparse.ArgumentParser) -> None:
    health = parser.add_argument_group(
        "health probes: /healthz (the process works), /readyz (its HTTPS servers answer)"
    )
    health.add_argument(
        "--health-port",
        type=int,
        default=0,
        metavar="PORT",
        help="serve /healthz and /readyz over HTTP on PORT (default 0: off)",
    )
    health.add_argument(
        "--health-addr", default="0.0.0.0", metavar="ADDR", help="address to listen on"
    )


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse what cannot work, before connecting to anything (parser.error exits 2)."""
    if not 0 <= args.arm_ahead_seconds <= MAX_ARM_AHEAD:
        parser.error(f"--arm-ahead-seconds {args.arm_ahead_seconds}: must be 0 to {MAX_ARM_AHEAD}")
    try:
        args.election = Election(
            namespace=args.leader_election_namespace,
            name=args.leader_election_id,
            lease_duration=args.lease_duration,
            renew_deadline=args.renew_deadline,
            retry_period=args.retry_period,
        )
    except ValueError as e:
        parser.error(f"--lease-duration, --renew-deadline, --retry-period: {e}")
    if args.webhook_port:
        cert_dir = args.webhook_cert_dir
        if cert_dir is None:
            parser.error("--webhook-port needs --webhook-cert-dir (with tls.crt and tls.key)")
        missing = [f for f in ("tls.crt", "tls.key") if not (cert_dir / f).is_file()]
        if missing:
            parser.error(f"--webhook-cert-dir {cert_dir}: no {' or '.join(missing)} there")
    if args.report_port:
        if not args.report_url:
            parser.error("--report-port needs --report-url (the base URL workloads reach)")
        cert_dir = args.report_cert_dir or args.webhook_cert_dir
        if cert_dir is None:
            parser.error("--report-port needs --report-cert-dir (with tls.crt, tls.key, ca.crt)")
        files = ("tls.crt", "tls.key", "ca.crt")
        missing = [f for f in files if not (cert_dir / f).is_file()]
        if missing:
            parser.error(f"--report-cert-dir {cert_dir}: no {' or '.join(missing)} there")
        args.report_cert_dir = cert_dir


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(verbose=args.verbose, json_format=args.log_format == "json")
    import kopf

    import rerunnable.handlers.watching
    from rerunnable.controller.app import Operator, Options
    from rerunnable.controller.health import HealthServer, listen
    from rerunnable.controller.metrics import Metrics
    from rerunnable.controller.serving import ServingOptions
    from rerunnable.controller.supervisor import EXIT_FAILED
    from rerunnable.kube import ConfigError, load

    try:
        cluster = load(args.kubeconfig, context=args.context)
    except ConfigError as e:
        print(f"rerunnable: {e}", file=sys.stderr)
        return 1
    metrics = Metrics()
    if args.metrics_port:
        try:
            metrics.serve(args.metrics_port)
        except OSError as e:
            print(
                f"rerunnable: cannot serve metrics on port {args.metrics_port}: {e.strerror}; "
                "choose another --metrics-port, or 0 to turn metrics off",
                file=sys.stderr,
            )
            return 1
    health_socket = None
    if args.health_port:
        try:
            health_socket = listen(args.health_addr, args.health_port)
        except OSError as e:
            print(
                f"rerunnable: cannot serve health probes on port {args.health_port}: "
                f"{e.strerror}; choose another --health-port, or 0 to turn them off",
                file=sys.stderr,
            )
            return 1
    election = args.election if args.leader_elect else None
    options = Options(
        namespaces=tuple(args.namespace),
        identity=(election and election.identity) or default_identity(),
        election=election,
        reports=ServingOptions(args.report_port, args.report_cert_dir, args.report_addr)
        if args.report_port
        else None,
        report_url=args.report_url,
        arm_ahead=timedelta(seconds=args.arm_ahead_seconds),
    )
    operator = Operator(options, cluster, metrics=metrics)
    memo = kopf.Memo()
    memo["operator"] = operator
    served: dict[str, ServingOptions] = {}
    if args.webhook_port:
        import rerunnable.handlers.webhooks  # noqa: F401  (registers the webhooks)

        memo["webhook"] = served["webhook server"] = ServingOptions(
            port=args.webhook_port, cert_dir=args.webhook_cert_dir, addr=args.webhook_addr
        )
    if options.reports is not None:
        served["report server"] = options.reports
    health = (
        HealthServer(health_socket, operator.supervisor, served)
        if health_socket is not None
        else None
    )
    asyncio.run(_operate(memo, operator, health=health))
    # kopf returns by itself only when one of its own tasks ended: a failure too.
    return 0 if operator.supervisor.is_stopping else EXIT_FAILED


async def _operate(
    memo: "kopf.Memo", operator: "Operator", *, health: "HealthServer | None"
) -> None:
    """kopf.run, with our own signal handlers: the supervisor must know a stop is no crash.

    The health server runs under the supervisor from the start, before kopf's tasks
    (/readyz then says which server is not up yet); `Operator.stop` stops it.
    """
    import kopf

    if health is not None:
        operator.supervisor.spawn(health.serve(), name="health-server")
    namespaces = list(operator.options.namespaces)
    stop_flag = asyncio.Event()
    existing = asyncio.all_tasks()
    tasks = await kopf.spawn_tasks(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=namespaces,
        memo=memo,
        stop_flag=stop_flag,
    )

    def stop(signum: signal.Signals) -> None:
        logging.getLogger("rerunnable").info("%s received: stopping", signum.name)
        operator.supervisor.stopping()
        stop_flag.set()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)  # replaces kopf's own
    with contextlib.suppress(asyncio.CancelledError):
        await kopf.run_tasks(tasks, ignored=existing)


if __name__ == "__main__":
    sys.exit(main())
