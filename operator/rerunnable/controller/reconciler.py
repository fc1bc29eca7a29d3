"""One pass over one RerunnableJob: read the store, plan, apply the plan.

Every decision is the planner's (rerunnable.core.planner); this module writes
what the plan says, in an order that makes a crash at any instant harmless:
Executions before their Jobs (every Job has its Execution), a Job before its
Execution's `jobName` (a recorded name means the Job existed), and the
RerunnableJob's status last (a slot or token counts as handled only once its
Execution exists; a pass that repeats a create gets AlreadyExists).

A plan is applied in two phases. Runs first: Executions follow their Jobs, runs
are interrupted, disarmed, created and started. Bookkeeping second: each started
run's `jobName`, the pruning, the RerunnableJob's status, and the next slot's
Execution armed ahead (so that its slot writes only its Job). When other keys
wait (many runs due at once), a plan that starts runs leaves its bookkeeping to a
later pass, which plans it again from the store: every due Job comes before any
status.
"""

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from rerunnable.api.reasons import EventReason
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionStatus,
    Trigger,
    to_wire,
)
from rerunnable.controller.faults import crash_point
from rerunnable.controller.kinds import Key, Kind, Versioned, resource_version
from rerunnable.controller.logs import about
from rerunnable.controller.metrics import Metrics
from rerunnable.controller.store import Store
from rerunnable.controller.workqueue import WorkQueue
from rerunnable.core import manifests
from rerunnable.core.execution_status import status_patch, with_job
from rerunnable.core.manifests import ReportEndpoint
from rerunnable.core.planner import NO_ARMING, Event, NewExecution, Plan, plan
from rerunnable.core.planner.following import refused
from rerunnable.core.reports import termination_messages, with_termination_messages
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from rerunnable.kube.client import Kube
from rerunnable.kube.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    KubeError,
    NameConflictError,
    NotFoundError,
    UnavailableError,
)
from rerunnable.kube.events import Recorder

__all__ = ["MAX_BACKOFF", "UNAVAILABLE_BACKOFF", "Reconciler"]

logger = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
# The API server away (a restart, an outage) is no fault of the object: come back soon after.
UNAVAILABLE_BACKOFF = 10.0
CONFLICT_DELAY = 0.2  # seconds: the watch delivers what changed meanwhile
SAID_BEFORE_HANDLED = frozenset({EventReason.RUN_SKIPPED, EventReason.MISSED_SCHEDULE})


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    def __init__(
        self,
        store: Store,
        kube: Kube,
        events: Recorder,
        queue: WorkQueue[Key],
        clock: Callable[[], datetime] = _utcnow,
        metrics: Metrics | None = None,
        *,
        reports: ReportEndpoint | None = None,
        arm_ahead: timedelta = NO_ARMING,
    ) -> None:
        self._reports = reports  # where workloads report, if this operator takes reports
        self._arm_ahead = arm_ahead
        self._store = store
        self._kube = kube
        self._events = events
        self._queue = queue
        self._clock = clock
        self._metrics = metrics if metrics is not None else Metrics()
        self._failures: dict[Key, int] = {}
        # Keys whose last pass left its bookkeeping to a later pass: the next one does it.
        self._deferred: set[Key] = set()

    async def reconcile(self, key: Key) -> None:
        """One pass: plan, apply; on failure the key comes back with exponential backoff.

        Every line logged meanwhile is about the key (`logs.about`), and about an Execution
        while one is written."""
        with about(namespace=key[0], rerunnablejob=key[1]):
            try:
                with self._metrics.reconcile_duration.time():
                    await self._pass(key)
            except Exception as e:
                await self._retry_later(key, e)
            else:
                self._failures.pop(key, None)

    async def _pass(self, key: Key) -> None:
        rjob = self._store.rerunnable_job(key)
        if rjob is None:
            self._queue.forget(key)
            self._deferred.discard(key)
            self._metrics.set_active(key, 0)
            return
        executions = {e.name: e for e in self._store.executions(key)}
        p = plan(
            rjob,
            executions.values(),
            self._store.jobs(key),
            self._clock(),
            reports=self._reports is not None,
            arm_ahead=self._arm_ahead,
        )
        started = await self._runs(key, rjob, executions, p)
        events = list(p.events)
        if p.starts_runs and self._queue.waiting and key not in self._deferred:
            # Bookkeeping not run now: a later pass plans it again. Never twice in a row:
            # when a run comes due on every pass (thousands of jobs every minute, more
            # than the API server takes), deferring each time would leave the status
            # unwritten and the history unpruned for as long as the overload lasts
            # (bench, fan-out 5000: 28170 Executions, 59 of 5000 statuses, in 10 min).
            self._deferred.add(key)
            self._queue.add(key)
        else:
            self._deferred.discard(key)
            # A slot or token skipped, or slots missed, leave no Execution: the event is their
            # only trace, so it is posted before the status counts them handled (a crash in
            # between says it again; found by the chaos storm, where one was never said).
            for event in [e for e in events if e.reason in SAID_BEFORE_HANDLED]:
                events.remove(event)
                await self._events.post_now(
                    manifests.object_ref(rjob),
                    event.type,
                    event.reason,
                    event.message,
                    self._clock(),
                )
            await self._bookkeeping(key, rjob, p, started)
        for event in events:
            self._post(rjob, event)
        self._metrics.runs_stalled.inc(p.stalled)
        self._metrics.set_active(key, p.status.active_count)
        if p.wake_at is not None:
            self._queue.add_after(key, (p.wake_at - self._clock()).total_seconds())

    async def _retry_later(self, key: Key, e: Exception) -> None:
        if isinstance(e, ConflictError):
            # A workload's report changed the Execution since this pass read it (a write that
            # touches reported fields is conditional): the watch brings the news; look again.
            logger.debug("reconcile of %s/%s: %s; again soon", *key, e)
            self._queue.retry_after(key, CONFLICT_DELAY)
            return
        self._metrics.reconcile_errors.labels(type(e).__name__).inc()
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        cap = UNAVAILABLE_BACKOFF if isinstance(e, UnavailableError) else MAX_BACKOFF
        delay = min(2.0 ** (failures - 1), cap)
        expected = isinstance(e, KubeError)
        logger.log(
            logging.WARNING if expected else logging.ERROR,
            "reconcile of %s/%s failed (retry in %.0fs): %s",
            *key,
            delay,
            e,
            exc_info=not expected,
        )
        self._queue.retry_after(key, delay)
        rjob = self._store.rerunnable_job(key)
        if isinstance(e, NameConflictError) and failures == 1 and rjob is not None:
            # Said once per streak of failures, where the user looks.
            reason, message = EventReason.NAME_CONFLICT, f"{e.message}; retrying"
            self._post(rjob, Event("Warning", reason, message))

    # -- phase 1: runs ------------------------------------------------------------------------

    async def _runs(
        self,
        key: Key,
        rjob: RerunnableJobState,
        executions: dict[str, ExecutionState],
        p: Plan,
    ) -> list[ExecutionState]:
        """Executions follow their Jobs; runs are interrupted, created, started. Returns the
        runs whose Job now exists (recording that is bookkeeping)."""
        for name, status in p.execution_updates.items():
            with about(execution=name):
                if (
                    status.phase in TERMINAL_PHASES
                    and executions[name].status.phase != status.phase
                ):
                    status = await self._with_termination_report(key[0], name, status)
                await self._write_status(key, executions[name], status)
        for interrupt in p.interrupts:
            with about(execution=interrupt.execution):
                await self._write_status(key, executions[interrupt.execution], interrupt.status)
                crash_point("after-interrupt-written")
                await _ignore_missing(self._kube.delete_job(key[0], interrupt.execution))
                crash_point("after-job-deleted")
        for name in p.job_deletes:
            with about(execution=name):
                await _ignore_missing(self._kube.delete_job(key[0], name))
        for name in p.disarms:
            # Only the version planned from: a deposed leader's disarm delivered late must
            # not delete a run whose Job the new leader has made (and written) since.
            await self._delete_execution(key, name, executions[name].resource_version or None)
        started = []
        for new in p.creates:
            with about(execution=new.name):
                execution = await self._create_execution(key, rjob, new)
                if new.starts_job(execution.status) and await self._create_job(
                    key, rjob, execution
                ):
                    started.append(execution)
        for name in p.starts:
            waiting = executions.get(name)
            with about(execution=name):
                if waiting is not None and await self._create_job(key, rjob, waiting):
                    started.append(waiting)
        return started

    async def _create_execution(
        self, key: Key, rjob: RerunnableJobState, new: NewExecution
    ) -> ExecutionState:
        """Create `new`'s Execution (or read the one a pass before made); a queued or armed
        run then gets its waiting status."""
        try:
            created = await self._kube.create_execution(rjob.namespace, dict(new.manifest))
        except AlreadyExistsError:
            created = await self._kube.get_execution(rjob.namespace, new.name)
        execution = ExecutionState.from_body(created)
        _check_owner("Execution", new.name, execution.owner_uid, rjob.uid)
        self._remember(Kind.EXECUTION, key, new.name, created, execution)
        crash_point("after-execution-created")
        waiting = new.waiting_status(execution.status)
        if waiting is not None:
            await self._write_status(key, execution, waiting)
        return execution

    async def _delete_execution(
        self, key: Key, name: str, resource_version: int | None = None
    ) -> None:
        with about(execution=name):
            await _ignore_missing(
                self._kube.delete_execution(key[0], name, resource_version=resource_version)
            )
        self._store.deleted(Kind.EXECUTION, key, name)

    async def _create_job(
        self, key: Key, rjob: RerunnableJobState, execution: ExecutionState
    ) -> bool:
        """Create the Job of `execution`; False if the API server refused it (the run failed)."""
        manifest = manifests.run_job(rjob, execution, self._reports)
        if manifest is None:
            return False
        try:
            job = await self._kube.create_job(rjob.namespace, manifest)
            self._count_start(execution)
        except AlreadyExistsError:
            job = await self._kube.get_job(rjob.namespace, execution.name)
        except InvalidError as e:
            status, event = refused(execution, e.message, self._clock())
            await self._write_status(key, execution, status)
            self._post(rjob, event)
            return False
        found = JobState.from_body(job)
        _check_owner("Job", execution.name, found.owner_uid, execution.uid)
        # Seen by the next pass even before the Job watch delivers it: a run whose
        # status names its Job but whose Job is unseen would end Interrupted.
        self._remember(Kind.JOB, key, execution.name, job, found)
        crash_point("after-job-created")
        return True

    # -- phase 2: bookkeeping ------------------------------------------------------------------

    async def _bookkeeping(
        self, key: Key, rjob: RerunnableJobState, p: Plan, started: list[ExecutionState]
    ) -> None:
        """Started runs name their Job; the history limits prune; the status; the next slot
        is armed last (nothing counts on it before its slot)."""
        for execution in started:
            status = with_job(execution.status, execution.name, p.steps)
            with about(execution=execution.name):
                await self._write_status(key, execution, status)
        for name in p.deletes:
            await self._delete_execution(key, name)
        if p.status != rjob.status:
            if p.creates or p.starts:
                crash_point("before-status-written")
            # Onto the version planned from only: a write held up in the network and delivered
            # after another replica's (a deposed leader's) is refused, never a step back.
            try:
                body = await self._kube.patch_rerunnable_job_status(
                    rjob.namespace,
                    rjob.name,
                    to_wire(p.status),
                    resource_version=rjob.resource_version,
                )
            except NotFoundError:
                # Deleted since the watch last said (a namespace being emptied deletes
                # thousands at once): nothing is left to keep, and no failure to retry.
                self._store.deleted(Kind.RERUNNABLE_JOB, key, rjob.name)
                return
            self._remember(
                Kind.RERUNNABLE_JOB, key, rjob.name, body, RerunnableJobState.from_body(body)
            )
            # Counted once: the status written counts the slots handled (lastScheduleTime),
            # so no later pass finds them missed again.
            self._metrics.schedules_missed.inc(p.missed)
        for new in p.arms:
            with about(execution=new.name):
                await self._create_execution(key, rjob, new)
            crash_point("after-armed")

    # -- the writes' plumbing --------------------------------------------------------------------

    async def _write_status(
        self, key: Key, before: ExecutionState, status: ExecutionStatus
    ) -> None:
        """Write what changed from `before`, onto `before`'s version only (ConflictError if a
        workload's report, a cancel or another replica changed it since): a write delivered
        late can never move a run back. A run it ends is counted then, once: a pass that
        fails after this write leaves it ended, and no later pass ends it again."""
        patch = status_patch(before.status, status)
        if not patch:
            return
        version = before.resource_version
        name = before.name
        try:
            body = await self._kube.patch_execution_status(
                key[0], name, patch, resource_version=version or None
            )
        except NotFoundError:
            self._store.deleted(Kind.EXECUTION, key, name)
            return
        self._remember(Kind.EXECUTION, key, name, body, ExecutionState.from_body(body))
        if status.phase in TERMINAL_PHASES and before.status.phase not in TERMINAL_PHASES:
            logger.debug("%s ended %s", name, status.phase.value)
            self._metrics.runs_finished.labels(status.phase.value).inc()

    async def _with_termination_report(
        self, namespace: str, name: str, status: ExecutionStatus
    ) -> ExecutionStatus:
        """A run that ends keeps what its pods left in their termination messages."""
        pods = await self._kube.list_pods(namespace, name)
        return with_termination_messages(status, termination_messages(pods))

    def _remember(self, kind: Kind, key: Key, name: str, body: dict[str, Any], obj: Any) -> None:
        self._store.wrote(kind, key, Versioned(name, resource_version(body), obj))

    def _post(self, rjob: RerunnableJobState, event: Event) -> None:
        regarding = manifests.object_ref(rjob)
        self._events.post(regarding, event.type, event.reason, event.message, self._clock())

    def _count_start(self, execution: ExecutionState) -> None:
        trigger = execution.spec.trigger
        logger.debug("started the Job of %s (%s)", execution.name, trigger.value)
        self._metrics.runs_started.labels(trigger.value).inc()
        slot = execution.spec.scheduled_time
        if trigger == Trigger.SCHEDULE and slot is not None:
            self._metrics.schedule_lag.observe((self._clock() - slot).total_seconds())


def _check_owner(kind: str, name: str, owner: str | None, expected: str) -> None:
    """A deterministic name that exists already is done only if it is ours."""
    message = manifests.ownership_conflict(kind, name, owner, expected)
    if message is not None:
        raise NameConflictError(409, "AlreadyExists", message)


async def _ignore_missing(call: Awaitable[None]) -> None:
    with contextlib.suppress(NotFoundError):
        await call
