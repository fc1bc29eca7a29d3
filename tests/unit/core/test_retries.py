"""Retry timing and attempt names (rerunnable.core.retries, rerunnable.core.naming), table-driven
with fixed times."""

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunnable.api.reasons import ConditionType, RetryingReason, RunReason
from rerunnable.api.v1alpha1 import (
    Backoff,
    Condition,
    ExecutionPhase,
    ExecutionStatus,
    Retry,
    RetryOn,
)
from rerunnable.core.naming import (
    MAX_NAME_LENGTH,
    MAX_RERUNNABLE_JOB_NAME_LENGTH,
    attempt_execution_name,
    manual_execution_name,
    scheduled_execution_name,
)
from rerunnable.core.retries import backoff_delay, next_attempt_time, retryable, stopped

ENDED = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def cases(*rows: tuple[Any, ...]) -> list[Any]:
    return [pytest.param(*row, id=row[0]) for row in rows]


@pytest.mark.parametrize(
    ("case", "backoff", "attempt", "seconds"),
    cases(
        ("second attempt waits initialSeconds", Backoff(), 2, 10),
        ("third waits initial x factor", Backoff(), 3, 20),
        ("fifth waits initial x factor^3", Backoff(), 5, 80),
        ("capped at maxSeconds", Backoff(), 8, 600),
        ("factor 1 waits the same each time", Backoff(initial_seconds=30, factor=1), 6, 30),
        ("a fractional factor, rounded up", Backoff(initial_seconds=10, factor=1.5), 4, 23),
        ("max below initial caps the first wait", Backoff(initial_seconds=60, max_seconds=5), 2, 5),
    ),
)
def test_backoff_delay(case: str, backoff: Backoff, attempt: int, seconds: float) -> None:
    assert backoff_delay(backoff, attempt) == timedelta(seconds=seconds)


def test_the_first_attempt_has_no_backoff() -> None:
    with pytest.raises(ValueError, match="not a retry"):
        backoff_delay(Backoff(), 1)


def ended(phase: ExecutionPhase, reason: str | None = None, **extra: Any) -> ExecutionStatus:
    return ExecutionStatus(phase=phase, reason=reason, completion_time=ENDED, **extra)


FAILED = ended(ExecutionPhase.FAILED, "BackoffLimitExceeded")
DELETED = ended(ExecutionPhase.INTERRUPTED, RunReason.JOB_DELETED)
BOTH = [RetryOn.FAILED, RetryOn.INTERRUPTED]


@pytest.mark.parametrize(
    ("case", "status", "on", "expected"),
    cases(
        ("failed, on Failed", FAILED, [RetryOn.FAILED], True),
        ("failed, on Interrupted only", FAILED, [RetryOn.INTERRUPTED], False),
        ("Job deleted, on Failed only", DELETED, [RetryOn.FAILED], False),
        ("Job deleted, on Interrupted", DELETED, BOTH, True),
        (
            "stalled, on Interrupted",
            ended(ExecutionPhase.INTERRUPTED, RunReason.STALLED),
            BOTH,
            True,
        ),
        ("cancelled, never", ended(ExecutionPhase.INTERRUPTED, RunReason.CANCELLED), BOTH, False),
        ("replaced, never", ended(ExecutionPhase.INTERRUPTED, RunReason.REPLACED), BOTH, False),
        ("Job refused, never", ended(ExecutionPhase.FAILED, RunReason.JOB_REJECTED), BOTH, False),
        ("succeeded, never", ended(ExecutionPhase.SUCCEEDED, "CompletionsReached"), BOTH, False),
    ),
)
def test_retryable(case: str, status: ExecutionStatus, on: list[RetryOn], expected: bool) -> None:
    assert retryable(status, on) is expected


def called_off(reason: str) -> ExecutionStatus:
    condition = Condition(type=ConditionType.RETRYING, status="False", reason=reason)
    return ended(ExecutionPhase.FAILED, "BackoffLimitExceeded", conditions=[condition])


TWO = Retry(limit=2)


@pytest.mark.parametrize(
    ("case", "status", "attempt", "retry", "expected"),
    cases(
        ("no retry configured", FAILED, 1, None, None),
        ("limit 0", FAILED, 1, Retry(limit=0), None),
        ("attempt 1 of 3", FAILED, 1, TWO, ENDED + timedelta(seconds=10)),
        ("attempt 2 of 3", FAILED, 2, TWO, ENDED + timedelta(seconds=20)),
        ("attempt 3 of 3: the last", FAILED, 3, TWO, None),
        ("not an outcome `on` lists", DELETED, 1, TWO, None),
        ("called off: replaced", called_off(RetryingReason.REPLACED), 1, TWO, None),
        ("called off: cancelled", called_off(RetryingReason.CANCELLED), 1, TWO, None),
        (
            "already retried: the same time",
            called_off(RetryingReason.RETRIED),
            1,
            TWO,
            ENDED + timedelta(seconds=10),
        ),
        ("no end recorded yet", ExecutionStatus(phase=ExecutionPhase.FAILED), 1, TWO, None),
    ),
)
def test_next_attempt_time(
    case: str, status: ExecutionStatus, attempt: int, retry: Retry | None, expected: datetime | None
) -> None:
    assert next_attempt_time(status, attempt, retry) == expected


def test_only_cancel_and_replace_call_a_retry_off() -> None:
    assert stopped(called_off(RetryingReason.REPLACED)) == RetryingReason.REPLACED
    assert stopped(called_off(RetryingReason.RETRIED)) is None
    assert stopped(FAILED) is None


# -- names -------------------------------------------------------------------------------------


LONGEST = "a" * MAX_RERUNNABLE_JOB_NAME_LENGTH


def hashed(rjob: str, first: str, attempt: int) -> str:
    return f"{rjob}-r{hashlib.sha256(f'{first}/{attempt}'.encode()).hexdigest()[:9]}"


@pytest.mark.parametrize(
    ("case", "rjob", "first", "attempt", "expected"),
    cases(
        ("scheduled run", "backup", "backup-29413260", 2, "backup-29413260-2"),
        ("manual run", "backup", "backup-m1a2b3c4d", 11, "backup-m1a2b3c4d-11"),
        ("longest name, fits", LONGEST, LONGEST + "-29413260", 9, LONGEST + "-29413260-9"),
        (
            "longest name, too long to read: hashed",
            LONGEST,
            LONGEST + "-29413260",
            10,
            hashed(LONGEST, LONGEST + "-29413260", 10),
        ),
    ),
)
def test_attempt_names(case: str, rjob: str, first: str, attempt: int, expected: str) -> None:
    assert attempt_execution_name(rjob, first, attempt) == expected
    assert len(expected) <= MAX_NAME_LENGTH


def test_attempt_1_is_the_runs_own_name() -> None:
    with pytest.raises(ValueError, match="the run's own name"):
        attempt_execution_name("backup", "backup-29413260", 1)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=52).filter(
    lambda s: s[0] != "-" and s[-1] != "-"
)


@given(
    rjob=names,
    minute=st.integers(min_value=0, max_value=9_999_999_999),
    token=st.text(min_size=1, max_size=20),
)
def test_every_attempt_name_fits_and_differs(rjob: str, minute: int, token: str) -> None:
    assert len(rjob) <= MAX_RERUNNABLE_JOB_NAME_LENGTH
    slot = datetime.fromtimestamp(minute * 60, UTC) if minute * 60 < 253402300799 else ENDED
    for first in (scheduled_execution_name(rjob, slot), manual_execution_name(rjob, token)):
        attempts = [attempt_execution_name(rjob, first, n) for n in range(2, 12)]
        assert all(len(n) <= MAX_NAME_LENGTH for n in attempts)
        assert len(set(attempts)) == len(attempts)
        assert first not in attempts
        # The same inputs give the same name: a crash or a second replica cannot make two.
        assert attempts == [attempt_execution_name(rjob, first, n) for n in range(2, 12)]
