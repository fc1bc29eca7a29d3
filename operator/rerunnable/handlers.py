"""kopf handlers: they translate watch events into work, and do nothing else.

All are coroutines: kopf runs plain functions in a thread pool, and the work
queue is not thread-safe (nor would a thread hop per watch event be cheap).

Three indexes hold the operator's view of the cluster (see `index` and
`store`): three event handlers keep them current and put the affected
RerunnableJob's key on the work queue. The workers start only once one list
per kind has filled them, so the first pass over any object already sees all
of its Executions and Jobs.
"""

import asyncio
import logging
import os
from typing import Any

import kopf
from lightkube import AsyncClient, KubeConfig

from rerunnable.api.names import EXECUTION_PLURAL, GROUP, RERUNNABLE_JOB_PLURAL, VERSION
from rerunnable.index import JOB_LABEL_KEYS, KINDS, Index
from rerunnable.kube import LightkubeKube
from rerunnable.leader import Election, LeaderElector, default_identity
from rerunnable.listing import list_into
from rerunnable.metrics import Metrics
from rerunnable.reconciler import Reconciler
from rerunnable.store import Store
from rerunnable.workqueue import WorkQueue

__all__: list[str] = []

logger = logging.getLogger(__name__)

WORKERS = 16
RELIST = 5  # seconds between attempts at the start-up lists
JOB_LABELS: dict[str, Any] = dict.fromkeys(JOB_LABEL_KEYS, kopf.PRESENT)


@kopf.on.event(GROUP, VERSION, RERUNNABLE_JOB_PLURAL)
async def rerunnable_job_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    _changed(memo, "rjob", body, type)


@kopf.on.event(GROUP, VERSION, EXECUTION_PLURAL)
async def execution_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    _changed(memo, "execution", body, type)


@kopf.on.event("batch", "v1", "jobs", labels=JOB_LABELS)
async def job_changed(type: str, body: kopf.Body, memo: Any, **_: Any) -> None:
    _changed(memo, "job", body, type)


def _changed(memo: Any, kind: str, body: kopf.Body, event_type: str) -> None:
    key, version = KINDS[kind].entry(body)
    deleted = event_type == "DELETED"
    if deleted:
        memo.indexes[kind].remove(key[0], version.name, version.resource_version)
    else:
        memo.indexes[kind].put(key, version)
    memo.store.observed(kind, key, version.name, version.resource_version, deleted=deleted)
    memo.queue.add(key)


@kopf.on.startup()
async def start(settings: kopf.OperatorSettings, memo: Any, **kwargs: Any) -> None:
    settings.posting.enabled = False  # we post our own events, about our own objects
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    election: Election | None = memo.get("election")
    identity = (election and election.identity) or default_identity()
    memo.client = AsyncClient(config=KubeConfig.from_env(), field_manager="rerunnable")
    memo.queue = WorkQueue()
    memo.indexes = indexes = {kind: Index() for kind in KINDS}
    memo.store = store = Store(indexes["rjob"], indexes["execution"], indexes["job"])
    metrics: Metrics = memo.get("metrics") or Metrics()
    reconciler = Reconciler(
        store, LightkubeKube(memo.client, instance=identity), memo.queue, metrics=metrics
    )
    memo.tasks = []

    listed = asyncio.Event()

    async def list_world() -> None:
        while True:
            try:
                keys = await list_into(memo.client, indexes, memo.get("namespaces") or [])
                break
            except Exception as e:  # the API server restarting, say: no work without the lists
                logger.error("cannot list the watched objects (retrying in %ss): %s", RELIST, e)
                await asyncio.sleep(RELIST)
        for key in keys:
            memo.queue.add(key)
        logger.info("listed %d RerunnableJobs with their Executions and Jobs", len(keys))
        listed.set()

    async def work() -> None:
        # No pass before every RerunnableJob, Execution and Job is known.
        await listed.wait()
        memo.tasks.append(asyncio.create_task(memo.queue.run_timers(), name="timers"))
        memo.tasks.extend(
            asyncio.create_task(memo.queue.run_worker(reconciler.reconcile), name=f"worker-{i}")
            for i in range(WORKERS)
        )

    async def lead() -> None:
        metrics.leader.set(1)
        memo.tasks.append(asyncio.create_task(work(), name="work"))

    memo.tasks.append(asyncio.create_task(list_world(), name="list"))

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
