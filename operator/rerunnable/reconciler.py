"""One pass over one RerunnableJob: read the store, plan, apply the plan.

The order of the writes is what makes a crash at any instant harmless:
Executions before their Jobs (every Job has its Execution), Job before the
Execution's `jobName` (a recorded name means the Job existed), and the
RerunnableJob's status last (a slot or token counts as handled only once its
Execution exists; a pass that repeats a create gets AlreadyExistsError).
"""

import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from rerunnable.api.names import (
    EXECUTION_KIND,
    GROUP,
    RERUNNABLE_JOB_KIND,
    VERSION,
)
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionPhase,
    ExecutionStatus,
    JobTemplate,
    Trigger,
    to_wire,
)
from rerunnable.core.execution_status import rejected
from rerunnable.core.jobs import build_job, run_labels
from rerunnable.core.planner import Interrupt, NewExecution, Plan, execution_spec, plan
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from rerunnable.faults import crash_point
from rerunnable.kube import (
    AlreadyExistsError,
    InvalidError,
    Kube,
    KubeError,
    NameConflictError,
    NotFoundError,
    UnavailableError,
)
from rerunnable.metrics import Metrics
from rerunnable.store import Key, Store, Versioned, resource_version
from rerunnable.workqueue import WorkQueue

__all__ = ["Reconciler"]

logger = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
# The API server away (a restart, an outage) is no fault of the object: come back soon after.
UNAVAILABLE_BACKOFF = 10.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    def __init__(
        self,
        store: Store,
        kube: Kube,
        queue: WorkQueue[Key],
        clock: Callable[[], datetime] = _utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics if metrics is not None else Metrics()
        self._store = store
        self._kube = kube
        self._queue = queue
        self._clock = clock
        self._failures: dict[Key, int] = {}

    async def reconcile(self, key: Key) -> None:
        """One pass; on failure the key comes back with exponential backoff."""
        try:
            with self._metrics.reconcile_duration.time():
                await self._reconcile(key)
        except Exception as e:
            self._metrics.reconcile_errors.labels(type(e).__name__).inc()
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            cap = UNAVAILABLE_BACKOFF if isinstance(e, UnavailableError) else MAX_BACKOFF
            delay = min(2.0 ** (failures - 1), cap)
            level = logging.WARNING if isinstance(e, KubeError) else logging.ERROR
            logger.log(
                level,
                "reconcile of %s/%s failed (retry in %.0fs): %s",
                *key,
                delay,
                e,
                exc_info=not isinstance(e, KubeError),
            )
            self._queue.add_after(key, delay)
            if isinstance(e, NameConflictError) and failures == 1:
                await self._report_conflict(key, e)
        else:
            self._failures.pop(key, None)

    async def _report_conflict(self, key: Key, e: NameConflictError) -> None:
        """Say it where the user looks, once per streak of failures (it is retried)."""
        rjob = self._store.rerunnable_job(key)
        if rjob is not None:
            with contextlib.suppress(KubeError):
                await self._event(rjob, "Warning", "NameConflict", f"{e.message}; retrying")

    async def _reconcile(self, key: Key) -> None:
        rjob = self._store.rerunnable_job(key)
        if rjob is None:
            self._queue.forget(key)
            self._metrics.set_active(key, 0)
            return
        now = self._clock()
        executions = {e.name: e for e in self._store.executions(key)}
        result = plan(rjob, executions.values(), self._store.jobs(key), now)
        await self._apply(key, rjob, executions, result)
        self._metrics.set_active(key, result.status.active_count)
        if result.wake_at is not None:
            self._queue.add_after(key, (result.wake_at - self._clock()).total_seconds())

    async def _apply(
        self,
        key: Key,
        rjob: RerunnableJobState,
        executions: Mapping[str, ExecutionState],
        p: Plan,
    ) -> None:
        """Apply `p`, planned from `executions` (the Executions as the pass saw them).

        When other keys wait (many runs due at once), a pass that starts runs
        writes only what users wait for, each run's Execution and Job, and puts
        its key back at the end of the queue: the bookkeeping (the Execution's
        jobName, the RerunnableJob's status) is written by that later pass, which
        plans it again from the store. So every due Job comes before any status.
        """
        namespace = rjob.namespace
        defer = bool(p.creates or p.starts) and self._queue.waiting > 0
        for name, status in p.execution_updates.items():
            await self._patch_execution_status(key, name, status)
            before = executions.get(name)
            if status.phase in TERMINAL_PHASES and (
                before is None or before.status.phase not in TERMINAL_PHASES
            ):
                self._metrics.runs_finished.labels(status.phase.value).inc()
        for interrupt in p.interrupts:
            await self._interrupt(key, interrupt)
            self._metrics.runs_finished.labels(ExecutionPhase.INTERRUPTED.value).inc()
        for new in p.creates:
            await self._create_run(key, rjob, new, defer=defer)
        for name in p.starts:
            execution = executions.get(name)
            if execution is not None:
                await self._start_job(key, rjob, execution, defer=defer)
        for name in p.deletes:
            await self._ignore_missing(self._kube.delete_execution(namespace, name))
            self._store.deleted("execution", key, name)
        if defer:
            self._queue.add(key)
        elif p.status != rjob.status:
            if p.creates:
                crash_point("before-status-written")
            body = await self._kube.patch_rerunnable_job_status(
                namespace, rjob.name, to_wire(p.status)
            )
            self._store.wrote(
                "rjob",
                key,
                Versioned(rjob.name, resource_version(body), RerunnableJobState.from_body(body)),
            )
        for event in p.events:
            await self._event(rjob, event.type, event.reason, event.message)

    async def _event(self, rjob: RerunnableJobState, type_: str, reason: str, message: str) -> None:
        regarding = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": RERUNNABLE_JOB_KIND,
            "namespace": rjob.namespace,
            "name": rjob.name,
            "uid": rjob.uid,
        }
        await self._kube.post_event(regarding, type_, reason, message, self._clock())

    async def _patch_execution_status(self, key: Key, name: str, status: ExecutionStatus) -> None:
        try:
            body = await self._kube.patch_execution_status(key[0], name, to_wire(status))
        except NotFoundError:
            self._store.deleted("execution", key, name)
            return
        self._store.wrote(
            "execution",
            key,
            Versioned(name, resource_version(body), ExecutionState.from_body(body)),
        )

    async def _interrupt(self, key: Key, interrupt: Interrupt) -> None:
        await self._patch_execution_status(key, interrupt.execution, interrupt.status)
        await self._ignore_missing(self._kube.delete_job(key[0], interrupt.execution))

    async def _create_run(
        self, key: Key, rjob: RerunnableJobState, new: NewExecution, *, defer: bool = False
    ) -> None:
        assert rjob.spec is not None
        spec = execution_spec(rjob, new)
        body: dict[str, Any] = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": EXECUTION_KIND,
            "metadata": {
                "name": new.name,
                "namespace": rjob.namespace,
                "labels": run_labels(rjob.name, new.name, new.trigger),
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": RERUNNABLE_JOB_KIND,
                        "name": rjob.name,
                        "uid": rjob.uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": to_wire(spec),
        }
        try:
            created = await self._kube.create_execution(rjob.namespace, body)
        except AlreadyExistsError:
            created = await self._kube.get_execution(rjob.namespace, new.name)
        execution = ExecutionState.from_body(created)
        if execution.owner_uid != rjob.uid:
            raise NameConflictError(
                409,
                "AlreadyExists",
                f"Execution {new.name} exists but belongs to another RerunnableJob "
                f"(owner uid {execution.owner_uid}); it must be deleted first",
            )
        self._store.wrote(
            "execution", key, Versioned(new.name, resource_version(created), execution)
        )
        crash_point("after-execution-created")
        if new.queued:
            # Only a queued run that never had a status gets one; one that another pass
            # (or replica) saw start keeps its own.
            if execution.status.reason is None and not execution.status.job_name:
                status = ExecutionStatus(
                    phase=ExecutionPhase.PENDING,
                    reason="Queued",
                    message="waits for the active run to end (concurrencyPolicy Queue)",
                )
                await self._patch_execution_status(key, new.name, status)
        elif execution.status.phase == ExecutionPhase.PENDING:
            await self._start_job(key, rjob, execution, defer=defer)

    async def _start_job(
        self,
        key: Key,
        rjob: RerunnableJobState,
        execution: ExecutionState,
        *,
        defer: bool = False,
    ) -> None:
        template: JobTemplate | None = execution.spec.job_template or (
            rjob.spec.job_template if rjob.spec else None
        )
        if template is None:
            return
        manifest = build_job(
            template=template,
            namespace=rjob.namespace,
            rerunnable_job=rjob.name,
            execution=execution.name,
            execution_uid=execution.uid,
            trigger=execution.spec.trigger,
            scheduled_time=execution.spec.scheduled_time,
        )
        try:
            job = await self._kube.create_job(rjob.namespace, manifest)
            self._count_start(execution)
        except AlreadyExistsError:
            job = await self._kube.get_job(rjob.namespace, execution.name)
        except InvalidError as e:
            status = rejected(execution.status, message=e.message, now=self._clock())
            await self._patch_execution_status(key, execution.name, status)
            self._metrics.runs_finished.labels(ExecutionPhase.FAILED.value).inc()
            await self._event(
                rjob,
                "Warning",
                "RunFailed",
                f"Job of Execution {execution.name} refused: {e.message}",
            )
            return
        found = JobState.from_body(job)
        if found.owner_uid != execution.uid:
            raise NameConflictError(
                409,
                "AlreadyExists",
                f"Job {execution.name} exists but belongs to another owner "
                f"(uid {found.owner_uid}); it must be deleted first",
            )
        # Seen by the next pass even before the Job watch delivers it: a run whose
        # status names its Job but whose Job is unseen would end Interrupted.
        self._store.wrote("job", key, Versioned(execution.name, resource_version(job), found))
        crash_point("after-job-created")
        if defer:
            return  # the later pass records the Job (follow_job sets jobName)
        status = execution.status.model_copy(
            update={"job_name": execution.name, "reason": None, "message": None}
        )
        await self._patch_execution_status(key, execution.name, status)

    def _count_start(self, execution: ExecutionState) -> None:
        trigger = execution.spec.trigger
        self._metrics.runs_started.labels(trigger.value).inc()
        slot = execution.spec.scheduled_time
        if trigger == Trigger.SCHEDULE and slot is not None:
            self._metrics.schedule_lag.observe((self._clock() - slot).total_seconds())

    @staticmethod
    async def _ignore_missing(call: Any) -> None:
        with contextlib.suppress(NotFoundError):
            await call
