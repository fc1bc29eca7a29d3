"""A new run: its Execution's spec and manifest, as every step that starts runs makes them."""

from datetime import datetime

from rerunnable.api.v1alpha1 import ExecutionSpec, JobTemplate, Trigger
from rerunnable.core.manifests import execution_manifest
from rerunnable.core.planner.model import NewExecution
from rerunnable.core.reports import initial_steps
from rerunnable.core.state import RerunnableJobState

__all__ = ["new_execution"]


def new_execution(
    rjob: RerunnableJobState,
    name: str,
    trigger: Trigger,
    *,
    slot: datetime | None = None,
    token: str | None = None,
    requested_by: str | None = None,
    parameters: dict[str, str] | None = None,
    queued: bool = False,
    attempt: int = 1,
    retry_of: str | None = None,
    template: tuple[int, JobTemplate] | None = None,
) -> NewExecution:
    """A run to create, with its Execution's spec and manifest.

    A queued run keeps its own copy of the jobTemplate: its Job is made from it
    when it starts, so edits made while it waits do not change it. So does every
    attempt of a job with retries: a retry runs the copy its first attempt made
    (`template`: that copy and the generation it came from).
    """
    spec_ = rjob.spec
    retries = spec_ is not None and spec_.retry is not None and spec_.retry.limit > 0
    if template is None and spec_ is not None and (queued or retries):
        template = (rjob.generation, spec_.job_template)
    spec = ExecutionSpec(
        rerunnable_job=rjob.name,
        trigger=trigger,
        scheduled_time=slot,
        token=token,
        requested_by=requested_by,
        template_generation=template[0] if template else rjob.generation,
        parameters=parameters or None,
        attempt=attempt,
        retry_of=retry_of,
        job_template=template[1] if template else None,
    )
    return NewExecution(
        name=name,
        trigger=trigger,
        scheduled_time=slot,
        token=token,
        spec=spec,
        manifest=execution_manifest(rjob, name, spec),
        queued=queued,
        requested_by=requested_by,
        steps=tuple(initial_steps(rjob.spec.steps if rjob.spec else None)),
    )
