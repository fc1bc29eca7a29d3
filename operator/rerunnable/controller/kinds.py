"""The three kinds the operator watches, how each is filed under its RerunnableJob, and what
its index keeps of each object."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from rerunnable.api.names import GROUP, LABEL_EXECUTION, LABEL_RERUNNABLE_JOB
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from rerunnable.kube.resources import EXECUTIONS, JOBS, RERUNNABLE_JOBS, Resource

__all__ = [
    "FILING",
    "JOB_LABEL_KEYS",
    "JOB_SELECTOR",
    "Filing",
    "Key",
    "Kind",
    "Versioned",
    "resource_version",
]

T = TypeVar("T")

Body = Mapping[str, Any]
Key = tuple[str, str]  # (namespace, RerunnableJob name): what the work queue holds

# The Jobs watched and listed: those of Executions, carrying both labels.
JOB_LABEL_KEYS = (LABEL_EXECUTION, LABEL_RERUNNABLE_JOB)
JOB_SELECTOR = ",".join(JOB_LABEL_KEYS)


class Kind(StrEnum):
    RERUNNABLE_JOB = "rerunnablejob"
    EXECUTION = "execution"
    JOB = "job"


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """An object's state as of one resourceVersion."""

    name: str
    resource_version: int
    obj: T


def resource_version(body: Body) -> int:
    """resourceVersion as a number: etcd revisions, which only grow."""
    value = (body.get("metadata") or {}).get("resourceVersion") or 0
    return int(value)


@dataclass(frozen=True)
class Filing:
    """Where objects of one kind come from (resource, label selector), under which
    RerunnableJob they are filed (`key_of`), what the index keeps of each (`keep`), and the
    state a pass reads, from what was kept (`state_of`)."""

    resource: Resource
    selector: str | None
    key_of: Callable[[Body], Key]
    keep: Callable[[Body], Any]
    state_of: Callable[[Any], Any] | None  # None: what is kept is the state


def _meta(body: Body) -> Mapping[str, Any]:
    meta: Mapping[str, Any] = body.get("metadata") or {}
    return meta


def _own_key(body: Body) -> Key:
    return str(_meta(body).get("namespace", "")), str(_meta(body).get("name", ""))


def _execution_key(body: Body) -> Key:
    spec = body.get("spec") or {}
    return str(_meta(body).get("namespace", "")), str(spec.get("rerunnableJob", ""))


def _job_key(body: Body) -> Key:
    labels = _meta(body).get("labels") or {}
    return str(_meta(body).get("namespace", "")), str(labels.get(LABEL_RERUNNABLE_JOB, ""))


# What `RerunnableJobState.from_body` reads of the metadata, besides the annotations.
_RERUNNABLE_JOB_METADATA = (
    "namespace",
    "name",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
)


def _ours(annotation: str) -> bool:
    """rerunnable.dev/... and parameters.rerunnable.dev/...: every annotation the operator
    reads. Others can be large (kubectl's last-applied-configuration copies the object)."""
    return annotation.partition("/")[0].endswith(GROUP)


def _pack_rerunnable_job(body: Body) -> bytes:
    """A RerunnableJob as its index keeps it: what `RerunnableJobState.from_body` reads, as
    compact JSON. A job is idle nearly all the time, so its state is parsed when a pass
    reads it, not kept parsed: 0.7 KiB a job instead of 7.9 (docs/design.md, "The store")."""
    meta = _meta(body)
    annotations: Mapping[str, Any] = meta.get("annotations") or {}
    kept = {
        "metadata": {k: meta[k] for k in _RERUNNABLE_JOB_METADATA if k in meta}
        | {"annotations": {k: v for k, v in annotations.items() if _ours(k)}},
        "spec": body.get("spec"),
        "status": body.get("status"),
    }
    return json.dumps(kept, separators=(",", ":"), default=dict).encode()


def _unpack_rerunnable_job(packed: bytes) -> RerunnableJobState:
    return RerunnableJobState.from_body(json.loads(packed))


FILING: Mapping[Kind, Filing] = {
    Kind.RERUNNABLE_JOB: Filing(
        RERUNNABLE_JOBS, None, _own_key, _pack_rerunnable_job, _unpack_rerunnable_job
    ),
    Kind.EXECUTION: Filing(EXECUTIONS, None, _execution_key, ExecutionState.from_body, None),
    Kind.JOB: Filing(JOBS, JOB_SELECTOR, _job_key, JobState.from_body, None),
}
