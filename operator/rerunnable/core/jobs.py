"""The Job of a run: the RerunnableJob's jobTemplate, copied, named and labelled.

A Job is never patched after creation; what it runs is fixed here, at the
moment the run starts.
"""

import copy
from datetime import datetime
from typing import Any

from rerunnable.api.names import (
    ANNOTATION_SCHEDULED_TIME,
    EXECUTION_KIND,
    GROUP,
    LABEL_EXECUTION,
    LABEL_RERUNNABLE_JOB,
    LABEL_TRIGGER,
    VERSION,
)
from rerunnable.api.v1alpha1 import JobTemplate, Trigger, rfc3339

__all__ = ["build_job", "run_labels"]


def run_labels(rerunnable_job: str, execution: str, trigger: Trigger) -> dict[str, str]:
    """The labels every Execution and Job of a run carries."""
    return {
        LABEL_RERUNNABLE_JOB: rerunnable_job,
        LABEL_EXECUTION: execution,
        LABEL_TRIGGER: trigger.value,
    }


def build_job(
    *,
    template: JobTemplate,
    namespace: str,
    rerunnable_job: str,
    execution: str,
    execution_uid: str,
    trigger: Trigger,
    scheduled_time: datetime | None,
) -> dict[str, Any]:
    """The batch/v1 Job manifest of one run, owned by its Execution."""
    labels = {**((template.metadata and template.metadata.labels) or {})}
    labels.update(run_labels(rerunnable_job, execution, trigger))
    annotations = {**((template.metadata and template.metadata.annotations) or {})}
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

    metadata: dict[str, Any] = {
        "name": execution,
        "namespace": namespace,
        "labels": labels,
        "ownerReferences": [
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": EXECUTION_KIND,
                "name": execution,
                "uid": execution_uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}
