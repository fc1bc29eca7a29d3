"""Jobs that Rerunnable did not make never reach the operator.

A cluster has many Jobs of its own (CronJobs', CI's, other operators'). The
API server filters the operator's Job watch by the labels of its runs, so the
others are never streamed to it: the bytes it receives while they are made
and run are counted at a proxy between it and the API server.
"""

import json
from pathlib import Path
from typing import cast

from lightkube import Client
from lightkube.resources.batch_v1 import Job

from tests.e2e.blackhole import Blackhole
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import annotate_run, create_rjob, job_template, jobs, manual_name, phases
from tests.e2e.waiting import wait_until

FOREIGN = 60
PADDING = 64 * 1024  # bytes of annotation on each foreign Job: every watch event carries them


def run_token(kube: Client, namespace: str, token: str) -> None:
    annotate_run(kube, namespace, "ours", token)
    wait_until(
        lambda: phases(kube, namespace).get(manual_name("ours", token)) == "Succeeded",
        timeout=60,
        what=f"the run of token {token} to succeed",
    )


def succeeded(kube: Client, namespace: str, prefix: str) -> int:
    return sum(
        1
        for name, job in jobs(kube, namespace).items()
        if name.startswith(prefix) and job.status and job.status.succeeded
    )


def test_jobs_rerunnable_did_not_make_are_not_streamed_to_the_operator(
    kube: Client, cluster: Cluster, namespace: str, operator: OperatorProcess, tmp_path: Path
) -> None:
    proxy = Blackhole(*cluster.api_address())
    try:
        operator.kubeconfig = cluster.kubeconfig_through(proxy.port, tmp_path / "kubeconfig")
        operator.start()
        create_rjob(kube, namespace, "ours", duration="1s")
        run_token(kube, namespace, "t1")  # its watches stream

        before = proxy.delivered_bytes
        foreign = 0
        for i in range(FOREIGN):
            body = job_template(duration="1s")
            body["metadata"] = {
                "name": f"theirs-{i}",
                "namespace": namespace,
                "annotations": {"example.com/padding": "x" * PADDING},
            }
            kube.create(cast(Job, Job.from_dict({"apiVersion": "batch/v1", "kind": "Job", **body})))
            foreign += len(json.dumps(body))
        wait_until(
            lambda: succeeded(kube, namespace, "theirs-") == FOREIGN,
            timeout=120,
            what="the foreign Jobs to succeed",
        )
        # A run of ours after them: its events come on the same stream, after theirs.
        run_token(kube, namespace, "t2")
        received = proxy.delivered_bytes - before
    finally:
        operator.stop()  # before its path to the API server goes
        proxy.close()

    print(f"{FOREIGN} foreign Jobs ({foreign} bytes as created): the operator received {received}")
    # Each foreign Job is streamed at least twice if it is streamed at all (created, then
    # its status as it runs), with all its annotations each time.
    assert received < foreign / 4, f"{received} bytes reached the operator"
