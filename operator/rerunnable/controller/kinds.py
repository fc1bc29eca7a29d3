"""The three kinds the operator watches, and how each is filed under its RerunnableJob."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from rerunnable.api.names import LABEL_EXECUTION, LABEL_RERUNNABLE_JOB
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
    RerunnableJob they are filed (`key_of`), and as what state (`state_of`)."""

    resource: Resource
    selector: str | None
    key_of: Callable[[Body], Key]
    state_of: Callable[[Body], Any]


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


FILING: Mapping[Kind, Filing] = {
    Kind.RERUNNABLE_JOB: Filing(RERUNNABLE_JOBS, None, _own_key, RerunnableJobState.from_body),
    Kind.EXECUTION: Filing(EXECUTIONS, None, _execution_key, ExecutionState.from_body),
    Kind.JOB: Filing(JOBS, JOB_SELECTOR, _job_key, JobState.from_body),
}
