"""Planner inputs from small dicts, parsed by the real `from_body` parsers.

Each builder writes the object as the API server would return it (camelCase
keys, RFC 3339 times, ownerReferences, deletionTimestamp) and parses it with
`RerunnableJobState.from_body`, `ExecutionState.from_body` or `JobState.from_body`,
so that every planner test exercises the parsing too. Times may be given as
aware datetimes anywhere (also inside `status` dicts); they are written as the
API server writes them.

Nothing here reads the clock: NOW is the fixed instant the tests plan at.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rerunnable.api.names import (
    ANNOTATION_RUN,
    EXECUTION_KIND,
    GROUP,
    LABEL_EXECUTION,
    LABEL_RERUNNABLE_JOB,
    LABEL_TRIGGER,
    RERUNNABLE_JOB_KIND,
    VERSION,
)
from rerunnable.api.v1alpha1 import rfc3339
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState

__all__ = [
    "NAMESPACE",
    "NOW",
    "RJOB",
    "RJOB_UID",
    "TEMPLATE",
    "at",
    "execution",
    "job",
    "jobs",
    "rjob",
    "wire",
]

# A Sunday; in November Europe/Berlin is on CET (+01:00).
NOW = datetime(2026, 11, 22, 10, 17, 30, tzinfo=UTC)
NAMESPACE = "default"
RJOB = "backup"
RJOB_UID = "uid-backup"

TEMPLATE: Mapping[str, Any] = {
    "metadata": {"labels": {"team": "storage"}},
    "spec": {
        "backoffLimit": 2,
        "template": {
            "metadata": {"labels": {"app": "backup"}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "busybox", "command": ["true"]}],
            },
        },
    },
}

_UNSET: Any = object()


def at(moment: str, day: int = 22) -> datetime:
    """`at("10:17")` is 2026-11-<day>T10:17:00Z; a full RFC 3339 string is parsed as is."""
    if "T" in moment:
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise ValueError(f"{moment!r} has no offset")
        return parsed
    hours, _, rest = moment.partition(":")
    minutes, _, seconds = rest.partition(":")
    return datetime(2026, 11, day, int(hours), int(minutes), int(seconds or 0), tzinfo=UTC)


def wire(value: Any) -> Any:
    """`value` as JSON from the API server: datetimes become RFC 3339 strings."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Mapping):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


def _drop_unset(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not _UNSET}


def rjob(
    *,
    name: str = RJOB,
    uid: str = RJOB_UID,
    schedule: str | None = None,
    schedules: Sequence[str] | None = None,
    time_zone: str | None = None,
    policy: str | None = None,
    missed: str | None = None,
    deadline: int | None = None,
    suspend: bool | None = None,
    suspend_until: datetime | None = None,
    successful_limit: int | None = None,
    failed_limit: int | None = None,
    status: Mapping[str, Any] | None = None,
    token: str | None = None,
    annotations: Mapping[str, str] | None = None,
    created: datetime = _UNSET,
    generation: int = 1,
    extra: Mapping[str, Any] | None = None,
) -> RerunnableJobState:
    """A RerunnableJob; unset spec fields are left out, as a user would leave them out.

    `extra` adds or overrides raw spec fields (camelCase), e.g. an invalid value.
    """
    spec: dict[str, Any] = {
        key: value
        for key, value in {
            "schedule": schedule,
            "schedules": list(schedules) if schedules is not None else None,
            "timeZone": time_zone,
            "concurrencyPolicy": policy,
            "missedRunPolicy": missed,
            "startingDeadlineSeconds": deadline,
            "suspend": suspend,
            "suspendUntil": suspend_until,
            "successfulJobsHistoryLimit": successful_limit,
            "failedJobsHistoryLimit": failed_limit,
        }.items()
        if value is not None
    }
    spec["jobTemplate"] = TEMPLATE
    spec.update(extra or {})
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": uid,
        "generation": generation,
        "creationTimestamp": at("2026-11-01T00:00:00Z") if created is _UNSET else created,
    }
    metadata["annotations"] = dict(annotations or {})
    if token is not None:
        metadata["annotations"][ANNOTATION_RUN] = token
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": RERUNNABLE_JOB_KIND,
        "metadata": metadata,
        "spec": spec,
        "status": dict(status or {}),
    }
    return RerunnableJobState.from_body(wire(body))


def execution(
    name: str,
    *,
    phase: str | None = None,
    trigger: str = "Schedule",
    created: datetime = _UNSET,
    job_name: str | None = None,
    scheduled_time: datetime | None = None,
    token: str | None = None,
    start_time: datetime | None = None,
    completion_time: datetime | None = None,
    reason: str | None = None,
    message: str | None = None,
    progress: Mapping[str, int] | None = None,
    queued: bool = False,
    owner_uid: str | None = RJOB_UID,
    deleting: bool = False,
    rerunnable_job: str = RJOB,
    generation: int = 1,
    status_extra: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    attempt: int | None = None,
    retry_of: str | None = None,
    template: bool = False,
) -> ExecutionState:
    """An Execution of `rerunnable_job`, owned (as controller) by `owner_uid`.

    `queued` sets spec.jobTemplate, as the shell does for a run that waits its turn.
    `parameters` is spec.parameters; `annotations` its metadata's (e.g. rerunnable.dev/cancel).
    `attempt` and `retry_of` are an attempt's (spec.retry); `template` sets spec.jobTemplate, as
    on every attempt of a job with retries.
    `created` defaults to an hour before NOW.
    """
    spec: dict[str, Any] = {
        "rerunnableJob": rerunnable_job,
        "trigger": trigger,
        "scheduledTime": scheduled_time,
        "token": token,
        "templateGeneration": generation,
        "parameters": dict(parameters) if parameters is not None else None,
        "attempt": attempt,
        "retryOf": retry_of,
    }
    if queued or template:
        spec["jobTemplate"] = TEMPLATE
    status = {
        key: value
        for key, value in {
            "phase": phase,
            "jobName": job_name,
            "startTime": start_time,
            "completionTime": completion_time,
            "reason": reason,
            "message": message,
            "progress": progress,
        }.items()
        if value is not None
    }
    status.update(status_extra or {})
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": f"uid-{name}",
        "creationTimestamp": at("09:17:30") if created is _UNSET else created,
        "labels": {
            LABEL_RERUNNABLE_JOB: rerunnable_job,
            LABEL_EXECUTION: name,
            LABEL_TRIGGER: trigger,
        },
    }
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    if owner_uid is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": RERUNNABLE_JOB_KIND,
                "name": rerunnable_job,
                "uid": owner_uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if deleting:
        metadata["deletionTimestamp"] = NOW
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": EXECUTION_KIND,
        "metadata": metadata,
        "spec": {k: v for k, v in spec.items() if v is not None},
        "status": status,
    }
    return ExecutionState.from_body(wire(body))


def job(
    name: str,
    *,
    complete: bool = False,
    failed: str | None = None,
    active: int | None = None,
    succeeded: int | None = None,
    failed_pods: int | None = None,
    completions: int | None = None,
    start_time: datetime | None = None,
    completion_time: datetime | None = None,
    finished_at: datetime | None = None,
    suspended: bool = False,
    deleting: bool = False,
    conditions: Sequence[Mapping[str, Any]] = (),
    no_status: bool = False,
) -> JobState:
    """A batch/v1 Job named like its Execution, owned by it.

    `complete` adds a Complete=True condition (with completionTime `finished_at`);
    `failed` a Failed=True condition with that reason (lastTransitionTime `finished_at`).
    `no_status` leaves out the status entirely, as just after creation.
    """
    all_conditions = [dict(c) for c in conditions]
    if complete:
        all_conditions.append(
            {
                "type": "Complete",
                "status": "True",
                "reason": "CompletionsReached",
                "message": "Reached expected number of succeeded pods",
                "lastTransitionTime": finished_at,
            }
        )
        if completion_time is None:
            completion_time = finished_at
    if failed is not None:
        all_conditions.append(
            {
                "type": "Failed",
                "status": "True",
                "reason": failed,
                "message": f"Job has reached the specified {failed}",
                "lastTransitionTime": finished_at,
            }
        )
    status = {
        key: value
        for key, value in {
            "startTime": start_time,
            "completionTime": completion_time,
            "active": active,
            "succeeded": succeeded,
            "failed": failed_pods,
            "conditions": all_conditions or None,
        }.items()
        if value is not None
    }
    spec: dict[str, Any] = {"template": TEMPLATE["spec"]["template"]}
    if completions is not None:
        spec["completions"] = completions
    if suspended:
        spec["suspend"] = True
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": f"uid-job-{name}",
        "creationTimestamp": at("09:17:31"),
        "ownerReferences": [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": EXECUTION_KIND,
                "name": name,
                "uid": f"uid-{name}",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if deleting:
        metadata["deletionTimestamp"] = NOW
    body: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata,
        "spec": spec,
    }
    if not no_status:
        body["status"] = status
    return JobState.from_body(wire(body))


def jobs(*states: JobState) -> dict[str, JobState]:
    """Jobs by name, as the planner takes them."""
    return {state.name: state for state in states}
