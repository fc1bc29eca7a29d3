"""The local cluster itself: real control plane, simulated nodes and pods.

These prove the harness that every other e2e test stands on: the simulation
contract of DESIGN.md §4, enforced by the real Job and CronJob controllers.
"""

import json
from datetime import datetime
from typing import Any, TypeVar

from lightkube import Client, codecs
from lightkube.resources.batch_v1 import CronJob, Job
from lightkube.resources.core_v1 import Node, Pod

from tests.e2e.cluster import REPO, Cluster
from tests.e2e.waiting import wait_until


def pinned_kubernetes_version() -> str:
    for line in (REPO / "hack" / "versions.env").read_text().splitlines():
        if line.startswith("K8S_VERSION="):
            return line.split("=", 1)[1]
    raise AssertionError("K8S_VERSION missing from hack/versions.env")


R = TypeVar("R")


def manifest(kind: type[R], data: dict[str, Any]) -> R:
    obj = codecs.from_dict(data)
    assert isinstance(obj, kind), type(obj)
    return obj


def job_manifest(name: str, *, annotations: dict[str, str], backoff_limit: int = 6) -> Job:
    return manifest(
        Job,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "backoffLimit": backoff_limit,
                "template": {
                    "metadata": {"annotations": annotations},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "busybox:1.36"}],
                    },
                },
            },
        },
    )


def finished_condition(kube: Client, name: str, namespace: str) -> Any:
    job = kube.get(Job, name, namespace=namespace)
    for condition in (job.status and job.status.conditions) or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition
    return None


def only_pod(kube: Client, job: str, namespace: str) -> Pod:
    pods = list(kube.list(Pod, namespace=namespace, labels={"job-name": job}))
    assert len(pods) == 1, [p.metadata.name for p in pods if p.metadata]
    return pods[0]


def terminated_state(pod: Pod) -> Any:
    assert pod.status is not None
    assert pod.status.containerStatuses
    state = pod.status.containerStatuses[0].state
    assert state is not None
    assert state.terminated is not None
    return state.terminated


def test_server_reports_pinned_version(cluster: Cluster) -> None:
    out = json.loads(cluster.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["gitVersion"] == pinned_kubernetes_version()
    assert out["clientVersion"]["gitVersion"] == pinned_kubernetes_version()


def test_simulated_nodes_are_ready(kube: Client) -> None:
    def ready_nodes() -> list[str]:
        return [
            n.metadata.name
            for n in kube.list(Node)
            if n.metadata
            and n.metadata.name
            and n.status
            and any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ]

    assert len(wait_until(ready_nodes, timeout=60, what="two Ready nodes")) >= 2


def test_job_with_default_simulation_completes(kube: Client, namespace: str) -> None:
    kube.create(job_manifest("ok", annotations={}), namespace=namespace)

    condition = wait_until(
        lambda: finished_condition(kube, "ok", namespace), timeout=90, what="Job ok to finish"
    )

    assert condition.type == "Complete"
    job = kube.get(Job, "ok", namespace=namespace)
    assert job.status is not None
    assert job.status.succeeded == 1
    pod = only_pod(kube, "ok", namespace)
    assert pod.status is not None
    assert pod.status.phase == "Succeeded"
    assert terminated_state(pod).exitCode == 0


def test_job_whose_pod_exits_non_zero_fails_through_the_job_controller(
    kube: Client, namespace: str
) -> None:
    kube.create(
        job_manifest("boom", annotations={"sim.rerunnable.dev/exit-code": "3"}, backoff_limit=0),
        namespace=namespace,
    )

    condition = wait_until(
        lambda: finished_condition(kube, "boom", namespace), timeout=90, what="Job boom to finish"
    )

    assert condition.type == "Failed"
    assert condition.reason == "BackoffLimitExceeded"
    pod = only_pod(kube, "boom", namespace)
    assert pod.status is not None
    assert pod.status.phase == "Failed"
    terminated = terminated_state(pod)
    assert terminated.exitCode == 3
    assert terminated.reason == "Error"


def test_duration_keeps_the_pod_running_that_long(kube: Client, namespace: str) -> None:
    kube.create(
        job_manifest("slow", annotations={"sim.rerunnable.dev/duration": "4s"}),
        namespace=namespace,
    )

    def running_pod() -> Pod | None:
        pods = list(kube.list(Pod, namespace=namespace, labels={"job-name": "slow"}))
        return next((p for p in pods if p.status and p.status.phase == "Running"), None)

    wait_until(running_pod, timeout=60, what="the pod of Job slow to run")
    job = kube.get(Job, "slow", namespace=namespace)
    assert job.status is not None
    assert job.status.active == 1

    condition = wait_until(
        lambda: finished_condition(kube, "slow", namespace), timeout=90, what="Job slow to finish"
    )
    assert condition.type == "Complete"
    terminated = terminated_state(only_pod(kube, "slow", namespace))
    ran_for = terminated.finishedAt - terminated.startedAt
    # Timestamps have whole seconds, so 4s of running can read as 3s, never less.
    assert ran_for.total_seconds() >= 3, ran_for


def test_cronjob_controller_runs(kube: Client, namespace: str) -> None:
    cronjob = manifest(
        CronJob,
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "tick"},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [{"name": "main", "image": "busybox:1.36"}],
                            }
                        }
                    }
                },
            },
        },
    )
    kube.create(cronjob, namespace=namespace)

    def scheduled_jobs() -> list[Job]:
        return list(kube.list(Job, namespace=namespace))

    jobs = wait_until(scheduled_jobs, timeout=90, what="the CronJob controller to create a Job")

    scheduled = jobs[0].metadata and jobs[0].metadata.annotations
    assert scheduled, "scheduled Job carries no annotations"
    stamp = datetime.fromisoformat(scheduled["batch.kubernetes.io/cronjob-scheduled-timestamp"])
    assert (stamp.second, stamp.microsecond) == (0, 0)

    # The controller creates the Job first and writes lastScheduleTime after it.
    def last_schedule_time() -> datetime | None:
        status = kube.get(CronJob, "tick", namespace=namespace).status
        return status.lastScheduleTime if status else None

    wait_until(last_schedule_time, timeout=30, what="the CronJob's status.lastScheduleTime")
