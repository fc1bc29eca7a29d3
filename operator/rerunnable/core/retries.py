"""Retry timing: which ended attempt is retried, and when its next attempt starts (spec.retry).

Every answer is derived from the objects (the attempt's phase, reason, end and
conditions) and the spec, never from a timer held in memory: an operator that
restarts, or another replica, computes the same next attempt at the same time.
"""

import math
from datetime import datetime, timedelta

from rerunnable.api.reasons import ConditionType, RetryingReason, RunReason
from rerunnable.api.v1alpha1 import Backoff, ExecutionPhase, ExecutionStatus, Retry, RetryOn

__all__ = ["attempts_allowed", "backoff_delay", "next_attempt_time", "retryable", "stopped"]

# Ended so that another attempt cannot help, or someone chose to end the run.
_NEVER_RETRIED = frozenset({RunReason.CANCELLED, RunReason.REPLACED, RunReason.JOB_REJECTED})


def attempts_allowed(retry: Retry | None) -> int:
    """How many attempts a run may have in all: 1 without retries, limit+1 with them."""
    return 1 + (retry.limit if retry is not None else 0)


def backoff_delay(backoff: Backoff, attempt: int) -> timedelta:
    """The wait before attempt `attempt` (≥ 2), counted from the end of the one before:
    initialSeconds * factor^(attempt-2), at most maxSeconds, rounded up to whole seconds
    (times on the wire have whole seconds: a fraction would make every pass see a
    nextAttemptTime that differs from the one it wrote)."""
    if attempt < 2:
        raise ValueError("the first attempt is not a retry")
    seconds = backoff.initial_seconds * backoff.factor ** (attempt - 2)
    return timedelta(seconds=math.ceil(min(seconds, backoff.max_seconds)))


def retryable(status: ExecutionStatus, on: list[RetryOn]) -> bool:
    """Whether an attempt that ended in `status` is one `on` retries.

    Failed, when `on` lists Failed; Interrupted (its Job deleted, or stalled) when
    it lists Interrupted. A cancelled or replaced run, or one whose Job the API
    server refused, never is.
    """
    if status.reason in _NEVER_RETRIED:
        return False
    if status.phase == ExecutionPhase.FAILED:
        return RetryOn.FAILED in on
    if status.phase == ExecutionPhase.INTERRUPTED:
        return RetryOn.INTERRUPTED in on
    return False


def stopped(status: ExecutionStatus) -> str | None:
    """Why the retry of an ended attempt was called off (Cancelled, Replaced), or None."""
    for c in status.conditions:
        called_off = c.reason in (RetryingReason.CANCELLED, RetryingReason.REPLACED)
        if c.type == ConditionType.RETRYING and c.status == "False" and called_off:
            return c.reason
    return None


def next_attempt_time(
    status: ExecutionStatus, attempt: int, retry: Retry | None
) -> datetime | None:
    """When attempt `attempt + 1` starts, given that attempt `attempt` ended in `status`.

    Returns None when there is none: no retries configured, no attempts left, an
    outcome `retry.on` does not list, or a retry called off. Returns the previous
    attempt's completionTime plus the backoff otherwise (it may be past: due now).
    """
    if retry is None or attempt >= attempts_allowed(retry):
        return None
    if status.completion_time is None or not retryable(status, retry.on):
        return None
    if stopped(status) is not None:
        return None
    return status.completion_time + backoff_delay(retry.backoff, attempt + 1)
