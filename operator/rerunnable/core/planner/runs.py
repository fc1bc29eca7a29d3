"""A new run: its Execution's spec and manifest, as every step that starts runs makes them."""

from datetime import datetime

from rerunnable.api.v1alpha1 import ExecutionSpec, JobTemplate, Trigger
from rerunnable.core.manifests import execution_manifest
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.parameters import resolve
from rerunnable.core.planner.model import NewExecution
from rerunnable.core.reports import initial_steps
from rerunnable.core.state import RerunnableJobState

__all__ = ["new_execution", "same_run", "scheduled_run"]


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
    armed: bool = False,
    attempt: int = 1,
    retry_of: str | None = None,
    template: tuple[int, JobTemplate] | None = None,
) -> NewExecution:
    """A run to create, with its Execution's spec and manifest.

    A queued run keeps its own copy of the jobTemplate: its Job is made from it
    when it starts, so edits made while it waits do not change it. So does every
    attempt of a job with retries: a retry runs the copy its first attempt made
    (`template`: that copy and the generation it came from). So does a run armed ahead
    of its slot (`armed`): an edit before the slot makes it stale, and it is made again
    (`arming`).
    """
    spec_ = rjob.spec
    retries = spec_ is not None and spec_.retry is not None and spec_.retry.limit > 0
    if template is None and spec_ is not None and (queued or armed or retries):
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
        manifest=execution_manifest(rjob, name, spec, armed=armed),
        queued=queued,
        armed=armed,
        requested_by=requested_by,
        steps=tuple(initial_steps(rjob.spec.steps if rjob.spec else None)),
    )


def scheduled_run(
    rjob: RerunnableJobState, slot: datetime, trigger: Trigger, *, armed: bool = False
) -> NewExecution:
    """The run of a schedule slot: it takes the parameters' defaults (validation made sure
    there are some)."""
    declared = rjob.spec.parameters if rjob.spec is not None else None
    name = scheduled_execution_name(rjob.name, slot)
    return new_execution(
        rjob, name, trigger, slot=slot, parameters=resolve(declared, {}), armed=armed
    )


def same_run(made: ExecutionSpec, wanted: ExecutionSpec) -> bool:
    """Whether an Execution made earlier (`made`) still runs what `wanted` says: the same
    trigger, slot and parameters, from the same generation of the job (an edit of the
    RerunnableJob's spec bumps it, so a copied template is never stale)."""

    def key(s: ExecutionSpec) -> tuple[object, ...]:
        return (s.trigger, s.scheduled_time, s.template_generation, s.parameters or None)

    return key(made) == key(wanted)
