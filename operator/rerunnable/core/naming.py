"""Deterministic names of Executions and their Jobs, part of the public contract.

A name is a pure function of the RerunnableJob's name and the run's identity
(its scheduled time, or its manual token). Creating an object under that name
twice fails with AlreadyExists, and that is what makes a slot or a token run
exactly once across restarts and replicas.
"""

import hashlib
from datetime import UTC, datetime

__all__ = [
    "MAX_RERUNNABLE_JOB_NAME_LENGTH",
    "manual_execution_name",
    "scheduled_execution_name",
]

# A Job's name ends up in its pods' `job-name` label, whose value is limited to
# 63 characters; "-" plus the scheduled-minute suffix (up to 10 digits) leaves 52.
MAX_RERUNNABLE_JOB_NAME_LENGTH = 52


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
