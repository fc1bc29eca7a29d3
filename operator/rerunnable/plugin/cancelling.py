"""`kubectl rerun cancel`: what one look at an Execution means for a cancel (pure)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rerunnable.api.names import ANNOTATION_CANCEL, ANNOTATION_CANCELLED_BY
from rerunnable.api.reasons import ConditionType, RetryingReason, RunReason
from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionStatus, rfc3339
from rerunnable.plugin.output import read_status, section

__all__ = [
    "CANCEL_PATCH",
    "CancelVerdict",
    "cancel_verdict",
    "ended_line",
    "retry_called_off",
    "retry_waits",
]

CANCEL_PATCH = {"metadata": {"annotations": {ANNOTATION_CANCEL: "true"}}}


@dataclass(frozen=True)
class CancelVerdict:
    """- "ask": set the annotation;
    - "asked": a cancel was asked for already and is being carried out: nothing to send;
    - "finished": the run is over (`message` says how): nothing to cancel."""

    action: Literal["ask", "asked", "finished"]
    message: str


def cancel_verdict(execution: Mapping[str, Any]) -> CancelVerdict:
    name = section(execution, "metadata").get("name", "")
    status = read_status(ExecutionStatus, execution, "execution")
    retry = retry_waits(status)
    if status.phase in TERMINAL_PHASES and not retry:
        return CancelVerdict("finished", f"execution {name} has already finished: {_how(status)}")
    annotations = section(execution, "metadata").get("annotations") or {}
    if annotations.get(ANNOTATION_CANCEL) == "true":
        by = annotations.get(ANNOTATION_CANCELLED_BY)
        who = f" by {by}" if by else ""
        return CancelVerdict(
            "asked", f"execution {name}: a cancel was requested already{who}; nothing changed"
        )
    if retry:
        assert status.next_attempt_time is not None
        return CancelVerdict(
            "ask",
            f"execution.rerunnable.dev/{name} cancel requested: its run's next attempt, due at "
            f"{rfc3339(status.next_attempt_time)}, is called off",
        )
    return CancelVerdict("ask", f"execution.rerunnable.dev/{name} cancel requested")


def retry_waits(status: ExecutionStatus) -> bool:
    """Whether the run of this ended attempt waits for its next attempt (spec.retry)."""
    return (
        any(
            c.type == ConditionType.RETRYING and c.reason == RetryingReason.WAITING
            for c in status.conditions
        )
        and status.next_attempt_time is not None
    )


def retry_called_off(status: ExecutionStatus) -> bool:
    """Whether a cancel called the waiting retry of this ended attempt off."""
    return any(
        c.type == ConditionType.RETRYING and c.reason == RetryingReason.CANCELLED
        for c in status.conditions
    )


def ended_line(name: str, status: ExecutionStatus) -> str:
    """How a run followed after a cancel ended: cancelled, or over before the cancel counted."""
    if status.reason == RunReason.CANCELLED:
        return f"execution.rerunnable.dev/{name} cancelled: {status.message}"
    if retry_called_off(status):
        return f"execution.rerunnable.dev/{name}: its run's next attempt is called off"
    return f"execution {name} finished before the cancel took effect: {_how(status)}"


def _how(status: ExecutionStatus) -> str:
    if status.reason == RunReason.CANCELLED:
        how = f"{status.phase.value}, {status.message}"
    else:
        how = status.phase.value
        if status.reason:
            how += f" ({status.reason}"
            how += f": {status.message})" if status.message else ")"
    if status.completion_time is not None:
        how += f", at {rfc3339(status.completion_time)}"
    return how
