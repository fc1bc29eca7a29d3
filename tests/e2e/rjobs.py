"""Building, reading and poking RerunnableJobs and Executions in e2e tests."""

import hashlib
from typing import Any

from lightkube import Client
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.models.core_v1 import PodSpec
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Event
from lightkube.types import PatchType

from rerunnable.api.names import (
    EXECUTION_KIND,
    EXECUTION_PLURAL,
    GROUP,
    RERUNNABLE_JOB_KIND,
    RERUNNABLE_JOB_PLURAL,
    VERSION,
)
from tests.e2e.waiting import wait_until

__all__ = [
    "ExecutionResource",
    "RerunnableJobResource",
    "annotate_run",
    "condition",
    "create_rjob",
    "events_for",
    "executions",
    "get_rjob",
    "job_gone_or_going",
    "job_pod",
    "job_template",
    "jobs",
    "manual_name",
    "patch_spec",
    "phases",
    "settled_status",
    "wait_event",
    "wait_phase",
]

TERMINAL = {"Succeeded", "Failed", "Interrupted"}

# The test client's (lightkube's) view of the two kinds.
RerunnableJobResource = create_namespaced_resource(
    GROUP, VERSION, RERUNNABLE_JOB_KIND, RERUNNABLE_JOB_PLURAL
)
ExecutionResource = create_namespaced_resource(GROUP, VERSION, EXECUTION_KIND, EXECUTION_PLURAL)


def manual_name(rjob: str, token: str) -> str:
    """The Execution name of manual run TOKEN, computed independently of the operator."""
    return f"{rjob}-m{hashlib.sha256(token.encode()).hexdigest()[:8]}"


def wait_phase(kube: Client, namespace: str, name: str, phase: str, timeout: float = 60) -> None:
    wait_until(
        lambda: phases(kube, namespace).get(name) == phase,
        timeout=timeout,
        what=f"Execution {name} to be {phase} (phases: {phases(kube, namespace)})",
    )


def job_template(
    *,
    duration: str | None = None,
    exit_code: int | None = None,
    backoff_limit: int = 0,
    termination_message: str | None = None,
) -> dict[str, Any]:
    annotations = {}
    if duration is not None:
        annotations["sim.rerunnable.dev/duration"] = duration
    if exit_code is not None:
        annotations["sim.rerunnable.dev/exit-code"] = str(exit_code)
    if termination_message is not None:
        annotations["sim.rerunnable.dev/termination-message"] = termination_message
    return {
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "main", "image": "busybox:1.36"}],
                },
            },
        }
    }


def rjob_body(
    namespace: str,
    name: str,
    *,
    duration: str | None = None,
    exit_code: int | None = None,
    termination_message: str | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A RerunnableJob manifest with a trivial Job template; `spec` adds or overrides fields."""
    template = job_template(
        duration=duration, exit_code=exit_code, termination_message=termination_message
    )
    return {
        "apiVersion": "rerunnable.dev/v1alpha1",
        "kind": "RerunnableJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"jobTemplate": template, **spec},
    }


def create_rjob(
    kube: Client,
    namespace: str,
    name: str,
    *,
    duration: str | None = None,
    exit_code: int | None = None,
    termination_message: str | None = None,
    **spec: Any,
) -> None:
    body = rjob_body(
        namespace,
        name,
        duration=duration,
        exit_code=exit_code,
        termination_message=termination_message,
        **spec,
    )
    kube.create(RerunnableJobResource.from_dict(body))


def get_rjob(kube: Client, namespace: str, name: str) -> GenericNamespacedResource:
    return kube.get(RerunnableJobResource, name, namespace=namespace)


def patch_spec(kube: Client, namespace: str, name: str, spec: dict[str, Any]) -> None:
    kube.patch(
        RerunnableJobResource,
        name,
        {"spec": spec},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )


def annotate_run(kube: Client, namespace: str, name: str, token: str) -> None:
    """What `kubectl annotate rjob/NAME rerunnable.dev/run=TOKEN --overwrite` does."""
    kube.patch(
        RerunnableJobResource,
        name,
        {"metadata": {"annotations": {"rerunnable.dev/run": token}}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )


def executions(kube: Client, namespace: str) -> dict[str, GenericNamespacedResource]:
    return {e["metadata"]["name"]: e for e in kube.list(ExecutionResource, namespace=namespace)}


def phases(kube: Client, namespace: str) -> dict[str, str | None]:
    return {n: (e.get("status") or {}).get("phase") for n, e in executions(kube, namespace).items()}


def jobs(kube: Client, namespace: str) -> dict[str, Job]:
    return {
        j.metadata.name: j
        for j in kube.list(Job, namespace=namespace)
        if j.metadata and j.metadata.name
    }


def job_pod(kube: Client, namespace: str, name: str) -> PodSpec:
    """The pod template's spec of Job `name`."""
    job = jobs(kube, namespace)[name]
    assert job.spec is not None
    assert job.spec.template.spec is not None
    return job.spec.template.spec


def job_gone_or_going(kube: Client, namespace: str, name: str) -> bool:
    """Job `name` is deleted, or being deleted (its pods are terminated)."""
    job = jobs(kube, namespace).get(name)
    return job is None or job.metadata is None or job.metadata.deletionTimestamp is not None


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            result: dict[str, Any] = c
            return result
    return None


def events_for(kube: Client, namespace: str, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the Events about RerunnableJob `name`."""
    found = []
    for e in kube.list(Event, namespace=namespace):
        involved = e.involvedObject
        if involved.kind == "RerunnableJob" and involved.name == name:
            found.append((e.type or "", e.reason or "", e.message or ""))
    return found


def wait_event(
    kube: Client,
    namespace: str,
    name: str,
    reason: str,
    type_: str | None = None,
    *,
    count: int = 1,
    timeout: float = 30,
) -> list[str]:
    """The messages of the `reason` Events about RerunnableJob `name`, once there are `count`.

    The operator posts Events in the background after it writes status, so a test
    that has just seen a status must wait for its Event rather than list once.
    """

    def messages() -> list[str]:
        return [
            m
            for t, r, m in events_for(kube, namespace, name)
            if r == reason and (type_ is None or t == type_)
        ]

    wait_until(lambda: len(messages()) >= count, timeout=timeout, what=f"{count} {reason} event(s)")
    return messages()


def settled_status(kube: Client, namespace: str, name: str, timeout: float = 30) -> dict[str, Any]:
    """The RerunnableJob's status once it agrees with its Executions and its run token.

    The operator writes an Execution's status before its RerunnableJob's (the
    RerunnableJob's goes last, by design), so a test that has just seen an
    Execution change must wait for the RerunnableJob to catch up.
    """

    def probe() -> dict[str, Any] | None:
        rjob = get_rjob(kube, namespace, name)
        status: dict[str, Any] = rjob.get("status") or {}
        found = {
            n: e
            for n, e in executions(kube, namespace).items()
            if e["spec"]["rerunnableJob"] == name
        }
        mine = {n: (e.get("status") or {}).get("phase") for n, e in found.items()}
        # A run is active until it is over: an ended attempt whose retry waits is too.
        active = sorted(
            n
            for n, phase in mine.items()
            if phase not in TERMINAL
            or (condition(found[n], "Retrying") or {}).get("reason") == "Waiting"
        )
        if sorted(status.get("active") or []) != active:
            return None
        recent = {r["name"]: r["phase"] for r in status.get("recentExecutions") or []}
        if any(n in mine and mine[n] != phase for n, phase in recent.items()):
            return None
        token = (rjob["metadata"].get("annotations") or {}).get("rerunnable.dev/run")
        if token and status.get("lastRunToken") != token:
            return None
        return status

    return wait_until(probe, timeout=timeout, what=f"the status of {name} to settle")
