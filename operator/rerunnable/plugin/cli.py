"""`kubectl rerun`: argument parsing, and `main`, which maps every outcome to an exit code.

Exit codes: 0 success; 1 an error, or a run that failed, was interrupted or was
refused; 2 `run --wait` timed out (the run goes on). Usage errors exit 1 too
(argparse would say 2, which `run --wait` keeps for timeouts).
"""

import argparse
import secrets
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import NoReturn, TextIO

from rerunnable import __version__
from rerunnable.kube.transport import TIMEOUT
from rerunnable.plugin.cluster import connect
from rerunnable.plugin.commands import (
    Console,
    backfill_command,
    cancel_command,
    default_token,
    history_command,
    logs_command,
    next_command,
    resume_command,
    run_command,
    status_command,
    suspend_command,
)
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.output import OBJECT_FORMATS, TABLE_FORMATS
from rerunnable.plugin.parsing import parse_duration, parse_request_timeout
from rerunnable.plugin.pod_logs import LogOptions

__all__ = ["build_parser", "main", "parse_args"]

PROG = "kubectl rerun"
DEFAULT_TIMEOUT = "1h"
MAX_COUNT = 1000
EXIT_INTERRUPTED = 130
REQUEST_LOG_LEVEL = 6  # -v: kubectl logs each request from this level on
NEXT_FORMATS = ("json", "yaml", "wide")  # not objects: no -o name

_TOP_EPILOG = """\
examples:
  kubectl rerun run nightly-backup --wait --timeout 30m
  kubectl rerun run export-day -p DAY=2026-11-30 --wait
  kubectl rerun run nightly-backup --wait --logs
  kubectl rerun cancel nightly-backup-m1a2b3c4d
  kubectl rerun history nightly-backup -n team-a
  kubectl rerun status nightly-backup-m1a2b3c4d
  kubectl rerun logs nightly-backup-m1a2b3c4d -f
  kubectl rerun next nightly-backup -c 10
  kubectl rerun suspend nightly-backup --until 2h
  kubectl rerun resume nightly-backup
  kubectl rerun backfill nightly-backup --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z

Put the global flags after "kubectl rerun" (kubectl refuses flags placed
before a plugin's name): kubectl rerun history NAME -n team-a --context prod.
They mean what kubectl's do: --cluster and --user replace the context's
kubeconfig cluster or user; --as (and --as-group, repeatable) impersonate in
every request (needs the RBAC verb impersonate); --request-timeout limits each
request ("0": no limit; default 10s), not --wait, which --timeout limits.
"kubectl rerun COMMAND --help" shows each command's flags and examples.

-o/--output: every command but logs takes it. run, cancel, status, suspend,
resume and backfill print the object they act on (-o name|json|yaml, as
kubectl annotate -o does; the lines for people go to stderr then); history
prints the Executions (name|json|yaml|wide); next prints the times
(json|yaml|wide). logs prints the run's pod logs, as kubectl logs does.

exit codes: 0 ok; 1 error, or the run failed, was interrupted or was refused;
2 --wait (or run -o json|yaml) timed out (the run goes on).
"""

_RUN_EPILOG = f"""\
Sets the annotation rerunnable.dev/run=TOKEN on the RerunnableJob. The operator
turns each new token into exactly one Execution, named NAME-m<first 8 hex of
sha256(TOKEN)>, subject to the job's concurrencyPolicy. The default token is
kubectl-rerun-<UTC time>-<random>; pass --token to retry idempotently (the same
token again never starts a second run).

With --wait, prints a line each time the run's phase or progress changes and
exits 0 if it succeeds, 1 if it fails, is interrupted or is refused (e.g.
concurrencyPolicy Forbid while another run is active, or an invalid spec),
2 when --timeout (default {DEFAULT_TIMEOUT}) passes first.

With --wait --logs, the logs of the run's pods go to stdout as they come (as
kubectl logs -f prints them; with --prefix each line starts with
[pod/POD/CONTAINER]), from every container as it starts and from each retry;
the progress lines go to stderr then. Reading logs needs the RBAC verbs list
and watch on pods and get on pods/log.

With -o name, prints execution.rerunnable.dev/NAME-m... (as kubectl -o name)
on stdout as soon as the run is requested; with -o json|yaml, the Execution
once the operator has created it (within --timeout; exit 1 if the run is
refused, 2 on a timeout). The other lines go to stderr then.

With -p NAME=VALUE (repeatable), the run gets the job's declared parameter
NAME (spec.parameters) as the environment variable NAME of its containers;
parameters not sent take their defaults. The token, the values and
rerunnable.dev/parameters-for=TOKEN go in one PATCH, so values sent for
another token never apply to this run. Values the declarations refuse are
refused here first (exit 1, nothing changed). Setting parameters needs the
RBAC verb runwithparameters on rerunnablejobs. Values are readable by anyone
who can read the job: not for secrets.

examples:
  kubectl rerun run nightly-backup
  kubectl rerun run export-day -p DAY=2026-11-30 -p FORMAT=csv --wait
  kubectl rerun run nightly-backup --wait
  kubectl rerun run nightly-backup --wait --logs > backup.log   # progress on stderr
  kubectl rerun run nightly-backup --wait --timeout 10m -n team-a
  kubectl rerun run nightly-backup --token "$CI_PIPELINE_ID" --wait   # safe to retry
  name=$(kubectl rerun run nightly-backup -o name)   # execution.rerunnable.dev/nightly-backup-m...
  kubectl rerun run nightly-backup -o json | jq -r .metadata.name
"""

_BACKFILL_EPILOG = f"""\
Sets rerunnable.dev/backfill=FROM/TO (and rerunnable.dev/backfill-parallelism)
on the RerunnableJob. Every slot of every schedule in [FROM, TO), in the job's
time zone, gets one Execution (trigger Backfill) named as the slot's scheduled
run, so a slot that already ran, live or in an earlier backfill, is skipped.
Oldest first, at most --parallel at once, within the concurrencyPolicy;
suspend and the stop rules do not limit a backfill. At most 1000 slots.
The same range again changes nothing; a new range replaces the old one.

With --wait, prints the progress as it changes and exits 0 once every run has
ended and none failed, 1 if some failed or the backfill is refused, 2 when
--timeout (default {DEFAULT_TIMEOUT}) passes first. -o name|json|yaml prints the
RerunnableJob as the request left it.

examples:
  kubectl rerun backfill nightly-report --from 2026-11-01T00:00:00Z --to 2026-11-08T00:00:00Z
  kubectl rerun backfill nightly-report --from 2026-11-01T00:00:00+01:00 \\
      --to 2026-11-02T00:00:00+01:00 --parallel 3 --wait
"""

_CANCEL_EPILOG = f"""\
Sets the annotation rerunnable.dev/cancel=true on the Execution. The operator
ends a Pending (queued included) or Running run Interrupted (reason Cancelled), deletes
its Job (its pods are terminated) and keeps the Execution as the record, with
who cancelled it in status.cancelledBy. A second cancel while the first is
being carried out changes nothing (exit 0). A run that has already finished
is not changed: exit 1, with how it finished.

With --wait, exits 0 once the run has ended Cancelled, 1 if it finished
otherwise first, 2 when --timeout (default {DEFAULT_TIMEOUT}) passes first.
-o name|json|yaml prints the Execution as the cancel left it.

examples:
  kubectl rerun cancel nightly-backup-m1a2b3c4d
  kubectl rerun cancel nightly-backup-m1a2b3c4d --wait --timeout 2m
  kubectl rerun cancel nightly-backup-m1a2b3c4d -o name
  kubectl rerun history nightly-backup      # the names of its runs
"""

_HISTORY_EPILOG = """\
Lists the Executions labelled rerunnable.dev/rerunnable-job=NAME, newest
first. SCHEDULED and STARTED are ages (as kubectl's AGE), DURATION runs to the
end of the run (or to now while it runs), PROGRESS is succeeded/total pods.
Finished runs beyond the job's history limits are pruned by the operator.
-o json|yaml prints the Execution objects as a kubectl List, -o name a line
execution.rerunnable.dev/NAME each; -o wide adds JOB (the run's Job), TOKEN
(of a manual run), COMPLETED (an age) and MESSAGE.

examples:
  kubectl rerun history nightly-backup
  kubectl rerun history nightly-backup -o wide
  kubectl rerun history nightly-backup -o json | jq -r '.items[0].status.phase'
"""

_STATUS_EPILOG = """\
Progress, the message and the steps are what the run's workload reported
(spec.reporting); pods are those of the run's Job. -o json|yaml prints the
Execution object, -o name execution.rerunnable.dev/NAME.

examples:
  kubectl rerun status nightly-backup-m1a2b3c4d
  kubectl rerun history nightly-backup      # the names of its runs
"""

_LOGS_EPILOG = """\
Prints the logs of the run's pods (those of its Job, labelled
rerunnable.dev/execution=EXECUTION): pods oldest first, in each pod its init
containers and then its containers, every container that has started. Pods
the Job made again after a failure are included; a retry of the run
(spec.retry) is an Execution of its own (kubectl rerun history lists them).
Pods go with the run's Job, so a run whose Job was deleted has no logs.

With -f, follows the run: each line as it comes, from every container as it
starts, until the run has ended (its last line goes to stderr); exit 0.
Needs the RBAC verbs list and watch on pods and get on pods/log.

examples:
  kubectl rerun logs nightly-backup-m1a2b3c4d
  kubectl rerun logs nightly-backup-m1a2b3c4d -f --prefix
  kubectl rerun logs nightly-backup-m1a2b3c4d -c main --tail 20 --timestamps
"""

_NEXT_EPILOG = """\
Computes the upcoming scheduled runs locally from the spec, as the operator
does (all schedules merged, Jenkins H resolved for this object, DST rules of
the job's timeZone), shown in the job's time zone and in UTC. A suspended job
has none; with suspendUntil in the future the list starts at that time. Manual
runs are not scheduled and not listed. -o wide adds EXECUTION, the name the
run of each time will have, and ARMED (true: that Execution exists already,
armed ahead of its time); -o json|yaml prints the same as data.

Note: -n is the namespace, as everywhere in kubectl. The number of runs is
-c/--count: "next NAME -n 5" means namespace "5".

examples:
  kubectl rerun next nightly-backup
  kubectl rerun next nightly-backup -c 10 -n team-a
  kubectl rerun next nightly-backup -o json
  kubectl rerun next nightly-backup -o wide
"""

_SUSPEND_EPILOG = """\
Without --until, sets spec.suspend: true: no scheduled runs until resumed.
With --until, sets spec.suspendUntil (and spec.suspend: false): scheduled runs
resume by themselves at that time. TIME is RFC 3339 (2026-11-23T08:00:00Z,
2026-11-23T09:00:00+01:00) or a duration from now (30m, 2h, 1d, 1h30m).
Slots that fall in a suspension are not run afterwards. Manual runs are not
suspended. -o name|json|yaml prints the RerunnableJob as left.

examples:
  kubectl rerun suspend nightly-backup
  kubectl rerun suspend nightly-backup --until 2h
  kubectl rerun suspend nightly-backup --until 2026-12-27T06:00:00+01:00
"""

_RESUME_EPILOG = """\
Sets spec.suspend: false and removes spec.suspendUntil. Slots that fell in
the suspension are not run. -o name|json|yaml prints the RerunnableJob as left.

examples:
  kubectl rerun resume nightly-backup
  kubectl rerun resume nightly-backup -o name
"""


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 1: exit code 2 means a timeout."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"error: {message}\n")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_COUNT}, got {value}")
    return value


def _not_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text, what="--timeout")
    except PluginError as e:
        raise argparse.ArgumentTypeError(e.message.removeprefix("--timeout: ")) from None


def _parameter(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _request_timeout(text: str) -> float | None:
    try:
        return parse_request_timeout(text)
    except PluginError as e:
        raise argparse.ArgumentTypeError(e.message.removeprefix("--request-timeout: ")) from None


def _global_flags(*, before: bool = False) -> _Parser:
    """-n/--namespace, --kubeconfig, --context, --cluster, --user, --as, --as-group,
    --request-timeout: accepted before and after the command (`before`: the parser before it).

    Defaults are SUPPRESS so that a subcommand's absent flag does not hide a given one; the
    one flag that adds up, --as-group, is kept apart before the command (`parse_args` joins
    both lists: a subcommand's value would replace the one given before).
    """
    flags = _Parser(add_help=False)
    group = flags.add_argument_group("global flags")
    group.add_argument(
        "-n",
        "--namespace",
        default=argparse.SUPPRESS,
        help="namespace (default: the kubeconfig context's, else default)",
    )
    group.add_argument(
        "--kubeconfig",
        default=argparse.SUPPRESS,
        metavar="PATH",
        help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)",
    )
    group.add_argument(
        "--context",
        default=argparse.SUPPRESS,
        help="kubeconfig context (default: the current context)",
    )
    group.add_argument(
        "--cluster",
        default=argparse.SUPPRESS,
        help="kubeconfig cluster to use instead of the context's",
    )
    group.add_argument(
        "--user",
        default=argparse.SUPPRESS,
        help="kubeconfig user to use instead of the context's",
    )
    group.add_argument(
        "--as",
        dest="as_user",
        default=argparse.SUPPRESS,
        metavar="USER",
        help="impersonate USER (a user or system:serviceaccount:NS:NAME) in every request",
    )
    group.add_argument(
        "--as-group",
        dest="as_groups_before" if before else "as_groups",
        action="append",
        default=argparse.SUPPRESS,
        metavar="GROUP",
        help="with --as: impersonate GROUP too (repeatable)",
    )
    group.add_argument(
        "--request-timeout",
        type=_request_timeout,
        default=argparse.SUPPRESS,
        metavar="DURATION",
        help="how long to wait for the answer to each request: seconds (30) or a duration"
        " (30s, 1m); 0: no limit (default 10s; --wait's limit is --timeout)",
    )
    group.add_argument(
        "-v",
        "--v",
        dest="verbosity",
        type=_not_negative,
        default=argparse.SUPPRESS,
        metavar="LEVEL",
        help="log level, as kubectl's: 6 or more prints each request to stderr (method,"
        " path, status; WATCH for the watches of --wait)",
    )
    return flags


_OUTPUT_HELP = {
    "name": "name (kind.group/name, as kubectl -o name)",
    "json": "json",
    "yaml": "yaml",
    "wide": "wide (the table with more columns)",
}


def _output_flag(parser: argparse.ArgumentParser, formats: Sequence[str], what: str) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=formats,
        default=None,
        help=f"print {what} as {', '.join(_OUTPUT_HELP[f] for f in formats)}",
    )


def _prefix_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prefix",
        action="store_true",
        help="each log line after [pod/POD/CONTAINER] (as kubectl logs --prefix)",
    )


def build_parser() -> argparse.ArgumentParser:
    flags = _global_flags()
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog=PROG,
        description=(
            "Run, cancel, inspect and pause Rerunnable jobs (rerunnablejobs.rerunnable.dev)."
        ),
        epilog=_TOP_EPILOG,
        formatter_class=formatter,
        parents=[_global_flags(before=True)],
    )
    parser.add_argument("--version", action="version", version=f"kubectl-rerun {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str, summary: str, epilog: str, *, of_a_run: bool = False
    ) -> argparse.ArgumentParser:
        """A command on a RerunnableJob (NAME), or `of_a_run` on an Execution (EXECUTION)."""
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary[:1].upper() + summary[1:] + ".",
            epilog=epilog,
            formatter_class=formatter,
            parents=[flags],
        )
        if of_a_run:
            sub.add_argument("name", metavar="EXECUTION", help="name of the Execution")
        else:
            sub.add_argument("name", metavar="NAME", help="name of the RerunnableJob")
        return sub

    def wait_flags(sub: argparse.ArgumentParser, wait_help: str, timeout_also: str = "") -> None:
        sub.add_argument("--wait", action="store_true", help=wait_help)
        sub.add_argument(
            "--timeout",
            type=_duration,
            default=None,
            metavar="DURATION",
            help=f"with --wait{timeout_also}: give up after this long, exit 2 (default"
            f" {DEFAULT_TIMEOUT}; e.g. 30s, 10m, 1h)",
        )

    run = command("run", "start a manual run of a RerunnableJob now", _RUN_EPILOG)
    run.add_argument(
        "--token",
        help="the run's token (default: kubectl-rerun-<UTC time>-<random>); the same token"
        " never starts a second run",
    )
    wait_flags(
        run, "follow the run until it ends; exit 0, 1 or 2", " or -o json|yaml (its creation)"
    )
    _output_flag(run, OBJECT_FORMATS, "the run's Execution")
    run.add_argument(
        "-p",
        "--parameter",
        type=_parameter,
        action="append",
        default=[],
        dest="parameters",
        metavar="NAME=VALUE",
        help="a parameter of this run (repeatable); the others take their defaults",
    )
    run.add_argument(
        "--logs",
        action="store_true",
        help="with --wait: print the logs of the run's pods to stdout as they come (the"
        " progress goes to stderr)",
    )
    _prefix_flag(run)

    cancel = command(
        "cancel",
        "cancel a run: end it Interrupted (Cancelled) and delete its Job",
        _CANCEL_EPILOG,
        of_a_run=True,
    )
    wait_flags(cancel, "wait until the run has ended; exit 0, 1 or 2")
    _output_flag(cancel, OBJECT_FORMATS, "the Execution as cancelled")

    history = command("history", "list the Executions of a RerunnableJob", _HISTORY_EPILOG)
    _output_flag(history, TABLE_FORMATS, "the Executions")

    status = command(
        "status",
        "show one run: its phase, progress, steps, result and pods",
        _STATUS_EPILOG,
        of_a_run=True,
    )
    _output_flag(status, OBJECT_FORMATS, "the Execution")

    logs = command(
        "logs", "print the logs of a run's pods (-f: follow them)", _LOGS_EPILOG, of_a_run=True
    )
    logs.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="follow the logs until the run has ended",
    )
    logs.add_argument(
        "-c", "--container", metavar="NAME", help="only this container's log (default: all)"
    )
    logs.add_argument(
        "--tail",
        type=_not_negative,
        default=None,
        metavar="N",
        help="only the last N lines of each container's log (default: all)",
    )
    logs.add_argument(
        "--timestamps", action="store_true", help="each line with its time (RFC 3339)"
    )
    _prefix_flag(logs)

    upcoming = command("next", "list the upcoming scheduled runs of a RerunnableJob", _NEXT_EPILOG)
    upcoming.add_argument(
        "-c", "--count", type=_count, default=5, help="how many runs to list (default 5)"
    )
    _output_flag(upcoming, NEXT_FORMATS, "the upcoming runs")

    suspend = command("suspend", "stop the scheduled runs of a RerunnableJob", _SUSPEND_EPILOG)
    suspend.add_argument(
        "--until",
        metavar="TIME",
        help="resume by itself at TIME: RFC 3339, or a duration from now (30m, 2h, 1d)",
    )
    _output_flag(suspend, OBJECT_FORMATS, "the RerunnableJob as suspended")

    resume = command("resume", "resume the scheduled runs of a RerunnableJob", _RESUME_EPILOG)
    _output_flag(resume, OBJECT_FORMATS, "the RerunnableJob as resumed")

    fill = command("backfill", "run the slots of a past time range", _BACKFILL_EPILOG)
    fill.add_argument("--from", dest="start", required=True, metavar="TIME",
                      help="the range's start, RFC 3339, inclusive")  # fmt: skip
    fill.add_argument("--to", dest="end", required=True, metavar="TIME",
                      help="the range's end, RFC 3339, exclusive, not in the future")  # fmt: skip
    fill.add_argument("--parallel", type=_count, default=1, metavar="N",
                      help="backfill runs at once (default 1; with concurrencyPolicy other than"
                      " Allow, always 1)")  # fmt: skip
    wait_flags(fill, "follow the backfill until every run has ended; exit 0, 1 or 2")
    _output_flag(fill, OBJECT_FORMATS, "the RerunnableJob as the request left it")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        parser.exit(1)
    groups = [*getattr(args, "as_groups_before", []), *getattr(args, "as_groups", [])]
    if hasattr(args, "as_groups_before"):
        del args.as_groups_before
    if groups:
        args.as_groups = groups
        if not getattr(args, "as_user", ""):
            parser.error("--as-group: needs --as (the user to impersonate)")
    if hasattr(args, "as_user") and not args.as_user:
        parser.error("--as must not be empty")
    if args.command in ("run", "cancel", "backfill") and args.timeout is not None and not args.wait:
        if args.command != "run":
            parser.error("--timeout needs --wait")
        if args.output not in ("json", "yaml"):
            parser.error("--timeout needs --wait or -o json|yaml")
    if args.command == "run":
        names = [name for name, _ in args.parameters]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            parser.error(f"-p {', '.join(twice)}: given more than once")
        if args.token is not None and not args.token.strip():
            parser.error("--token must not be empty")
        if args.logs and not args.wait:
            parser.error("--logs needs --wait")
        if args.logs and args.output is not None:
            parser.error(f"--logs: the logs go to stdout, which -o {args.output} cannot share")
        if args.prefix and not args.logs:
            parser.error("--prefix needs --logs")
    return args


def dispatch(args: argparse.Namespace, console: Console) -> int:
    with connect(
        kubeconfig=getattr(args, "kubeconfig", None),
        context=getattr(args, "context", None),
        namespace=getattr(args, "namespace", None),
        cluster=getattr(args, "cluster", None),
        user=getattr(args, "user", None),
        impersonate=getattr(args, "as_user", None),
        impersonate_groups=getattr(args, "as_groups", ()),
        request_timeout=getattr(args, "request_timeout", TIMEOUT),
        log=console.err if getattr(args, "verbosity", 0) >= REQUEST_LOG_LEVEL else None,
    ) as cluster:
        if args.command == "run":
            token = args.token or default_token(console.now(), secrets.token_hex(3))
            timeout = args.timeout or parse_duration(DEFAULT_TIMEOUT)
            return run_command(
                cluster,
                args.name,
                token=token,
                wait=args.wait,
                timeout=timeout,
                console=console,
                sent=dict(args.parameters),
                output=args.output,
                logs=LogOptions(prefix=args.prefix) if args.logs else None,
            )
        if args.command == "cancel":
            timeout = args.timeout or parse_duration(DEFAULT_TIMEOUT)
            return cancel_command(
                cluster,
                args.name,
                wait=args.wait,
                timeout=timeout,
                console=console,
                output=args.output,
            )
        if args.command == "history":
            return history_command(cluster, args.name, output=args.output, console=console)
        if args.command == "status":
            return status_command(cluster, args.name, output=args.output, console=console)
        if args.command == "logs":
            options = LogOptions(
                container=args.container,
                tail=args.tail,
                timestamps=args.timestamps,
                prefix=args.prefix,
            )
            return logs_command(
                cluster, args.name, follow=args.follow, options=options, console=console
            )
        if args.command == "next":
            return next_command(
                cluster, args.name, count=args.count, output=args.output, console=console
            )
        if args.command == "suspend":
            return suspend_command(
                cluster, args.name, until=args.until, console=console, output=args.output
            )
        if args.command == "resume":
            return resume_command(cluster, args.name, console=console, output=args.output)
        if args.command == "backfill":
            return backfill_command(
                cluster,
                args.name,
                start=args.start,
                end=args.end,
                parallelism=args.parallel,
                wait=args.wait,
                timeout=args.timeout or parse_duration(DEFAULT_TIMEOUT),
                console=console,
                output=args.output,
            )
    raise AssertionError(f"unknown command {args.command!r}")  # pragma: no cover


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """The `kubectl-rerun` console script: returns the exit code."""
    console = Console(out=out or sys.stdout, err=err or sys.stderr)
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return dispatch(args, console)
    except PluginError as e:
        console.warn(f"error: {e.message}")
        return e.exit_code
    except KeyboardInterrupt:
        console.warn("interrupted (a run that was started goes on)")
        return EXIT_INTERRUPTED
