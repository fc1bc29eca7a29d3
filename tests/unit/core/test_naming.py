from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from rerunnable.core.naming import (
    MAX_RERUNNABLE_JOB_NAME_LENGTH,
    manual_execution_name,
    scheduled_execution_name,
)


@pytest.mark.parametrize(
    ("case", "rjob", "scheduled", "expected"),
    [
        ("epoch", "backup", datetime(1970, 1, 1, tzinfo=UTC), "backup-0"),
        # The CronJob controller's rule: 2026-11-22T03:00Z is epoch day 20779,
        # so minute 20779 * 1440 + 180 = 29,921,940.
        ("utc slot", "backup", datetime(2026, 11, 22, 3, 0, tzinfo=UTC), "backup-29921940"),
        (
            "same instant in another zone gives the same name",
            "backup",
            datetime(2026, 11, 22, 4, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            "backup-29921940",
        ),
        (
            "seconds inside the minute do not change the name",
            "backup",
            datetime(2026, 11, 22, 3, 0, 59, 999999, tzinfo=UTC),
            "backup-29921940",
        ),
        (
            "fixed offset",
            "r",
            datetime(2026, 11, 21, 22, 0, tzinfo=timezone(timedelta(hours=-5))),
            "r-29921940",
        ),
    ],
)
def test_scheduled_execution_name(case: str, rjob: str, scheduled: datetime, expected: str) -> None:
    assert scheduled_execution_name(rjob, scheduled) == expected, case


def test_scheduled_execution_name_refuses_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        scheduled_execution_name("backup", datetime(2026, 11, 22, 3, 0))


def test_scheduled_name_of_longest_rjob_fits_a_label_value() -> None:
    far_future = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    name = scheduled_execution_name("a" * MAX_RERUNNABLE_JOB_NAME_LENGTH, far_future)
    assert len(name) <= 63


@pytest.mark.parametrize(
    ("case", "token", "expected"),
    [
        # sha256("") is the well-known e3b0c442...; the others were computed once and frozen.
        ("plain token", "release-42", "maint-m717e81e2"),
        ("empty token", "", "maint-me3b0c442"),
        ("unicode token", "überprüfung", "maint-m66c73816"),
    ],
)
def test_manual_execution_name(case: str, token: str, expected: str) -> None:
    assert manual_execution_name("maint", token) == expected, case


def test_manual_names_differ_per_token_and_repeat_per_token() -> None:
    assert manual_execution_name("j", "a") != manual_execution_name("j", "b")
    assert manual_execution_name("j", "a") == manual_execution_name("j", "a")
