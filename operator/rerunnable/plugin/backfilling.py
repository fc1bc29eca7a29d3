"""`kubectl rerun backfill`: the request it sends, and what one look at the RerunnableJob says
about its progress (pure)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rerunnable.api.names import ANNOTATION_BACKFILL, ANNOTATION_BACKFILL_PARALLELISM
from rerunnable.api.reasons import BackfillingReason, ConditionType
from rerunnable.api.v1alpha1 import RerunnableJobSpec, RerunnableJobStatus
from rerunnable.core.backfill import (
    BackfillError,
    BackfillRequest,
    backfill_slots,
    parse_request,
    range_text,
)
from rerunnable.core.schedule import InvalidSpecError, validate_schedule
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.output import read_status

__all__ = ["BackfillLook", "backfill_annotations", "check_backfill", "look"]


def check_backfill(
    rjob: Mapping[str, Any], start: str, end: str, parallelism: int, now: datetime
) -> tuple[BackfillRequest, int]:
    """The request and its number of slots; PluginError (nothing changed) for one the operator
    would refuse."""
    meta = rjob.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    try:
        request = parse_request(f"{start}/{end}", str(parallelism))
        spec = RerunnableJobSpec.model_validate(rjob.get("spec") or {})
        schedule = validate_schedule(spec, hash_key=f"{namespace}/{name}", now=now)
        slots = backfill_slots(request, schedule, now)
    except BackfillError as e:
        raise PluginError(f"rerunnablejob/{name}: {e.message}; nothing changed") from None
    except (InvalidSpecError, ValueError) as e:
        raise PluginError(f"rerunnablejob/{name}: {e}; nothing changed") from None
    return request, len(slots)


def backfill_annotations(request: BackfillRequest) -> dict[str, str | None]:
    """The annotations that ask for `request` (parallelism 1 is the default: removed)."""
    parallelism = str(request.parallelism) if request.parallelism != 1 else None
    return {
        ANNOTATION_BACKFILL: range_text(request.start, request.end),
        ANNOTATION_BACKFILL_PARALLELISM: parallelism,
    }


@dataclass(frozen=True)
class BackfillLook:
    """- waiting: the operator has not taken this range yet;
    - running / done / refused: the Backfilling condition's message says how far it got."""

    state: Literal["waiting", "running", "done", "refused"]
    message: str = ""
    failed: int = 0


def look(rjob: Mapping[str, Any], request: BackfillRequest) -> BackfillLook:
    status = read_status(RerunnableJobStatus, rjob, "rerunnablejob")
    condition = next((c for c in status.conditions if c.type == ConditionType.BACKFILLING), None)
    if condition is not None and condition.reason == BackfillingReason.INVALID_BACKFILL:
        annotations = (rjob.get("metadata") or {}).get("annotations") or {}
        if annotations.get(ANNOTATION_BACKFILL) == range_text(request.start, request.end):
            return BackfillLook("refused", condition.message)
    state = status.backfill
    if (
        condition is None
        or state is None
        or (state.start, state.end)
        != (
            request.start,
            request.end,
        )
    ):
        return BackfillLook("waiting")
    if condition.reason == BackfillingReason.COMPLETED:
        return BackfillLook("done", condition.message, state.failed)
    return BackfillLook("running", condition.message, state.failed)
