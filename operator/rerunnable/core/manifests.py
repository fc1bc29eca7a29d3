"""The objects a run is made of: its Execution and its Job, named, labelled and owned.

A Job is never patched after creation; what it runs is fixed here, at the
moment the run starts, from the template the run copied.
"""

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rerunnable.api.names import (
    ANNOTATION_ARMED,
    ANNOTATION_ATTEMPT,
    ANNOTATION_SCHEDULED_TIME,
    EXECUTION_KIND,
    GROUP,
    LABEL_EXECUTION,
    LABEL_RERUNNABLE_JOB,
    LABEL_TRIGGER,
    RERUNNABLE_JOB_KIND,
    VERSION,
)
from rerunnable.api.v1alpha1 import ExecutionSpec, JobTemplate, Trigger, rfc3339, to_wire
from rerunnable.core.state import ExecutionState, RerunnableJobState

__all__ = [
    "REPORT_AUDIENCE",
    "ReportEndpoint",
    "build_job",
    "controller_ref",
    "execution_manifest",
    "object_ref",
    "ownership_conflict",
    "run_job",
    "run_labels",
    "with_parameters",
    "with_report_channel",
]

API_VERSION = f"{GROUP}/{VERSION}"


def run_labels(rerunnable_job: str, execution: str, trigger: Trigger) -> dict[str, str]:
    """The labels every Execution and Job of a run carries."""
    return {
        LABEL_RERUNNABLE_JOB: rerunnable_job,
        LABEL_EXECUTION: execution,
        LABEL_TRIGGER: trigger.value,
    }


def controller_ref(kind: str, name: str, uid: str) -> dict[str, Any]:
    """An ownerReference to a rerunnable.dev object that controls the owned one: deleting the
    owner deletes it (the garbage collector), and the owner waits for it to go."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def object_ref(rjob: RerunnableJobState) -> dict[str, str]:
    """The RerunnableJob as an Event's involvedObject."""
    return {
        "apiVersion": API_VERSION,
        "kind": RERUNNABLE_JOB_KIND,
        "namespace": rjob.namespace,
        "name": rjob.name,
        "uid": rjob.uid,
    }


def execution_manifest(
    rjob: RerunnableJobState, name: str, spec: ExecutionSpec, *, armed: bool = False
) -> dict[str, Any]:
    """The Execution of one run, owned by its RerunnableJob; `armed`: made ahead of its slot."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": rjob.namespace,
        "labels": run_labels(rjob.name, name, spec.trigger),
        "ownerReferences": [controller_ref(RERUNNABLE_JOB_KIND, rjob.name, rjob.uid)],
    }
    if armed:
        metadata["annotations"] = {ANNOTATION_ARMED: "true"}
    return {
        "apiVersion": API_VERSION,
        "kind": EXECUTION_KIND,
        "metadata": metadata,
        "spec": to_wire(spec),
    }


@dataclass(frozen=True)
class ReportEndpoint:
    """Where a run's workload reports: the operator's `--report-url`, and the PEM of the CA
    that signed the report server's certificate."""

    base_url: str
    ca_pem: str

    def url(self, namespace: str, execution: str) -> str:
        base = self.base_url.rstrip("/")
        return f"{base}/v1/namespaces/{namespace}/executions/{execution}/report"


# Where the pod-bound token for reports is mounted in every container of a reporting run.
REPORT_TOKEN_DIR = "/var/run/secrets/rerunnable.dev/report"
REPORT_TOKEN_VOLUME = "rerunnable-report-token"
REPORT_AUDIENCE = "rerunnable.dev"
REPORT_TOKEN_SECONDS = 3600


def run_job(
    rjob: RerunnableJobState, execution: ExecutionState, reports: ReportEndpoint | None = None
) -> dict[str, Any] | None:
    """The Job of `execution`: from the template it copied when queued, else the job's current
    one (it starts now). None if there is no template to make it from. A job with
    `reporting.enabled` gets the report channel in its pods (`with_report_channel`)."""
    template = execution.spec.job_template or (rjob.spec.job_template if rjob.spec else None)
    if template is None:
        return None
    job = build_job(
        template=template,
        namespace=rjob.namespace,
        rerunnable_job=rjob.name,
        execution=execution.name,
        execution_uid=execution.uid,
        trigger=execution.spec.trigger,
        scheduled_time=execution.spec.scheduled_time,
        attempt=execution.spec.attempt or 1,
    )
    if execution.spec.parameters:
        with_parameters(job, execution.spec.parameters)
    reporting = rjob.spec.reporting if rjob.spec else None
    if reports is not None and reporting is not None and reporting.enabled:
        with_report_channel(job, reports.url(rjob.namespace, execution.name), reports.ca_pem)
    return job


def with_parameters(job: dict[str, Any], parameters: Mapping[str, str]) -> None:
    """Give every container and init container of `job` each parameter as an environment
    variable of the same name: a template's own entry of that name is replaced where it
    stands (never a second entry); the others come first, so that the template's own
    variables and args can refer to them as $(NAME). Values are escaped ($ as $$) so that
    the container gets each exactly as sent: Kubernetes expands $(NAME) inside env values
    too."""
    pod = job["spec"]["template"].setdefault("spec", {})
    for key in ("initContainers", "containers"):
        for container in pod.get(key) or []:
            env: list[dict[str, Any]] = []
            placed: set[str] = set()
            for entry in container.get("env") or []:
                name = entry.get("name")
                if name not in parameters:
                    env.append(entry)
                elif name not in placed:
                    env.append({"name": name, "value": _literal(parameters[name])})
                    placed.add(name)
            first = [
                {"name": n, "value": _literal(v)} for n, v in parameters.items() if n not in placed
            ]
            container["env"] = [*first, *env]


def _literal(value: str) -> str:
    """`value` as an env value that Kubernetes' $(VAR) expansion leaves as it is."""
    return value.replace("$", "$$")


def with_report_channel(job: dict[str, Any], url: str, ca_pem: str) -> None:
    """Give every container and init container of `job` what it needs to report: the URL, the
    Execution's name, the CA, and a pod-bound token (audience rerunnable.dev, an hour, renewed
    by the kubelet) mounted read-only. Nothing else in the pod template changes."""
    pod = job["spec"]["template"].setdefault("spec", {})
    execution = job["metadata"]["name"]
    env = [
        {"name": "RERUNNABLE_REPORT_URL", "value": url},
        {"name": "RERUNNABLE_EXECUTION", "value": execution},
        {"name": "RERUNNABLE_REPORT_CA", "value": ca_pem},
        {"name": "RERUNNABLE_REPORT_TOKEN_FILE", "value": f"{REPORT_TOKEN_DIR}/token"},
    ]
    mount = {"name": REPORT_TOKEN_VOLUME, "mountPath": REPORT_TOKEN_DIR, "readOnly": True}
    for key in ("initContainers", "containers"):
        for container in pod.get(key) or []:
            names = {e["name"] for e in env}
            container["env"] = [
                *(e for e in container.get("env") or [] if e.get("name") not in names),
                *env,
            ]
            container["volumeMounts"] = [*(container.get("volumeMounts") or []), mount]
    token = {
        "serviceAccountToken": {
            "audience": REPORT_AUDIENCE,
            "expirationSeconds": REPORT_TOKEN_SECONDS,
            "path": "token",
        }
    }
    pod["volumes"] = [
        *(pod.get("volumes") or []),
        {"name": REPORT_TOKEN_VOLUME, "projected": {"sources": [token]}},
    ]


def build_job(
    *,
    template: JobTemplate,
    namespace: str,
    rerunnable_job: str,
    execution: str,
    execution_uid: str,
    trigger: Trigger,
    scheduled_time: Any,
    attempt: int = 1,
) -> dict[str, Any]:
    """The batch/v1 Job manifest of one run, owned by its Execution.

    The Job and its pods carry the attempt's number (rerunnable.dev/attempt): a workload
    can read it through the downward API, e.g. to resume rather than start over."""
    labels = {**((template.metadata and template.metadata.labels) or {})}
    labels.update(run_labels(rerunnable_job, execution, trigger))
    annotations: dict[str, str] = {**((template.metadata and template.metadata.annotations) or {})}
    if scheduled_time is not None:
        annotations[ANNOTATION_SCHEDULED_TIME] = rfc3339(scheduled_time)

    spec = copy.deepcopy(template.spec)
    # The run's labels on its pods too, so `kubectl logs -l rerunnable.dev/execution=...` works.
    pod_template = spec.setdefault("template", {})
    pod_metadata = pod_template.setdefault("metadata", {})
    pod_metadata["labels"] = {
        **(pod_metadata.get("labels") or {}),
        **run_labels(rerunnable_job, execution, trigger),
    }
    annotations[ANNOTATION_ATTEMPT] = str(attempt)
    pod_metadata["annotations"] = {
        **(pod_metadata.get("annotations") or {}),
        ANNOTATION_ATTEMPT: str(attempt),
    }
    metadata: dict[str, Any] = {
        "name": execution,
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [controller_ref(EXECUTION_KIND, execution, execution_uid)],
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def ownership_conflict(kind: str, name: str, owner: str | None, expected: str) -> str | None:
    """None if the object found under a run's deterministic name is owned by `expected` (an
    earlier pass, or another replica, made it: the create is done); else why the name
    cannot be used."""
    if owner == expected:
        return None
    return (
        f"{kind} {name} exists but belongs to another owner (uid {owner}); it must be deleted first"
    )
