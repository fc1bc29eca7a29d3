"""The operator process's parts, built and owned in one place.

    kopf watch events ──observe──► indexes ◄── one LIST per kind at start (listing)
                                      │ + overlay of our own writes (store)
                                      ▼
              WorkQueue ──key──► Reconciler: plan (core) → apply (kube)
                 ▲  one heap of timers        │
                 └──────── wake_at ───────────┘

`start` runs the lists, the election and, once leading, the timers and the
workers, all under the supervisor (a task that ends ends the process).
"""

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rerunnable.controller.index import Indexes, entry
from rerunnable.controller.job_metrics import JobStateCollector
from rerunnable.controller.kinds import Kind
from rerunnable.controller.leader import Election, LeaderElector
from rerunnable.controller.listing import list_into
from rerunnable.controller.metrics import Metrics
from rerunnable.controller.reconciler import Reconciler
from rerunnable.controller.report_auth import ReportAuth
from rerunnable.controller.report_server import ReportServer
from rerunnable.controller.report_sink import ReportSink
from rerunnable.controller.serving import ServingOptions
from rerunnable.controller.store import Store
from rerunnable.controller.supervisor import Supervisor
from rerunnable.controller.workqueue import WorkQueue
from rerunnable.core.manifests import ReportEndpoint
from rerunnable.core.planner import NO_ARMING
from rerunnable.kube.client import KubeClient
from rerunnable.kube.config import ClusterConfig
from rerunnable.kube.credentials import Credentials
from rerunnable.kube.events import EventRecorder
from rerunnable.kube.leases import Leases
from rerunnable.kube.transport import Transport

__all__ = ["RELIST", "WORKERS", "Operator", "Options"]

logger = logging.getLogger(__name__)

WORKERS = 16
RELIST = 5  # seconds between attempts at the start-up lists
# seconds the watch streams may take to start; kopf retries discovery and its watches
# forever, so this is long enough to ride out an API server that is still starting.
WATCHES_WITHIN = 120.0


@dataclass(frozen=True)
class Options:
    namespaces: Sequence[str]  # empty: all
    identity: str  # this replica, in the Lease and in its Events
    election: Election | None  # None: no leader election, this replica works
    reports: ServingOptions | None = None  # None: no report endpoint
    report_url: str | None = None  # the base URL workloads reach the endpoint at
    arm_ahead: timedelta = NO_ARMING  # how long before its slot a run's Execution is made


class Operator:
    def __init__(
        self,
        options: Options,
        cluster: ClusterConfig,
        *,
        metrics: Metrics | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.options = options
        self.metrics = metrics if metrics is not None else Metrics()
        self.supervisor = supervisor if supervisor is not None else Supervisor()
        self.credentials = Credentials(cluster)
        self.transport = Transport(cluster, self.credentials, answered=self.metrics.api_request)
        self.indexes = Indexes()
        # Each RerunnableJob's state, read from the index at each scrape, by the leader only.
        self.metrics.registry.register(
            JobStateCollector(self.indexes[Kind.RERUNNABLE_JOB], self.metrics.leading)
        )
        self.store = Store(self.indexes)
        self.queue: WorkQueue[tuple[str, str]] = WorkQueue(metrics=self.metrics.queue)
        kube = KubeClient(self.transport)
        endpoint = None
        self.report_server = None
        if options.reports is not None and options.report_url:
            endpoint = ReportEndpoint(options.report_url, options.reports.cafile.read_text())
            self.report_server = ReportServer(
                options.reports,
                ReportAuth(self.transport, self.indexes[Kind.JOB]),
                ReportSink(kube, self.indexes, self.metrics),
                self.metrics,
            )
        self.reconciler = Reconciler(
            self.store,
            kube,
            EventRecorder(self.transport, instance=options.identity),
            self.queue,
            metrics=self.metrics,
            reports=endpoint,
            arm_ahead=options.arm_ahead,
        )
        self.elector = (
            LeaderElector(
                Leases(self.transport, options.election.namespace, options.election.name),
                options.election,
                self.metrics,
            )
            if options.election is not None
            else None
        )
        self._listed = asyncio.Event()

    def observe(self, kind: Kind, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A watch event: the index and the store learn of it, its RerunnableJob is queued."""
        key, version = entry(kind, body)
        deleted = event_type == "DELETED"
        if deleted:
            self.indexes[kind].remove(key[0], version.name, version.resource_version)
        else:
            self.indexes[kind].put(key, version)
        self.store.observed(kind, key, version.name, version.resource_version, deleted=deleted)
        self.queue.add(key)

    async def start(self, watches: Collection[str] = ()) -> None:
        """List, elect, and work once leading; every task under the supervisor.

        `watches`: the names of the watch tasks that must run before this replica may
        campaign (or work): a replica that watches nothing must never lead.
        """
        supervise = self.supervisor.spawn
        supervise(self.supervisor.adopt_kopf_watchers(), name="kopf-watchers")
        supervise(self._list_world(), name="list")
        if self.report_server is not None:
            # Every replica takes reports, leader or not (docs/design.md, "Reports").
            supervise(self.report_server.serve(), name="report-server")
        supervise(self._campaign(watches), name="campaign")

    async def _campaign(self, watches: Collection[str]) -> None:
        await self.supervisor.await_tasks(watches, within=WATCHES_WITHIN)
        if self.elector is None:
            self.metrics.leader.set(1)
            await self._lead()
        else:
            await self.elector.run(self._lead, lambda: self.supervisor.fail("leadership lost"))
        await asyncio.Event().wait()

    async def stop(self) -> None:
        await self.supervisor.stop()
        if self.elector is not None:
            await self.elector.release()
        await self.transport.close()

    async def _lead(self) -> None:
        self.supervisor.spawn(self._work(), name="work")

    async def _list_world(self) -> None:
        while True:
            try:
                keys = await list_into(self.transport, self.indexes, self.options.namespaces)
                break
            except Exception as e:  # the API server restarting, say: no work without the lists
                logger.error("cannot list the watched objects (retrying in %ss): %s", RELIST, e)
                await asyncio.sleep(RELIST)
        for key in keys:
            self.queue.add(key)
        logger.info("listed %d RerunnableJobs with their Executions and Jobs", len(keys))
        self._listed.set()
        await asyncio.Event().wait()  # done, but supervised like the others: it never ends

    async def _work(self) -> None:
        await self._listed.wait()  # no pass before every RerunnableJob, Execution and Job is known
        self.supervisor.spawn(self.queue.run_timers(), name="timers")
        for i in range(WORKERS):
            self.supervisor.spawn(
                self.queue.run_worker(self.reconciler.reconcile), name=f"worker-{i}"
            )
        await asyncio.Event().wait()
