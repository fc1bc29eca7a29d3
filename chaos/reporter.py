"""The workload of the reporting jobs: kwok's pods run nothing, so this does what a pod would.

For each running Execution of a job with `reporting.enabled`, it reads the pod's
report URL and CA from the pod, mints the pod-bound token the kubelet would
project (TokenRequest), and POSTs a step, progress and a result, once. A 204
means the operator took the report; the result must then be in the run's status
at the end (`invariants.Expected.results`). A report is written within a
second of its 204 (docs/design.md, "Reports"): one taken by a replica that
died in that second can be lost, and is counted apart (`at_risk`).
"""

import threading
import time
from typing import Any

from lightkube import Client
from lightkube.resources.core_v1 import Pod
from tests.e2e.cluster import Cluster
from tests.e2e.workload import mint_token, post

from chaos.invariants import Expected
from chaos.recorder import Recorder

__all__ = ["Reporter"]


class Reporter:
    def __init__(
        self,
        cluster: Cluster,
        client: Client,
        namespace: str,
        jobs: list[str],
        recorder: Recorder,
        expected: Expected,
    ) -> None:
        self._cluster = cluster
        self._client = client
        self._namespace = namespace
        self._jobs = tuple(f"{j}-" for j in jobs)
        self._recorder = recorder
        self._expected = expected
        self._done: set[str] = set()
        self.acknowledged: dict[str, float] = {}  # Execution -> when its report got 204
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="reporter")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            for name in self._recorder.in_phase("Running"):
                if name.startswith(self._jobs) and name not in self._done:
                    try:
                        self._report(name)
                    except Exception:  # the API server or the operator away: next round
                        self.refused += 1

    def _report(self, name: str) -> None:
        pods = list(
            self._client.list(
                Pod, namespace=self._namespace, labels={"rerunnable.dev/execution": name}
            )
        )
        running = [p for p in pods if p.status is not None and p.status.phase == "Running"]
        if not running:
            return
        meta, spec = running[0].metadata, running[0].spec
        if meta is None or spec is None:
            return
        env = {e.name: e.value or "" for e in spec.containers[0].env or []}
        token = mint_token(self._cluster, self._namespace, meta.name, meta.uid)
        result = {"run": name}
        body: dict[str, Any] = {
            "step": {"name": "fetch", "phase": "Succeeded"},
            "progress": {"completed": 1, "total": 2},
            "result": result,
        }
        answer = post(env["RERUNNABLE_REPORT_URL"], env["RERUNNABLE_REPORT_CA"], token, body)
        if answer.status == 204:
            self._done.add(name)
            self.acknowledged[name] = time.monotonic()
            self._expected.results[name] = result
        elif answer.status == 409:  # the run ended meanwhile: nothing to report
            self._done.add(name)
        else:
            self.refused += 1
