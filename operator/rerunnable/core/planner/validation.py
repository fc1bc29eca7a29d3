"""Step 1: is the spec one the operator can serve? An invalid object gets no new runs."""

from datetime import datetime

from rerunnable.api.reasons import ReadyReason
from rerunnable.core.schedule import InvalidSpecError, ValidSchedule, validate_schedule
from rerunnable.core.state import RerunnableJobState

__all__ = ["validate"]


def validate(rjob: RerunnableJobState, now: datetime) -> ValidSchedule | InvalidSpecError:
    """The schedule to serve, or why there is none (the Ready condition's reason and message)."""
    if rjob.spec is None:
        return InvalidSpecError(
            ReadyReason.INVALID_SPEC, rjob.spec_error or "spec does not validate"
        )
    try:
        return validate_schedule(rjob.spec, hash_key=f"{rjob.namespace}/{rjob.name}", now=now)
    except InvalidSpecError as e:
        return e
