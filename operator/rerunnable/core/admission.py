"""What the admission webhooks decide, as pure functions of the request.

The validating webhook refuses at `kubectl apply` what the CRD schema cannot
check (a cron expression, a time zone, a schedule that never fires, an RE2
pattern) with the same field-naming message the operator would put in the Ready
condition, and at `kubectl annotate` a run whose parameters the operator would
refuse. The mutating webhooks stamp who asked for a run (and for which token),
and who cancelled one.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from rerunnable.api.names import (
    ANNOTATION_CANCEL,
    ANNOTATION_CANCELLED_BY,
    ANNOTATION_REQUESTED_BY,
    ANNOTATION_REQUESTED_RUN,
    ANNOTATION_RUN,
)
from rerunnable.api.reasons import ReadyReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec
from rerunnable.core.parameters import check_declarations, resolve, sent_parameters
from rerunnable.core.schedule import InvalidSpecError, validate_schedule
from rerunnable.core.state import validation_message

__all__ = ["canceller_stamp", "check_run", "check_spec", "requester_stamp"]


def check_spec(
    raw_spec: Mapping[str, Any], *, namespace: str, name: str, now: datetime
) -> RerunnableJobSpec:
    """The spec, read; raise InvalidSpecError, naming the field, for one the operator could
    not serve."""
    try:
        spec = RerunnableJobSpec.model_validate(raw_spec)
    except ValidationError as e:
        raise InvalidSpecError(ReadyReason.INVALID_SPEC, validation_message(e)) from e
    check_declarations(spec)
    validate_schedule(spec, hash_key=f"{namespace}/{name}", now=now)
    return spec


def check_run(
    spec: RerunnableJobSpec, old: Mapping[str, str] | None, new: Mapping[str, str]
) -> None:
    """Raise ParameterError, naming each parameter, when the request asks for a run (a new
    run token) that the operator would skip for its parameters."""
    token = new.get(ANNOTATION_RUN)
    if not token or (old is not None and old.get(ANNOTATION_RUN) == token):
        return
    resolve(spec.parameters, sent_parameters(new, token) or {})


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


def canceller_stamp(
    old: Mapping[str, str] | None, new: Mapping[str, str], username: str
) -> dict[str, str]:
    """The annotation recording who cancelled a run: set only by the request that asks for
    it (a second cancel changes nothing)."""
    asked = new.get(ANNOTATION_CANCEL) == "true"
    if not asked or (old is not None and old.get(ANNOTATION_CANCEL) == "true"):
        return {}
    return {ANNOTATION_CANCELLED_BY: username}
