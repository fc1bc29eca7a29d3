"""Messages the operator writes and `kubectl rerun` reads back: each as a writer/reader pair.

A message is for people, but two are also read by the plugin: the note in the
Ready condition that a manual token waits for the spec to be fixed, and the
Event that says how a run ended (the only trace of a run its history limits
have pruned). Keeping both halves here means the reader cannot drift from
the writer; tests/unit/core/test_messages.py holds them to each other.
"""

from rerunnable.api.names import ANNOTATION_CANCEL
from rerunnable.api.reasons import EventReason
from rerunnable.api.v1alpha1 import ExecutionPhase, ExecutionStatus

__all__ = [
    "cancelled_message",
    "finished_event",
    "read_finished_event",
    "with_held_token",
    "without_held_token",
]

_HELD_PREFIX = " (manual run "
_HELD_SUFFIX = " starts once this is fixed)"

_FINISHED = {
    ExecutionPhase.SUCCEEDED: (EventReason.RUN_SUCCEEDED, "succeeded"),
    ExecutionPhase.FAILED: (EventReason.RUN_FAILED, "failed"),
    ExecutionPhase.INTERRUPTED: (EventReason.RUN_INTERRUPTED, "was interrupted"),
}
_PHASE_OF = {reason: phase for phase, (reason, _) in _FINISHED.items()} | {
    EventReason.RUN_CANCELLED: ExecutionPhase.INTERRUPTED
}


def cancelled_message(by: str | None, started: bool) -> str:
    """The status message of a cancelled run (also its Event's, after "Execution NAME ")."""
    who = f"cancelled by {by}" if by else f"cancelled ({ANNOTATION_CANCEL})"
    return f"{who}; its Job is deleted" if started else f"{who} before it started"


def with_held_token(message: str, token: str | None) -> str:
    """The Ready=False message, saying which manual run waits for the fix (if one does)."""
    return f"{message}{_HELD_PREFIX}{token!r}{_HELD_SUFFIX}" if token else message


def without_held_token(message: str) -> str:
    """The Ready=False message without the note `with_held_token` added."""
    if message.endswith(_HELD_SUFFIX):
        start = message.rfind(_HELD_PREFIX)
        if start >= 0:
            return message[:start]
    return message


def finished_event(name: str, status: ExecutionStatus) -> tuple[EventReason, str]:
    """(reason, message) of the Event about Execution `name` ending in `status.phase`."""
    reason, verb = _FINISHED[status.phase]
    if status.phase == ExecutionPhase.SUCCEEDED:
        return reason, f"Execution {name} {verb}"
    return reason, f"Execution {name} {verb}: {status.reason}: {status.message}"


def read_finished_event(reason: str, message: str, execution: str) -> ExecutionPhase | None:
    """The phase Execution `execution` ended in, if this Event (reason, message) says so."""
    phase = next((p for r, p in _PHASE_OF.items() if r == reason), None)
    if phase is None or not message.startswith(f"Execution {execution} "):
        return None
    return phase
