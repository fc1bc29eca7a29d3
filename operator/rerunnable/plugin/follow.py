"""`kubectl rerun run --wait`: what one look at the RerunnableJob and its Execution means (pure).

The command loop (commands.py) reads the RerunnableJob first and the
Execution second (the operator writes the RerunnableJob's status only after
the Execution exists, so in that order "token handled" and "no Execution"
together really mean the Execution is gone), hands both to `assess`, and
prints a `progress_line` whenever the `Snapshot` changes.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rerunnable.api.reasons import ConditionType, ReadyReason, RetryingReason
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionPhase,
    ExecutionStatus,
    RerunnableJobStatus,
)
from rerunnable.core.messages import read_finished_event, without_held_token
from rerunnable.core.naming import attempt_execution_name
from rerunnable.plugin.output import read_status, section, short_duration
from rerunnable.plugin.status import progress_bar

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_TIMEOUT",
    "Snapshot",
    "Verdict",
    "assess",
    "exit_code_for_phase",
    "final_line",
    "outcome_from_events",
    "progress_line",
    "refusal",
    "result_lines",
    "retry_line",
    "step_line",
]

EXIT_OK = 0
EXIT_FAILED = 1  # the run failed or was interrupted, was refused, or the command failed
EXIT_TIMEOUT = 2  # --timeout passed before the run finished

# Ready=False with these reasons holds a new token until the spec is fixed; a rejected Job
# template does not: the run is created and its Job refused again.
_NOT_HOLDING = frozenset({ReadyReason.INVALID_JOB_TEMPLATE})


def exit_code_for_phase(phase: str) -> int:
    """0 for Succeeded; 1 for Failed and Interrupted. Only terminal phases have one."""
    if phase == ExecutionPhase.SUCCEEDED:
        return EXIT_OK
    if phase in (ExecutionPhase.FAILED, ExecutionPhase.INTERRUPTED):
        return EXIT_FAILED
    raise ValueError(f"phase {phase!r} is not terminal")


def _rjob_status(rjob: Mapping[str, Any]) -> RerunnableJobStatus:
    return read_status(RerunnableJobStatus, rjob, "rerunnablejob")


@dataclass(frozen=True)
class Snapshot:
    """The parts of an Execution's status that `--wait` reports on."""

    phase: str
    reason: str | None
    message: str | None
    progress: tuple[int, int, int, int] | None  # succeeded, failed, active, total
    start_time: datetime | None
    completion_time: datetime | None
    report: str = ""  # what the workload reported: a progress bar and its message
    steps: tuple[tuple[str, str], ...] = ()  # (name, phase) of each step
    result: tuple[tuple[str, str], ...] = ()
    # Attempt n of the run whose first attempt is `first` (spec.retry); the next attempt's
    # name while one is to come (Retrying: Waiting or Retried), and when it starts.
    attempt: int = 1
    first: str = ""
    next_attempt: str | None = None
    next_attempt_time: datetime | None = None

    @classmethod
    def of(cls, execution: Mapping[str, Any]) -> "Snapshot":
        status = read_status(ExecutionStatus, execution, "execution")
        progress = status.progress
        meta, spec = section(execution, "metadata"), section(execution, "spec")
        name = str(meta.get("name", ""))
        first = str(spec.get("retryOf") or name)
        number = spec.get("attempt")
        attempt = number if isinstance(number, int) else 1
        retrying = next((c for c in status.conditions if c.type == ConditionType.RETRYING), None)
        goes_on = retrying is not None and retrying.reason in (
            RetryingReason.WAITING,
            RetryingReason.RETRIED,
        )
        return cls(
            phase=status.phase.value,
            reason=status.reason or None,
            message=status.message or None,
            progress=(
                (progress.succeeded, progress.failed, progress.active, progress.total)
                if progress is not None
                else None
            ),
            start_time=status.start_time,
            completion_time=status.completion_time,
            report=progress_bar(status.report),
            steps=tuple((st.name, st.phase.value) for st in status.steps),
            result=tuple(sorted((status.result or {}).items())),
            attempt=attempt,
            first=first,
            next_attempt=(
                attempt_execution_name(str(spec.get("rerunnableJob", "")), first, attempt + 1)
                if goes_on
                else None
            ),
            next_attempt_time=status.next_attempt_time,
        )

    @property
    def finished(self) -> bool:
        return self.phase in TERMINAL_PHASES

    def progress_text(self) -> str:
        if self.progress is None:
            return ""
        succeeded, failed, active, total = self.progress
        return f"{succeeded}/{total} succeeded, {failed} failed, {active} active"

    def reported(self) -> tuple[str, str | None, tuple[int, int, int, int] | None, str]:
        """What a new progress line is printed for: phase, reason, pod counts, the report."""
        return (self.phase, self.reason, self.progress, self.report)

    def steps_changed(self, before: "Snapshot | None") -> list[tuple[str, str]]:
        """The steps whose phase is new since `before`; a step that is only Pending is no news."""
        known = dict(before.steps) if before is not None else {}
        return [(name, phase) for name, phase in self.steps if known.get(name, "Pending") != phase]


def progress_line(at: datetime, snapshot: Snapshot) -> str:
    """`12:03:04  Running      1/3 succeeded, 0 failed, 2 active` (at: local wall clock)."""
    detail = snapshot.progress_text()
    if snapshot.phase == ExecutionPhase.PENDING and snapshot.reason:
        detail = f"{snapshot.reason}: {snapshot.message}" if snapshot.message else snapshot.reason
    elif not detail:
        detail = "waiting for its Job" if snapshot.phase == ExecutionPhase.PENDING else ""
    if snapshot.report:
        detail = f"{snapshot.report}   ({detail})" if detail else snapshot.report
    return f"{at:%H:%M:%S}  {snapshot.phase:<11}  {detail}".rstrip()


def step_line(at: datetime, name: str, phase: str) -> str:
    """`12:03:05  step load: Running`."""
    return f"{at:%H:%M:%S}  step {name}: {phase}"


def result_lines(snapshot: Snapshot) -> list[str]:
    """The run's result, one `key: value` line each, under a heading."""
    if not snapshot.result:
        return []
    return ["result:", *(f"  {key}: {value}" for key, value in snapshot.result)]


def final_line(name: str, snapshot: Snapshot) -> str:
    """`Execution X Succeeded in 4s (1/1 succeeded, ...)` or `... Failed after 4s: Reason: msg`."""
    took = ""
    if snapshot.start_time and snapshot.completion_time:
        took = short_duration(snapshot.completion_time - snapshot.start_time)
    if snapshot.phase == ExecutionPhase.SUCCEEDED:
        text = f"Execution {name} Succeeded" + (f" in {took}" if took else "")
        return text + (f" ({snapshot.progress_text()})" if snapshot.progress else "")
    text = f"Execution {name} {snapshot.phase}" + (f" after {took}" if took else "")
    why = ": ".join(part for part in (snapshot.reason, snapshot.message) if part)
    return text + (f": {why}" if why else "")


def retry_line(at: datetime, snapshot: Snapshot) -> str:
    """`12:03:09  attempt 2 (backup-29413260-2) starts at 12:03:19` (times: local wall clock)."""
    when = ""
    if snapshot.next_attempt_time is not None:
        when = f" starts at {snapshot.next_attempt_time.astimezone(at.tzinfo):%H:%M:%S}"
    return f"{at:%H:%M:%S}  attempt {snapshot.attempt + 1} ({snapshot.next_attempt}){when}"


def refusal(rjob: Mapping[str, Any], token: str) -> str | None:
    """Why the operator will not create a run for `token`, or None if it has or it may.

    - the token was handled and skipped: `status.lastSkipped` names it (ConcurrencyForbidden,
      QueueFull, ...);
    - the token is not handled yet and the spec (of this generation) is invalid: it waits
      until the object is fixed; the Ready condition's message says what is wrong.
    """
    status = _rjob_status(rjob)
    name = section(rjob, "metadata").get("name", "")
    skipped = status.last_skipped
    if status.last_run_token == token:
        if skipped is not None and skipped.token == token:
            return (
                f"rerunnablejob/{name} did not start the run ({skipped.reason}): {skipped.message}"
            )
        return None
    generation = section(rjob, "metadata").get("generation")
    for condition in status.conditions:
        if (
            condition.type == ConditionType.READY
            and condition.status == "False"
            and condition.reason not in _NOT_HOLDING
            and condition.observed_generation in (None, generation)
        ):
            # The operator names a token it holds; it may be an older one than ours.
            return (
                f"rerunnablejob/{name} is not ready ({condition.reason}): "
                f"{without_held_token(condition.message)}; run {token!r} starts once the object "
                "is fixed"
            )
    return None


def token_handled(rjob: Mapping[str, Any], token: str) -> bool:
    return _rjob_status(rjob).last_run_token == token


@dataclass(frozen=True)
class Verdict:
    """What the loop does next.

    - waiting: no Execution yet, nothing says there will not be one;
    - running: the Execution exists and has not finished (`snapshot`);
    - finished: it has (`snapshot`; exit with `exit_code_for_phase`);
    - refused: the operator will not create it (`message`, exit 1);
    - vanished: it was there (or the token was handled) and is gone now (`message`).
    """

    state: Literal["waiting", "running", "finished", "refused", "vanished"]
    snapshot: Snapshot | None = None
    message: str = ""


def assess(
    *,
    token: str,
    execution_name: str,
    rjob: Mapping[str, Any] | None,
    execution: Mapping[str, Any] | None,
    seen: bool,
) -> Verdict:
    """One look: `rjob` and `execution` as just read (None: not found); `seen`: seen before."""
    if execution is not None:
        snapshot = Snapshot.of(execution)
        return Verdict("finished" if snapshot.finished else "running", snapshot)
    if seen:
        return Verdict(
            "vanished",
            message=f"Execution {execution_name} was deleted before it finished"
            " (by hand, with its RerunnableJob, or pruned by the history limits)",
        )
    if rjob is None:
        return Verdict("refused", message="the RerunnableJob was deleted")
    reason = refusal(rjob, token)
    if reason is not None:
        return Verdict("refused", message=reason)
    if token_handled(rjob, token):
        return Verdict(
            "vanished",
            message=f"run {token!r} was handled, but Execution {execution_name} does not exist:"
            " it was skipped (kubectl describe rjob shows why) or has been deleted or pruned",
        )
    return Verdict("waiting")


def outcome_from_events(events: Iterable[tuple[str, str]], execution_name: str) -> str | None:
    """The final phase of a pruned Execution, from the operator's (reason, message) Events."""
    for reason, message in events:
        phase = read_finished_event(reason, message, execution_name)
        if phase is not None:
            return phase.value
    return None
