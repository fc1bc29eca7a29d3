"""`kubectl rerun cancel`: what one look at an Execution means for a cancel (pure)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rerunnable.api.names import ANNOTATION_CANCEL, ANNOTATION_CANCELLED_BY
from rerunnable.api.reasons import RunReason
from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionStatus, rfc3339
from rerunnable.plugin.output import read_status, section

__all__ = ["CANCEL_PATCH", "CancelVerdict", "cancel_verdict", "ended_line"]

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
    if status.phase in TERMINAL_PHASES:
        return CancelVerdict("finished", f"execution {name} has already finished: {_how(status)}")
    annotations = section(execution, "metadata").get("annotations") or {}
    if annotations.get(ANNOTATION_CANCEL) == "true":
        by = annotations.get(ANNOTATION_CANCELLED_BY)
        who = f" by {by}" if by else ""
        return CancelVerdict(
            "asked", f"execution {name}: a cancel was requested already{who}; nothing changed"
        )
    return CancelVerdict("ask", f"execution.rerunnable.dev/{name} cancel requested")


def ended_line(name: str, status: ExecutionStatus) -> str:
    """How a run followed after a cancel ended: cancelled, or over before the cancel counted."""
    if status.reason == RunReason.CANCELLED:
        return f"execution.rerunnable.dev/{name} cancelled: {status.message}"
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
