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
import os
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
from rerunnable.leader import Election, LeaderElector, default_identity
from rerunnable.metrics import Metrics
from rerunnable.reconciler import Reconciler
from rerunnable.store import Key, Store, Versioned, resource_version
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
async def rerunnable_job_changed(
    type: str, body: kopf.Body, namespace: str | None, name: str, memo: Any, **_: Any
) -> None:
    _changed(memo, "rjob", (namespace, name), name, body, type)


@kopf.on.event(GROUP, VERSION, EXECUTION_PLURAL)
async def execution_changed(
    type: str,
    body: kopf.Body,
    namespace: str | None,
    name: str,
    spec: kopf.Spec,
    memo: Any,
    **_: Any,
) -> None:
    _changed(memo, "execution", (namespace, spec["rerunnableJob"]), name, body, type)


@kopf.on.event("batch", "v1", "jobs", labels=JOB_LABELS)
async def job_changed(
    type: str,
    body: kopf.Body,
    namespace: str | None,
    name: str,
    labels: kopf.Labels,
    memo: Any,
    **_: Any,
) -> None:
    _changed(memo, "job", (namespace, labels[LABEL_RERUNNABLE_JOB]), name, body, type)


def _changed(
    memo: Any,
    kind: str,
    key: tuple[str | None, str],
    name: str,
    body: kopf.Body,
    event_type: str,
) -> None:
    # The operator watches namespaced objects only: the namespace is always set.
    rjob_key: Key = (key[0] or "", key[1])
    memo.store.observed(
        kind, rjob_key, name, resource_version(body), deleted=event_type == "DELETED"
    )
    memo.queue.add(rjob_key)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: Any, **kwargs: Any) -> None:
    settings.posting.enabled = False  # we post our own events, about our own objects
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    election: Election | None = memo.get("election")
    identity = (election and election.identity) or default_identity()
    memo.client = AsyncClient(config=KubeConfig.from_env(), field_manager="rerunnable")
    memo.queue = WorkQueue()
    memo.store = store = Store(kwargs["rerunnable_jobs"], kwargs["executions"], kwargs["jobs"])
    metrics: Metrics = memo.get("metrics") or Metrics()
    reconciler = Reconciler(
        store, LightkubeKube(memo.client, instance=identity), memo.queue, metrics=metrics
    )
    memo.tasks = []

    async def lead() -> None:
        metrics.leader.set(1)
        # Keys queued while standing by (every object is listed at start) are served now.
        memo.tasks.append(asyncio.create_task(memo.queue.run_timers(), name="timers"))
        memo.tasks.extend(
            asyncio.create_task(memo.queue.run_worker(reconciler.reconcile), name=f"worker-{i}")
            for i in range(WORKERS)
        )

    if election is None:
        await lead()
        return
    memo.elector = LeaderElector(memo.client, election)
    memo.tasks.append(asyncio.create_task(memo.elector.run(lead, _exit_now), name="elector"))


def _exit_now() -> None:
    # Another replica may lead already: not one more write from this process.
    logging.getLogger(__name__).error("leadership lost: exiting")
    os._exit(1)


@kopf.on.cleanup()
async def stop(memo: Any, **_: Any) -> None:
    for task in memo.tasks:
        task.cancel()
    await asyncio.gather(*memo.tasks, return_exceptions=True)
    if "elector" in memo:
        await memo.elector.release()
    await memo.client.close()
