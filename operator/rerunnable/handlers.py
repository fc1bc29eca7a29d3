"""kopf handlers: they translate watch events into work, and do nothing else.

All are coroutines: kopf runs plain functions in a thread pool, and the work
queue is not thread-safe (nor would a thread hop per watch event be cheap).

Three indexes hold the operator's view of the cluster (see `store`); three
event handlers put the affected RerunnableJob's key on the work queue. kopf
calls no handler before every index is fully listed, so the first pass over
any object already sees all of its Executions and Jobs.
"""

import asyncio
import logging
from typing import Any

import kopf
from lightkube import AsyncClient, KubeConfig

from rerunnable.api.names import (
    EXECUTION_PLURAL,
    GROUP,
    LABEL_EXECUTION,
    LABEL_RERUNNABLE_JOB,
    RERUNNABLE_JOB_PLURAL,
    VERSION,
)
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from rerunnable.kube import LightkubeKube
from rerunnable.reconciler import Reconciler
from rerunnable.store import Store, Versioned, resource_version
from rerunnable.workqueue import WorkQueue

__all__: list[str] = []

logger = logging.getLogger(__name__)

WORKERS = 16
JOB_LABELS: dict[str, Any] = {LABEL_EXECUTION: kopf.PRESENT, LABEL_RERUNNABLE_JOB: kopf.PRESENT}


@kopf.index(GROUP, VERSION, RERUNNABLE_JOB_PLURAL)
async def rerunnable_jobs(
    body: kopf.Body, namespace: str | None, name: str, **_: Any
) -> dict[Any, Any]:
    state = RerunnableJobState.from_body(body)
    return {(namespace, name): Versioned(name, resource_version(body), state)}


@kopf.index(GROUP, VERSION, EXECUTION_PLURAL)
async def executions(body: kopf.Body, namespace: str | None, name: str, **_: Any) -> dict[Any, Any]:
    state = ExecutionState.from_body(body)
    key = (namespace, state.spec.rerunnable_job)
    return {key: Versioned(name, resource_version(body), state)}


@kopf.index("batch", "v1", "jobs", labels=JOB_LABELS)
async def jobs(
    body: kopf.Body, namespace: str | None, name: str, labels: kopf.Labels, **_: Any
) -> dict[Any, Any]:
    key = (namespace, labels[LABEL_RERUNNABLE_JOB])
    return {key: Versioned(name, resource_version(body), JobState.from_body(body))}


@kopf.on.event(GROUP, VERSION, RERUNNABLE_JOB_PLURAL)
async def rerunnable_job_changed(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    memo.queue.add((namespace, name))


@kopf.on.event(GROUP, VERSION, EXECUTION_PLURAL)
async def execution_changed(namespace: str | None, spec: kopf.Spec, memo: Any, **_: Any) -> None:
    memo.queue.add((namespace, spec["rerunnableJob"]))


@kopf.on.event("batch", "v1", "jobs", labels=JOB_LABELS)
async def job_changed(namespace: str | None, labels: kopf.Labels, memo: Any, **_: Any) -> None:
    memo.queue.add((namespace, labels[LABEL_RERUNNABLE_JOB]))


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    settings.posting.enabled = False  # we post our own events, about our own objects
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    memo.client = AsyncClient(config=KubeConfig.from_env(), field_manager="rerunnable")
    memo.queue = WorkQueue()
    store = Store(kwargs["rerunnable_jobs"], kwargs["executions"], kwargs["jobs"])
    reconciler = Reconciler(store, LightkubeKube(memo.client), memo.queue)
    memo.tasks = [asyncio.create_task(memo.queue.run_timers(), name="timers")] + [
        asyncio.create_task(memo.queue.run_worker(reconciler.reconcile), name=f"worker-{i}")
        for i in range(WORKERS)
    ]


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    for task in memo.tasks:
        task.cancel()
    await asyncio.gather(*memo.tasks, return_exceptions=True)
    await memo.client.close()
