"""What the planner knows of the world: read-only views of the three kinds.

Each view is parsed from an object as the API server returns it (a plain
dict), keeping only what decisions need. Parsing never fails on a
RerunnableJob: a spec that does not validate is carried as an error message,
so that the object can be reported as not Ready instead of being skipped.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from rerunnable.api.names import (
    ANNOTATION_ARMED,
    ANNOTATION_BACKFILL,
    ANNOTATION_BACKFILL_PARALLELISM,
    ANNOTATION_BACKFILL_REQUESTED_BY,
    ANNOTATION_BACKFILL_REQUESTED_RANGE,
    ANNOTATION_CANCEL,
    ANNOTATION_CANCELLED_BY,
    ANNOTATION_REQUESTED_BY,
    ANNOTATION_REQUESTED_RUN,
    ANNOTATION_RESUME,
    ANNOTATION_RUN,
)
from rerunnable.api.v1alpha1 import (
    ExecutionSpec,
    ExecutionStatus,
    RerunnableJobSpec,
    RerunnableJobStatus,
    parse_time,
)
from rerunnable.core.parameters import sent_parameters

__all__ = [
    "ExecutionState",
    "JobCondition",
    "JobState",
    "RerunnableJobState",
    "validation_message",
]

Body = Mapping[str, Any]


def _meta(body: Body) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _created(meta: Mapping[str, Any]) -> datetime:
    created = parse_time(meta.get("creationTimestamp"))
    if created is None:
        raise ValueError(f"object {meta.get('name')!r} has no creationTimestamp")
    return created


def _strings(mapping: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in mapping.items() if isinstance(v, str)}


def validation_message(error: ValidationError) -> str:
    """`spec.concurrencyPolicy: Input should be 'Allow', ...` for each problem."""
    parts = []
    for problem in error.errors():
        where = ".".join(str(p) for p in ("spec", *problem["loc"]))
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)


@dataclass(frozen=True)
class RerunnableJobState:
    namespace: str
    name: str
    uid: str
    generation: int
    created: datetime
    run_token: str | None
    # Who asked for `run_token`; None unless the stamp names that very token.
    requested_by: str | None
    # The parameters sent with `run_token` (core.parameters.sent_parameters): None when they
    # were not sent for that very token, and the run takes the defaults.
    sent_parameters: Mapping[str, str] | None
    spec: RerunnableJobSpec | None
    spec_error: str | None
    # rerunnable.dev/resume: a new token clears a suspension by consecutive failures.
    resume_token: str | None
    # rerunnable.dev/backfill (FROM/TO) and its parallelism, as written; who asked for that
    # very range, if stamped.
    backfill: str | None
    backfill_parallelism: str | None
    backfill_requested_by: str | None
    status: RerunnableJobStatus
    resource_version: int = 0

    @classmethod
    def from_body(cls, body: Body) -> "RerunnableJobState":
        meta = _meta(body)
        raw_spec = body.get("spec") or {}
        spec: RerunnableJobSpec | None = None
        spec_error: str | None = None
        try:
            spec = RerunnableJobSpec.model_validate(raw_spec)
        except ValidationError as e:
            spec_error = validation_message(e)
        try:
            status = RerunnableJobStatus.model_validate(body.get("status") or {})
        except ValidationError:
            # A status we cannot read is rebuilt from the world, like any other.
            status = RerunnableJobStatus()
        annotations = meta.get("annotations") or {}
        token = annotations.get(ANNOTATION_RUN)
        token = token if isinstance(token, str) and token else None
        requester = annotations.get(ANNOTATION_REQUESTED_BY)
        stamped = token is not None and annotations.get(ANNOTATION_REQUESTED_RUN) == token
        return cls(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            resource_version=int(meta.get("resourceVersion") or 0),
            generation=int(meta.get("generation", 0)),
            created=_created(meta),
            run_token=token,
            requested_by=requester if stamped and isinstance(requester, str) else None,
            sent_parameters=sent_parameters(_strings(annotations), token),
            spec=spec,
            spec_error=spec_error,
            resume_token=(
                r if isinstance(r := annotations.get(ANNOTATION_RESUME), str) and r else None
            ),
            backfill=b
            if isinstance(b := annotations.get(ANNOTATION_BACKFILL), str) and b
            else None,
            backfill_parallelism=annotations.get(ANNOTATION_BACKFILL_PARALLELISM),
            backfill_requested_by=(
                annotations.get(ANNOTATION_BACKFILL_REQUESTED_BY)
                if annotations.get(ANNOTATION_BACKFILL_REQUESTED_RANGE)
                == annotations.get(ANNOTATION_BACKFILL)
                else None
            ),
            status=status,
        )


@dataclass(frozen=True)
class ExecutionState:
    name: str
    uid: str
    created: datetime
    owner_uid: str | None
    spec: ExecutionSpec
    status: ExecutionStatus
    deleting: bool
    resource_version: int = 0
    # rerunnable.dev/cancel is "true": the run is to end (Cancelled); by whom, if stamped.
    cancel_requested: bool = False
    cancelled_by: str | None = None
    # Made ahead of its slot (rerunnable.dev/armed): no run until its Job exists.
    armed: bool = False

    @classmethod
    def from_body(cls, body: Body) -> "ExecutionState":
        meta = _meta(body)
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
        annotations = meta.get("annotations") or {}
        by = annotations.get(ANNOTATION_CANCELLED_BY)
        return cls(
            name=str(meta["name"]),
            uid=str(meta.get("uid", "")),
            created=_created(meta),
            owner_uid=str(owners[0]["uid"]) if owners else None,
            spec=ExecutionSpec.model_validate(body.get("spec") or {}),
            status=ExecutionStatus.model_validate(body.get("status") or {}),
            deleting=bool(meta.get("deletionTimestamp")),
            resource_version=int(meta.get("resourceVersion") or 0),
            cancel_requested=annotations.get(ANNOTATION_CANCEL) == "true",
            cancelled_by=by if isinstance(by, str) and by else None,
            armed=annotations.get(ANNOTATION_ARMED) == "true",
        )

    @property
    def has_template(self) -> bool:
        return self.spec.job_template is not None


@dataclass(frozen=True)
class JobCondition:
    type: str
    status: str
    reason: str
    message: str
    last_transition_time: datetime | None


@dataclass(frozen=True)
class JobState:
    name: str
    uid: str
    owner_uid: str | None
    start_time: datetime | None
    completion_time: datetime | None
    active: int
    succeeded: int
    failed: int
    completions: int | None
    suspended: bool
    deleting: bool
    conditions: tuple[JobCondition, ...]

    @classmethod
    def from_body(cls, body: Body) -> "JobState":
        meta = _meta(body)
        spec = body.get("spec") or {}
        status = body.get("status") or {}
        owners = [o for o in meta.get("ownerReferences") or [] if o.get("controller")]
        return cls(
            name=str(meta["name"]),
            uid=str(meta.get("uid", "")),
            owner_uid=str(owners[0]["uid"]) if owners else None,
            start_time=parse_time(status.get("startTime")),
            completion_time=parse_time(status.get("completionTime")),
            active=int(status.get("active") or 0),
            succeeded=int(status.get("succeeded") or 0),
            failed=int(status.get("failed") or 0),
            completions=spec.get("completions"),
            suspended=bool(spec.get("suspend")),
            deleting=bool(meta.get("deletionTimestamp")),
            conditions=tuple(
                JobCondition(
                    type=str(c.get("type", "")),
                    status=str(c.get("status", "")),
                    reason=str(c.get("reason") or ""),
                    message=str(c.get("message") or ""),
                    last_transition_time=parse_time(c.get("lastTransitionTime")),
                )
                for c in status.get("conditions") or []
            ),
        )

    def condition(self, type_: str) -> JobCondition | None:
        """The condition of that type if it is True."""
        return next((c for c in self.conditions if c.type == type_ and c.status == "True"), None)
