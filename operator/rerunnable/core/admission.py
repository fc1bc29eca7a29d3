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
    ANNOTATION_BACKFILL,
    ANNOTATION_BACKFILL_PARALLELISM,
    ANNOTATION_BACKFILL_REQUESTED_BY,
    ANNOTATION_BACKFILL_REQUESTED_RANGE,
    ANNOTATION_CANCEL,
    ANNOTATION_CANCELLED_BY,
    ANNOTATION_REQUESTED_BY,
    ANNOTATION_REQUESTED_RUN,
    ANNOTATION_RUN,
)
from rerunnable.api.reasons import ReadyReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec
from rerunnable.core.backfill import backfill_slots, parse_request
from rerunnable.core.parameters import check_declarations, resolve, sent_parameters
from rerunnable.core.schedule import InvalidSpecError, validate_schedule
from rerunnable.core.state import validation_message

__all__ = ["canceller_stamp", "check_backfill", "check_run", "check_spec", "requester_stamp"]


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


def check_backfill(
    spec: RerunnableJobSpec,
    old: Mapping[str, str] | None,
    new: Mapping[str, str],
    *,
    namespace: str,
    name: str,
    now: datetime,
) -> None:
    """Raise BackfillError, naming the annotation, when the request asks for a backfill (a new
    range or parallelism) that the operator would refuse."""
    keys = (ANNOTATION_BACKFILL, ANNOTATION_BACKFILL_PARALLELISM)
    value = new.get(ANNOTATION_BACKFILL)
    if not value or (old is not None and all(old.get(k) == new.get(k) for k in keys)):
        return
    request = parse_request(value, new.get(ANNOTATION_BACKFILL_PARALLELISM))
    schedule = validate_schedule(spec, hash_key=f"{namespace}/{name}", now=now)
    backfill_slots(request, schedule, now)


def requester_stamp(
    old: Mapping[str, str] | None, new: Mapping[str, str], username: str
) -> dict[str, str]:
    """The annotations recording who asked for a run, or a backfill: set only when the run
    token, or the backfill's range, is new.

    The token goes with the user, so that a stamp left from an earlier run (the
    webhook was down for this one) is never read as this run's.
    """
    stamp: dict[str, str] = {}
    token = new.get(ANNOTATION_RUN)
    if token and (old is None or old.get(ANNOTATION_RUN) != token):
        stamp.update({ANNOTATION_REQUESTED_BY: username, ANNOTATION_REQUESTED_RUN: token})
    span = new.get(ANNOTATION_BACKFILL)
    if span and (old is None or old.get(ANNOTATION_BACKFILL) != span):
        stamp.update(
            {ANNOTATION_BACKFILL_REQUESTED_BY: username, ANNOTATION_BACKFILL_REQUESTED_RANGE: span}
        )
    return stamp


def canceller_stamp(
    old: Mapping[str, str] | None, new: Mapping[str, str], username: str
) -> dict[str, str]:
    """The annotation recording who cancelled a run: set only by the request that asks for
    it (a second cancel changes nothing)."""
    asked = new.get(ANNOTATION_CANCEL) == "true"
    if not asked or (old is not None and old.get(ANNOTATION_CANCEL) == "true"):
        return {}
    return {ANNOTATION_CANCELLED_BY: username}
