"""Step 1: is the spec one the operator can serve? An invalid object gets no new runs."""

from datetime import datetime

from rerunnable.api.reasons import ReadyReason
from rerunnable.core.parameters import check_declarations
from rerunnable.core.schedule import InvalidSpecError, ValidSchedule, validate_schedule
from rerunnable.core.state import RerunnableJobState

__all__ = ["validate"]


def validate(
    rjob: RerunnableJobState, now: datetime, *, reports: bool
) -> ValidSchedule | InvalidSpecError:
    """The schedule to serve, or why there is none (the Ready condition's reason and message).

    `reports`: whether this operator serves the report endpoint that `spec.reporting` needs.
    """
    if rjob.spec is None:
        return InvalidSpecError(
            ReadyReason.INVALID_SPEC, rjob.spec_error or "spec does not validate"
        )
    if rjob.spec.reporting is not None and rjob.spec.reporting.enabled and not reports:
        return InvalidSpecError(
            ReadyReason.REPORTING_UNAVAILABLE,
            "spec.reporting.enabled: this operator serves no report endpoint (it runs without "
            "--report-port and --report-url); no run starts until it does",
        )
    try:
        check_declarations(rjob.spec)
        return validate_schedule(rjob.spec, hash_key=f"{rjob.namespace}/{rjob.name}", now=now)
    except InvalidSpecError as e:
        return e
