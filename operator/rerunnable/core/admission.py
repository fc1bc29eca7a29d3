"""What the admission webhooks decide, as pure functions of the request.

The validating webhook refuses at `kubectl apply` what the CRD schema cannot
check (a cron expression, a time zone, a schedule that never fires) with the
same field-naming message the operator would put in the Ready condition. The
mutating webhook stamps who asked for a run, and for which token.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from rerunnable.api.names import ANNOTATION_REQUESTED_BY, ANNOTATION_REQUESTED_RUN, ANNOTATION_RUN
from rerunnable.api.reasons import ReadyReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec
from rerunnable.core.schedule import InvalidSpecError, validate_schedule
from rerunnable.core.state import validation_message

__all__ = ["check_spec", "requester_stamp"]


def check_spec(raw_spec: Mapping[str, Any], *, namespace: str, name: str, now: datetime) -> None:
    """Raise InvalidSpecError, naming the field, for a spec the operator could not serve."""
    try:
        spec = RerunnableJobSpec.model_validate(raw_spec)
    except ValidationError as e:
        raise InvalidSpecError(ReadyReason.INVALID_SPEC, validation_message(e)) from e
    validate_schedule(spec, hash_key=f"{namespace}/{name}", now=now)


def requester_stamp(
    old: Mapping[str, str] | None, new: Mapping[str, str], username: str
) -> dict[str, str]:
    """The annotations recording who asked for a run: set only when the run token is new.

    The token goes with the user, so that a stamp left from an earlier run (the
    webhook was down for this one) is never read as this run's.
    """
    token = new.get(ANNOTATION_RUN)
    if not token or (old is not None and old.get(ANNOTATION_RUN) == token):
        return {}
    return {ANNOTATION_REQUESTED_BY: username, ANNOTATION_REQUESTED_RUN: token}
