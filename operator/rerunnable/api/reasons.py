"""Condition types and reasons, Event reasons, and Execution reasons: one definition each.

The operator writes them and `kubectl rerun` (and users' alerts) read them, so
both sides import them from here. They are StrEnums: they compare equal to the
strings stored in the API objects.
"""

from enum import StrEnum

__all__ = [
    "BackfillingReason",
    "ConditionType",
    "EventReason",
    "ReadyReason",
    "RetryingReason",
    "RunReason",
    "SuspendedReason",
]


class ConditionType(StrEnum):
    READY = "Ready"
    SUSPENDED = "Suspended"
    # On an attempt that ended: whether the run goes on with another attempt (spec.retry).
    RETRYING = "Retrying"
    # On a RerunnableJob asked to backfill a range (rerunnable.dev/backfill).
    BACKFILLING = "Backfilling"


class BackfillingReason(StrEnum):
    IN_PROGRESS = "InProgress"  # True: runs remain
    COMPLETED = "Completed"  # False: every slot handled, every run over
    INVALID_BACKFILL = "InvalidBackfill"  # False: the request was refused, nothing started
    STOPPED = "Stopped"  # False: the annotation was cleared before the range was done


class RetryingReason(StrEnum):
    """What became of an ended attempt's retry (Execution status.conditions[Retrying])."""

    WAITING = "Waiting"  # True: the next attempt starts at status.nextAttemptTime
    RETRIED = "Retried"  # False: the next attempt exists
    RETRIES_EXHAUSTED = "RetriesExhausted"  # False: it was the last attempt spec.retry allows
    # False: the run was cancelled (rerunnable.dev/cancel) or replaced while its retry waited.
    CANCELLED = "Cancelled"
    REPLACED = "Replaced"


class ReadyReason(StrEnum):
    """Why a RerunnableJob is Ready or not (status.conditions[Ready].reason)."""

    READY = "Ready"
    INVALID_SPEC = "InvalidSpec"
    INVALID_SCHEDULE = "InvalidSchedule"
    INVALID_TIME_ZONE = "InvalidTimeZone"
    # The API server refused the Job of this generation's newest run: the template is wrong.
    # Unlike the others it does not hold a new manual token back (its run is made, and fails).
    INVALID_JOB_TEMPLATE = "InvalidJobTemplate"
    # spec.reporting.enabled, and this operator serves no report endpoint: a run could not
    # report, and its heartbeat would end it. It holds new runs back, as an invalid spec does.
    REPORTING_UNAVAILABLE = "ReportingUnavailable"


class SuspendedReason(StrEnum):
    SUSPENDED = "Suspended"  # spec.suspend
    SUSPENDED_UNTIL = "SuspendedUntil"  # spec.suspendUntil in the future
    CONSECUTIVE_FAILURES = "ConsecutiveFailures"  # spec.suspendAfterFailures reached
    END_TIME_REACHED = "EndTimeReached"  # spec.endTime is past
    MAX_RUNS_REACHED = "MaxRunsReached"  # spec.maxRuns scheduled runs have started
    NOT_SUSPENDED = "NotSuspended"


class RunReason(StrEnum):
    """Why a run is where it is (Execution status.reason), or why one was not started
    (RerunnableJob status.lastSkipped.reason). Ended Jobs add the Job controller's own
    reasons (e.g. BackoffLimitExceeded)."""

    QUEUED = "Queued"
    SCHEDULED = "Scheduled"  # armed ahead of its slot: its Job is made at the slot
    JOB_SUSPENDED = "JobSuspended"
    JOB_DELETED = "JobDeleted"
    JOB_REJECTED = "JobRejected"
    REPLACED = "Replaced"
    STALLED = "Stalled"  # no report within reporting.heartbeatSeconds
    CANCELLED = "Cancelled"  # the rerunnable.dev/cancel annotation
    INVALID_PARAMETERS = "InvalidParameters"  # a manual run's parameters did not check out
    SUPERSEDED = "Superseded"
    CONCURRENCY_FORBIDDEN = "ConcurrencyForbidden"
    QUEUE_FULL = "QueueFull"
    MISSED_SCHEDULE = "MissedSchedule"
    COMPLETED = "Completed"
    FAILED = "Failed"


class EventReason(StrEnum):
    """Reasons of the Events the operator posts about a RerunnableJob."""

    RUN_STARTED = "RunStarted"
    RUN_QUEUED = "RunQueued"
    RUN_SKIPPED = "RunSkipped"
    RUN_SUCCEEDED = "RunSucceeded"
    RUN_FAILED = "RunFailed"
    RUN_INTERRUPTED = "RunInterrupted"
    RUN_CANCELLED = "RunCancelled"
    RUN_RETRYING = "RunRetrying"  # an attempt ended; the next starts after the backoff
    MISSED_SCHEDULE = "MissedSchedule"
    SUSPENDED_AFTER_FAILURES = "SuspendedAfterFailures"
    BACKFILL_COMPLETED = "BackfillCompleted"
    BACKFILL_REFUSED = "BackfillRefused"
    NAME_CONFLICT = "NameConflict"
