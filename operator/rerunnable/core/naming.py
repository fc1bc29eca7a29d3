"""Deterministic names of Executions and their Jobs, part of the public contract.

A name is a pure function of the RerunnableJob's name and the run's identity
(its scheduled time or its manual token; for a retry, its first attempt's name
and its number). Creating an object under that name twice fails with
AlreadyExists, and that is what makes a slot, a token or an attempt run exactly
once across restarts and replicas.
"""

import hashlib
from datetime import UTC, datetime

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_RERUNNABLE_JOB_NAME_LENGTH",
    "attempt_execution_name",
    "manual_execution_name",
    "scheduled_execution_name",
]

# A Job's name ends up in its pods' `job-name` label, whose value is limited to
# 63 characters; "-" plus the scheduled-minute suffix (up to 10 digits) leaves 52.
MAX_RERUNNABLE_JOB_NAME_LENGTH = 52
# The longest name of an Execution (and its Job): a label value.
MAX_NAME_LENGTH = 63


def scheduled_execution_name(rerunnable_job: str, scheduled_time: datetime) -> str:
    """`<rjob>-<minutes since the Unix epoch>`, the CronJob controller's rule."""
    if scheduled_time.tzinfo is None:
        raise ValueError("scheduled_time must be timezone-aware")
    seconds = scheduled_time.astimezone(UTC).timestamp()
    return f"{rerunnable_job}-{int(seconds // 60)}"


def manual_execution_name(rerunnable_job: str, token: str) -> str:
    """`<rjob>-m<first 8 hex digits of sha256(token)>`."""
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return f"{rerunnable_job}-m{digest[:8]}"


def attempt_execution_name(rerunnable_job: str, first: str, attempt: int) -> str:
    """The name of attempt `attempt` (2, 3, ...) of the run whose first attempt is `first`.

    `<first>-<attempt>` (backup-29413260-2) where that fits 63 characters; else
    `<rjob>-r<first 9 hex digits of sha256("<first>/<attempt>")>`, which fits for the
    longest RerunnableJob name. Neither form can be another run's name: a scheduled
    suffix has 8 or more digits, a manual one starts with m.
    """
    if attempt < 2:
        raise ValueError("attempt 1 is the run's own name")
    readable = f"{first}-{attempt}"
    if len(readable) <= MAX_NAME_LENGTH:
        return readable
    digest = hashlib.sha256(f"{first}/{attempt}".encode()).hexdigest()
    return f"{rerunnable_job}-r{digest[:9]}"
