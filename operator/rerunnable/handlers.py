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
import itertools
import logging
from collections.abc import Iterator
from typing import Any

import kopf
from lightkube import AsyncClient, KubeConfig

from rerunnable.api.names import EXECUTION_PLURAL, GROUP, RERUNNABLE_JOB_PLURAL, VERSION
from rerunnable.index import JOB_LABEL_KEYS, KINDS, Index
from rerunnable.kube import LightkubeKube
from rerunnable.leader import Election, LeaderElector, LightkubeLeases, default_identity
from rerunnable.listing import list_into
from rerunnable.metrics import Metrics
from rerunnable.reconciler import Reconciler
from rerunnable.store import Store
from rerunnable.supervisor import Supervisor
from rerunnable.workqueue import WorkQueue

__all__: list[str] = []

logger = logging.getLogger(__name__)

WORKERS = 16
RELIST = 5  # seconds between attempts at the start-up lists
JOB_LABELS: dict[str, Any] = dict.fromkeys(JOB_LABEL_KEYS, kopf.PRESENT)
CONNECT_TIMEOUT = 10.0  # seconds; kopf's default for a watch is its 5-minute request timeout


class _Forever:
    """kopf's request back-offs, then 10 s between attempts for as long as the process lives.

    Iterable afresh for every request, and unsized, so kopf counts no last attempt.
    """

    def __iter__(self) -> Iterator[float]:
        return itertools.chain((1, 1, 2, 3, 5, 8), itertools.repeat(10.0))


FOREVER = _Forever()


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
    # A watch never gives up: kopf escalates a request error once its back-offs run out
    # (about a minute), which ends the watch stream's task for good. Retry forever instead;
    # what still ends a watch task ends the process (see supervisor).
    settings.networking.error_backoffs = FOREVER
    settings.watching.connect_timeout = CONNECT_TIMEOUT
    supervisor: Supervisor = memo.supervisor
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
        await asyncio.Event().wait()  # done, but supervised like the others: it never ends

    async def work() -> None:
        # No pass before every RerunnableJob, Execution and Job is known.
        await listed.wait()
        supervisor.spawn(memo.queue.run_timers(), name="timers")
        for i in range(WORKERS):
            supervisor.spawn(memo.queue.run_worker(reconciler.reconcile), name=f"worker-{i}")
        await asyncio.Event().wait()

    async def lead() -> None:
        supervisor.spawn(work(), name="work")

    supervisor.spawn(supervisor.adopt_kopf_watchers(), name="kopf-watchers")
    supervisor.spawn(list_world(), name="list")
    if election is None:
        metrics.leader.set(1)
        await lead()
        return
    memo.elector = LeaderElector(
        LightkubeLeases(memo.client, election.namespace, election.name), election, metrics
    )
    supervisor.spawn(
        memo.elector.run(lead, lambda: supervisor.fail("leadership lost")), name="elector"
    )


@kopf.on.probe(id="healthy")
async def healthy(memo: Any, **_: Any) -> bool:
    """The liveness probe fails once a supervised task has ended (the process is exiting)."""
    supervisor: Supervisor = memo.supervisor
    if supervisor.failure is not None:
        raise kopf.PermanentError(supervisor.failure)
    return True


@kopf.on.cleanup()
async def stop(memo: Any, **_: Any) -> None:
    await memo.supervisor.stop()
    if "elector" in memo:
        await memo.elector.release()
    await memo.client.close()
