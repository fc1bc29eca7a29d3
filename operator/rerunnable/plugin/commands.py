"""The commands: each reads and writes through a `Cluster` and prints to `Console`.

Pure decisions live in the neighbouring modules (follow, history, upcoming,
parsing, output); this module is the imperative shell around them.
"""

import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TextIO

from rerunnable.api.names import ANNOTATION_RESUME, ANNOTATION_RUN
from rerunnable.api.reasons import ConditionType, RunReason, SuspendedReason
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionStatus,
    ParameterDeclaration,
    RerunnableJobStatus,
    parse_time,
    rfc3339,
)
from rerunnable.core import parameters
from rerunnable.core.naming import manual_execution_name
from rerunnable.kube.resources import EXECUTIONS
from rerunnable.plugin.backfilling import backfill_annotations, check_backfill, look
from rerunnable.plugin.cancelling import (
    CANCEL_PATCH,
    cancel_verdict,
    ended_line,
    retry_called_off,
    retry_waits,
)
from rerunnable.plugin.cluster import Cluster, TransientError
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.follow import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    Snapshot,
    assess,
    exit_code_for_phase,
    final_line,
    outcome_from_events,
    progress_line,
    refusal,
    result_lines,
    retry_line,
    step_line,
    token_handled,
)
from rerunnable.plugin.history import history_table, newest_first
from rerunnable.plugin.output import (
    NONE,
    dump,
    formatted,
    read_status,
    resource_name,
    short_duration,
)
from rerunnable.plugin.parsing import parse_until
from rerunnable.plugin.pod_logs import (
    LogOptions,
    Source,
    check_container,
    no_log,
    print_line,
    readable,
)
from rerunnable.plugin.status import status_text
from rerunnable.plugin.upcoming import upcoming_json, upcoming_runs, upcoming_text

__all__ = [
    "POLL_INTERVAL",
    "Console",
    "cancel_command",
    "default_token",
    "history_command",
    "logs_command",
    "next_command",
    "resume_command",
    "run_command",
    "status_command",
    "suspend_command",
]

# --wait follows WATCHes (`Cluster.wait_for_change`); a Cluster that cannot tell changes (the
# test doubles) is looked at again after this step.
POLL_INTERVAL = 0.5
EVENT_GRACE = 5.0  # seconds to wait for the operator's event about a run pruned at once
FOLLOW_LOOK = 60.0  # logs -f has no deadline: it looks at the run at least this often


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Console:
    """Where commands print, and their clocks (replaceable in tests)."""

    out: TextIO
    err: TextIO
    now: Callable[[], datetime] = _utc_now
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    local_zone: tzinfo | None = None  # of the times in progress lines; None: the machine's

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def warn(self, text: str) -> None:
        print(text, file=self.err, flush=True)

    def clock(self) -> datetime:
        return self.now().astimezone(self.local_zone)


def for_people(console: Console, output: str | None) -> Console:
    """With -o name|json|yaml, stdout holds only the objects: the lines for people go to
    stderr."""
    return replace(console, out=console.err) if output in ("name", "json", "yaml") else console


def execution_resource_name(name: str) -> str:
    """`execution.rerunnable.dev/NAME`, as -o name prints an Execution."""
    kind = {"apiVersion": EXECUTIONS.api_version, "kind": EXECUTIONS.kind}
    return resource_name({**kind, "metadata": {"name": name}})


def default_token(now: datetime, random_hex: str) -> str:
    """`kubectl-rerun-20261122T080304Z-a1b2c3`: sortable, and unique enough per invocation."""
    return f"kubectl-rerun-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{random_hex}"


# -- run --------------------------------------------------------------------------------------


def run_command(
    cluster: Cluster,
    name: str,
    *,
    token: str,
    wait: bool,
    timeout: timedelta,
    console: Console,
    sent: Mapping[str, str] | None = None,
    output: str | None = None,
    logs: LogOptions | None = None,
) -> int:
    """Request the run of `token`, with the parameters `sent` (if any) in the same PATCH.

    With `output` (-o name|json|yaml) the run's Execution is printed once requested: its
    name at once; json|yaml once the operator has created it (within `timeout`). With
    `logs` (and `wait`), the run's pod logs go to stdout as they come, the lines for people
    to stderr."""
    shown, console = console, for_people(console, output)
    if logs is not None:
        console = replace(console, out=console.err)
    rjob = cluster.get_rjob(name)
    execution_name = manual_execution_name(name, token)
    existing = cluster.find_execution(execution_name)
    if existing is not None:
        phase = Snapshot.of(existing).phase
        console.say(
            f"execution.rerunnable.dev/{execution_name} exists already ({phase}):"
            f" run {token!r} was requested before"
        )
    else:
        if token_handled(rjob, token):
            return _handled_before(cluster, rjob, token, execution_name, wait, console)
        annotations: dict[str, str | None] = {ANNOTATION_RUN: token}
        if sent:
            _check_parameters(rjob, sent)
            present = (rjob.get("metadata") or {}).get("annotations") or {}
            annotations.update(parameters.parameter_annotations(token, sent, present))
        rjob = cluster.patch_rjob(name, {"metadata": {"annotations": annotations}})
        with_values = f", parameters {_listed(sent)}" if sent else ""
        console.say(
            f"execution.rerunnable.dev/{execution_name} requested"
            f" (rerunnablejob/{name}, token {token}{with_values})"
        )
    if output == "name":
        shown.out.write(execution_resource_name(execution_name) + "\n")
    elif output is not None:
        created = existing or _created(cluster, name, token, execution_name, timeout, console)
        if created is None:
            return _timed_out(execution_name, timeout, _Followed(seen=False), console)
        shown.out.write(formatted(created, output))
    if not wait:
        held = refusal(rjob, token) if existing is None else None
        if held is not None:
            console.warn(f"note: {held}")
        return EXIT_OK
    followed_logs = None if logs is None else _FollowedLogs(cluster, logs, shown)
    return _follow(
        cluster,
        name,
        token,
        execution_name,
        timeout,
        console,
        seen=existing is not None,
        logs=followed_logs,
    )


def _created(
    cluster: Cluster,
    name: str,
    token: str,
    execution_name: str,
    timeout: timedelta,
    console: Console,
) -> Mapping[str, Any] | None:
    """The Execution of `token` once the operator has created it; None if `timeout` passes
    first. PluginError if the run is refused, or gone already."""
    deadline = console.monotonic() + timeout.total_seconds()
    while True:
        try:
            rjob, execution = cluster.look(name, execution_name)
        except TransientError:
            pass
        else:
            if execution is not None:
                return execution
            verdict = assess(
                token=token, execution_name=execution_name, rjob=rjob, execution=None, seen=False
            )
            if verdict.state in ("refused", "vanished"):
                raise PluginError(verdict.message)
        remaining = deadline - console.monotonic()
        if remaining <= 0:
            return None
        _wait_for_change(cluster, remaining, console)


def _wait_for_change(cluster: Cluster, remaining: float, console: Console) -> None:
    """Until what the command reads may have changed (a WATCH's event), `remaining` at most."""
    if not cluster.wait_for_change(remaining):
        console.sleep(min(POLL_INTERVAL, remaining))


def _current_execution(cluster: Cluster, name: str) -> Mapping[str, Any]:
    found = cluster.current_execution(name)
    if found is None:
        raise PluginError(f'execution "{name}" not found in namespace "{cluster.namespace}"')
    return found


def _listed(values: Mapping[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def _check_parameters(rjob: Mapping[str, Any], sent: Mapping[str, str]) -> None:
    """Refuse, before anything is written, values the job's declarations do not allow.

    The operator and the admission layer check the same; this spares a request that
    would be refused. Declarations this plugin cannot read are left to them.
    """
    name = rjob["metadata"]["name"]
    try:
        declared = [
            ParameterDeclaration.model_validate(p)
            for p in (rjob.get("spec") or {}).get("parameters") or []
        ]
    except ValueError:
        return
    try:
        parameters.resolve(declared, sent)
    except parameters.ParameterError as e:
        raise PluginError(
            f"rerunnablejob/{name}: invalid parameters: {e.message}; nothing changed"
        ) from None


def _handled_before(
    cluster: Cluster,
    rjob: Mapping[str, Any],
    token: str,
    execution_name: str,
    wait: bool,
    console: Console,
) -> int:
    """The token was used before and its Execution is gone: say what became of the run."""
    refused = refusal(rjob, token)
    if refused is not None:
        raise PluginError(refused)
    name = rjob["metadata"]["name"]
    phase = outcome_from_events(cluster.events_about_rjob(name), execution_name)
    if phase is None:
        raise PluginError(
            f"run {token!r} was handled before, and its Execution {execution_name} no longer"
            " exists (skipped, deleted or pruned); use a new token to run again"
        )
    console.say(
        f"Execution {execution_name} {phase}: run {token!r} was requested before"
        " (from the operator's event; the Execution has been pruned since)"
    )
    return exit_code_for_phase(phase) if wait else EXIT_OK


def _outcome_from_events(
    cluster: Cluster, name: str, execution_name: str, console: Console
) -> str | None:
    """The final phase of a pruned run from the operator's event, which it posts just after
    the prune: looked for during EVENT_GRACE."""
    deadline = console.monotonic() + EVENT_GRACE
    while True:
        phase = outcome_from_events(cluster.events_about_rjob(name), execution_name)
        remaining = deadline - console.monotonic()
        if phase is not None or remaining <= 0:
            return phase
        _wait_for_change(cluster, remaining, console)


class _FollowedLogs:
    """The pod logs of the run `_follow` follows (run --wait --logs), attempt after attempt:
    each line to `console.out`, trouble reading them to `console.err`."""

    def __init__(self, cluster: Cluster, options: LogOptions, console: Console) -> None:
        self._cluster = cluster
        self.options = options
        self._console = console

    def follow(self, execution: str) -> None:
        self._cluster.follow_logs(execution, self.options, self.line, self.trouble)

    def end(self, execution: str) -> None:
        self._cluster.end_logs(execution)

    def line(self, source: Source, line: bytes) -> None:
        self._console.say(print_line(source, line, self.options))

    def trouble(self, text: str) -> None:
        self._console.warn(f"warning: {text}")


@dataclass
class _Followed:
    """What `_follow` has learnt so far about one run."""

    seen: bool  # the Execution was there at some look
    execution_name: str = ""  # the attempt followed now: the run's first, then its retries
    attempts: int = 1  # attempts seen of this run
    previous: str | None = None  # the attempt before, while the next one waits to be made
    last: Snapshot | None = None
    reported: object = None
    said_waiting: bool = False
    token_handled: bool = False
    trouble: str | None = None  # the last transient API error


def _follow(
    cluster: Cluster,
    name: str,
    token: str,
    execution_name: str,
    timeout: timedelta,
    console: Console,
    *,
    seen: bool,
    logs: _FollowedLogs | None = None,
) -> int:
    """Print a line per change of phase or progress until the run ends, is refused, or times out.

    Transient API errors (connection lost, 429, 5xx) are retried until the deadline. With
    `logs`, the pod logs of each attempt are followed too.
    """
    deadline = console.monotonic() + timeout.total_seconds()
    followed = _Followed(seen=seen, execution_name=execution_name)
    if logs is not None:
        logs.follow(execution_name)
    while True:
        try:
            rjob, execution = cluster.look(name, followed.execution_name)
            done = _take_a_look(cluster, name, token, rjob, execution, followed, console, logs)
        except TransientError as e:
            followed.trouble = str(e)
        else:
            followed.trouble = None
            if done is not None:
                return done
        remaining = deadline - console.monotonic()
        if remaining <= 0:
            return _timed_out(followed.execution_name, timeout, followed, console)
        _wait_for_change(cluster, remaining, console)


def _take_a_look(
    cluster: Cluster,
    name: str,
    token: str,
    rjob: Mapping[str, Any] | None,
    execution: Mapping[str, Any] | None,
    followed: _Followed,
    console: Console,
    logs: _FollowedLogs | None = None,
) -> int | None:
    """Report what one look shows; the exit code once the run has ended, else None.

    An attempt that ended with a retry to come is not the end: the next attempt is
    followed from then on."""
    execution_name = followed.execution_name
    if execution is None and followed.previous is not None and not followed.seen:
        # The next attempt waits for its backoff, unless its retry was called off since.
        before = cluster.current_execution(followed.previous)
        if before is None or Snapshot.of(before).next_attempt is not None:
            return None
        off = Snapshot.of(before)
        console.say(f"Execution {followed.previous}: its retry was called off")
        return exit_code_for_phase(off.phase)
    verdict = assess(
        token=token,
        execution_name=execution_name,
        rjob=rjob,
        execution=execution,
        seen=followed.seen,
    )
    followed.token_handled = rjob is not None and token_handled(rjob, token)
    if verdict.snapshot is not None:
        followed.seen = True
        for step, step_phase in verdict.snapshot.steps_changed(followed.last):
            console.say(step_line(console.clock(), step, step_phase))
        followed.last = verdict.snapshot
        if verdict.snapshot.reported() != followed.reported:
            followed.reported = verdict.snapshot.reported()
            console.say(progress_line(console.clock(), verdict.snapshot))
    if verdict.state == "finished":
        assert verdict.snapshot is not None
        if logs is not None:
            logs.end(execution_name)
        console.say(final_line(execution_name, verdict.snapshot))
        if verdict.snapshot.next_attempt is not None:
            console.say(retry_line(console.clock(), verdict.snapshot))
            followed.previous = execution_name
            followed.execution_name = verdict.snapshot.next_attempt
            if logs is not None:
                logs.follow(verdict.snapshot.next_attempt)
            followed.attempts += 1
            followed.seen = False
            followed.last = None
            followed.reported = None
            return None
        for line in result_lines(verdict.snapshot):
            console.say(line)
        return exit_code_for_phase(verdict.snapshot.phase)
    if verdict.state == "refused":
        raise PluginError(verdict.message)
    if verdict.state == "vanished":
        phase = _outcome_from_events(cluster, name, execution_name, console)
        if phase is None:
            raise PluginError(verdict.message)
        console.say(
            f"Execution {execution_name} {phase} (from the operator's event;"
            " the Execution has been pruned by the history limits)"
        )
        return exit_code_for_phase(phase)
    if verdict.state == "waiting" and not followed.said_waiting:
        followed.said_waiting = True
        console.say(f"{console.clock():%H:%M:%S}  waiting for the operator to create the Execution")
    return None


def _timed_out(
    execution_name: str, timeout: timedelta, followed: _Followed, console: Console
) -> int:
    where = f"last phase {followed.last.phase}" if followed.last else "no Execution yet"
    if followed.trouble:
        where += f"; the API server last answered: {followed.trouble}"
    elif followed.last is None and not followed.token_handled:
        where += "; the operator has not handled the token yet: is it running?"
    console.warn(
        f"error: timed out after {short_duration(timeout)} waiting for Execution"
        f" {execution_name} ({where}); the run goes on"
    )
    return EXIT_TIMEOUT


# -- cancel ---------------------------------------------------------------------------------------


def cancel_command(
    cluster: Cluster,
    name: str,
    *,
    wait: bool,
    timeout: timedelta,
    console: Console,
    output: str | None = None,
) -> int:
    """Ask for the cancel of a run (once: a second ask is a no-op), and with --wait follow the
    run until it has ended. A run that has already ended is refused: exit 1, nothing changed.
    With `output` (-o), the Execution as the cancel left it is printed."""
    shown, console = console, for_people(console, output)
    while True:
        execution = cluster.get_execution(name)
        verdict = cancel_verdict(execution)
        if verdict.action == "finished":
            raise PluginError(f"{verdict.message}; nothing changed")
        if verdict.action == "asked":
            break
        version = execution["metadata"]["resourceVersion"]
        patched = cluster.patch_execution(name, CANCEL_PATCH, version)
        if patched is not None:
            execution = patched
            break
        # Changed since we looked (by the operator, or by another cancel): look again.
    console.say(verdict.message)
    if output is not None:
        shown.out.write(formatted(execution, output))
    if not wait:
        return EXIT_OK
    deadline = console.monotonic() + timeout.total_seconds()
    while True:
        try:
            status = read_status(ExecutionStatus, _current_execution(cluster, name), "execution")
        except TransientError:
            status = None
        if status is not None and retry_waits(status):
            pass  # the operator has not seen the cancel yet
        elif status is not None and status.phase in TERMINAL_PHASES:
            line = ended_line(name, status)
            if status.reason != RunReason.CANCELLED and not retry_called_off(status):
                raise PluginError(line)
            console.say(line)
            return EXIT_OK
        remaining = deadline - console.monotonic()
        if remaining <= 0:
            console.warn(
                f"error: timed out after {short_duration(timeout)} waiting for execution {name}"
                " to end; the cancel goes on"
            )
            return EXIT_TIMEOUT
        _wait_for_change(cluster, remaining, console)


# -- history ------------------------------------------------------------------------------------


def history_command(cluster: Cluster, name: str, *, output: str | None, console: Console) -> int:
    cluster.get_rjob(name)  # a clear error for a missing RerunnableJob, not an empty list
    executions = newest_first(cluster.executions_of(name))
    if output in ("json", "yaml") or (output == "name" and executions):
        console.out.write(formatted(executions, output))
    elif not executions:
        console.warn(f"No Executions of rerunnablejob/{name} in namespace {cluster.namespace}.")
    else:
        console.out.write(history_table(executions, console.now(), wide=output == "wide"))
    return EXIT_OK


# -- status -------------------------------------------------------------------------------------


def status_command(
    cluster: Cluster, execution: str, *, output: str | None, console: Console
) -> int:
    found = cluster.get_execution(execution)
    if output:
        console.out.write(formatted(found, output))
    else:
        unread: str | None = None
        try:
            pods = cluster.pods_of(execution)
        except PluginError as e:
            pods, unread = [], e.message
        console.out.write(status_text(found, pods, console.now()))
        if unread is not None:
            console.warn(f"warning: {unread}")
    return EXIT_OK


# -- logs ---------------------------------------------------------------------------------------


def logs_command(
    cluster: Cluster,
    execution: str,
    *,
    follow: bool,
    options: LogOptions,
    console: Console,
) -> int:
    """Print the logs of a run's pods: those there are now, or with `follow` every line as
    it comes until the run has ended (its end goes to stderr)."""
    found = cluster.get_execution(execution)
    snapshot = Snapshot.of(found)
    logs = _FollowedLogs(cluster, options, console)
    if not follow or snapshot.finished:
        pods = cluster.pods_of(execution)
        check_container(pods, options.container, execution)
        sources = readable(pods, options.container)
        if not sources:
            raise PluginError(no_log(execution, snapshot.phase, len(pods)))
        cluster.read_logs(sources, options, logs.line)
        return EXIT_OK
    logs.follow(execution)
    while True:
        try:
            current = cluster.current_execution(execution)
        except TransientError:
            pass
        else:
            if current is None:
                logs.end(execution)
                raise PluginError(f"execution {execution} was deleted before it finished")
            snapshot = Snapshot.of(current)
            if snapshot.finished:
                logs.end(execution)
                console.warn(final_line(execution, snapshot))
                return EXIT_OK
        _wait_for_change(cluster, FOLLOW_LOOK, console)


# -- next -----------------------------------------------------------------------------------------


def next_command(
    cluster: Cluster, name: str, *, count: int, output: str | None, console: Console
) -> int:
    try:
        rjob = cluster.get_rjob(name)
    except PluginError as e:
        if cluster.namespace.isdigit():
            e.message += " (-n is the namespace; the number of runs is -c/--count)"
        raise
    now = console.now()
    upcoming = upcoming_runs(rjob, count=count, now=now, executions=cluster.executions_of(name))
    if output in ("json", "yaml"):
        console.out.write(dump(upcoming_json(upcoming), output))
    else:
        console.out.write(upcoming_text(upcoming, now=now, wide=output == "wide"))
    return EXIT_OK


# -- suspend / resume -----------------------------------------------------------------------------


def _shown(value: Any) -> str:
    return NONE if value is None else json.dumps(value).strip('"')


def _changes(spec: Mapping[str, Any], patch: Mapping[str, Any]) -> str:
    return ", ".join(
        f"spec.{key} {_shown(spec.get(key))} -> {_shown(value)}" for key, value in patch.items()
    )


def _whole_seconds_up(moment: datetime) -> datetime:
    """As stored (RFC 3339 has whole seconds here), never earlier than asked."""
    if moment.microsecond:
        return moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def suspend_command(
    cluster: Cluster,
    name: str,
    *,
    until: str | None,
    console: Console,
    output: str | None = None,
) -> int:
    """Suspend, or suspend until; with `output` (-o), print the RerunnableJob as left."""
    shown, console = console, for_people(console, output)
    now = console.now()
    moment = _whole_seconds_up(parse_until(until, now=now)) if until is not None else None
    rjob = cluster.get_rjob(name)
    spec = rjob.get("spec") or {}
    suspended = bool(spec.get("suspend", False))
    patch: dict[str, Any] = {}
    if moment is None:
        if not suspended:
            patch["suspend"] = True
        done = f"rerunnablejob/{name} suspended"
    else:
        left = timedelta(seconds=int((moment - now).total_seconds()))
        if suspended:
            patch["suspend"] = False  # "until" means: resume by itself then
        if parse_time(spec.get("suspendUntil")) != moment:
            patch["suspendUntil"] = rfc3339(moment)
        done = f"rerunnablejob/{name} suspended until {rfc3339(moment)} (in {short_duration(left)})"
    if not patch:
        console.say(f"rerunnablejob/{name} is suspended already; nothing changed")
    else:
        rjob = cluster.patch_rjob(name, {"spec": patch})
        console.say(f"{done}: {_changes(spec, patch)}")
    if output is not None:
        shown.out.write(formatted(rjob, output))
    return EXIT_OK


def resume_command(
    cluster: Cluster, name: str, *, console: Console, output: str | None = None
) -> int:
    """Clear spec.suspend and spec.suspendUntil (an editor's change), and a suspension after
    consecutive failures (a new rerunnable.dev/resume token: a runner's right). With
    `output` (-o), print the RerunnableJob as left."""
    shown, console = console, for_people(console, output)
    rjob = cluster.get_rjob(name)
    spec = rjob.get("spec") or {}
    patch: dict[str, Any] = {}
    if spec.get("suspend"):
        patch["suspend"] = False
    if spec.get("suspendUntil") is not None:
        patch["suspendUntil"] = None  # a merge patch's null removes the field
    status = read_status(RerunnableJobStatus, rjob, "rerunnablejob")
    halted = any(
        c.type == ConditionType.SUSPENDED
        and c.status == "True"
        and c.reason == SuspendedReason.CONSECUTIVE_FAILURES
        for c in status.conditions
    ) or (
        spec.get("suspendAfterFailures") is not None
        and status.consecutive_failures >= int(spec["suspendAfterFailures"])
    )
    if not patch and not halted:
        console.say(f"rerunnablejob/{name} is not suspended; nothing changed")
        if output is not None:
            shown.out.write(formatted(rjob, output))
        return EXIT_OK
    body: dict[str, Any] = {}
    if patch:
        body["spec"] = patch
    said = [_changes(spec, patch)] if patch else []
    if halted:
        token = default_token(console.now(), secrets.token_hex(3))
        body["metadata"] = {"annotations": {ANNOTATION_RESUME: token}}
        failures = status.consecutive_failures
        said.append(f"{failures} failures in a row forgiven ({ANNOTATION_RESUME}={token})")
    rjob = cluster.patch_rjob(name, body)
    console.say(f"rerunnablejob/{name} resumed: {'; '.join(said)}")
    if output is not None:
        shown.out.write(formatted(rjob, output))
    return EXIT_OK


# -- backfill -----------------------------------------------------------------------------------


def backfill_command(
    cluster: Cluster,
    name: str,
    *,
    start: str,
    end: str,
    parallelism: int,
    wait: bool,
    timeout: timedelta,
    console: Console,
    output: str | None = None,
) -> int:
    """Ask for the backfill of [start, end); with --wait, follow it until every run is over.
    With `output` (-o), print the RerunnableJob as the request left it."""
    shown, console = console, for_people(console, output)
    rjob = cluster.get_rjob(name)
    request, slots = check_backfill(rjob, start, end, parallelism, console.now())
    rjob = cluster.patch_rjob(name, {"metadata": {"annotations": backfill_annotations(request)}})
    console.say(
        f"rerunnablejob/{name} backfill requested: {slots} slots from {rfc3339(request.start)}"
        f" to {rfc3339(request.end)}, {request.parallelism} at once"
    )
    if output is not None:
        shown.out.write(formatted(rjob, output))
    if not wait:
        return EXIT_OK
    deadline = console.monotonic() + timeout.total_seconds()
    said = ""
    while True:
        try:
            current = cluster.current_rjob(name)
        except TransientError:
            seen = None
        else:
            if current is None:
                raise PluginError(
                    f'rerunnablejob "{name}" not found in namespace "{cluster.namespace}"'
                )
            seen = look(current, request)
        if seen is not None and seen.message and seen.message != said:
            said = seen.message
            console.say(f"{console.clock():%H:%M:%S}  {said}")
        if seen is not None and seen.state == "refused":
            raise PluginError(seen.message)
        if seen is not None and seen.state == "done":
            return EXIT_FAILED if seen.failed else EXIT_OK
        remaining = deadline - console.monotonic()
        if remaining <= 0:
            console.warn(
                f"error: timed out after {short_duration(timeout)} waiting for the backfill of"
                f" rerunnablejob/{name}; it goes on"
            )
            return EXIT_TIMEOUT
        _wait_for_change(cluster, remaining, console)
