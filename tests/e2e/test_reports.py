"""Runs that report back: progress, steps, results and heartbeats, from the workload's side.

The operator serves the report endpoint on a local port with a test CA; each
test acts as a run's pod (tests/e2e/workload.py): it reads the endpoint and the
CA from the pod's env, mints the pod-bound token with the TokenRequest API, and
POSTs. Everything is checked on the Execution, as `kubectl get` shows it.
"""

import http.client
import json
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.batch_v1 import Job

from tests.e2e.certs import Certs, free_port, make_certs
from tests.e2e.cluster import Cluster
from tests.e2e.metrics import sample, scrape
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    RerunnableJobResource,
    annotate_run,
    condition,
    create_rjob,
    executions,
    get_rjob,
    manual_name,
    rjob_body,
    wait_phase,
)
from tests.e2e.test_plugin import rerun, rerun_command, rerun_env
from tests.e2e.waiting import wait_until
from tests.e2e.workload import RunPod, mint_token, post, run_pod

STEPS = [{"name": "fetch"}, {"name": "load"}, {"name": "verify"}]
LONG = "600s"  # a pod that keeps running while the test reports


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("report-tls"))


def serve_reports(process: OperatorProcess, certs: Certs) -> str:
    """Start `process` with the report endpoint on a free port; its URL."""
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    process.extra_args += [
        "--report-port",
        str(port),
        "--report-url",
        url,
        "--report-cert-dir",
        str(certs.dir),
    ]
    process.start()
    return url


@pytest.fixture
def reporting(operator: OperatorProcess, certs: Certs) -> OperatorProcess:
    """The operator, taking reports; `report_url` is where."""
    operator.report_url = serve_reports(operator, certs)
    return operator


def status_of(kube: Client, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = executions(kube, namespace)[name].get("status") or {}
    return found


def start_run(kube: Client, namespace: str, rjob: str, token: str = "t1") -> str:
    annotate_run(kube, namespace, rjob, token)
    return manual_name(rjob, token)


def test_progress_steps_and_result_are_recorded_and_steps_closed_when_the_run_succeeds(
    kube: Client, cluster: Cluster, namespace: str, reporting: OperatorProcess, certs: Certs
) -> None:
    create_rjob(kube, namespace, "etl", duration="20s", reporting={"enabled": True}, steps=STEPS)
    name = start_run(kube, namespace, "etl")
    pod = run_pod(kube, namespace, name)
    assert pod.url == f"{reporting.report_url}/v1/namespaces/{namespace}/executions/{name}/report"
    assert pod.ca == certs.ca_pem
    assert pod.env["RERUNNABLE_EXECUTION"] == name
    token = mint_token(cluster, namespace, pod.name, pod.uid)
    steps = [s["name"] for s in status_of(kube, namespace, name).get("steps") or []]
    assert steps == ["fetch", "load", "verify"], "declared steps are there, Pending, up front"

    for body in [
        {"step": {"name": "fetch", "phase": "Running"}, "progress": {"completed": 0, "total": 100}},
        {"step": {"name": "fetch", "phase": "Succeeded"}, "progress": {"completed": 40}},
        {"step": {"name": "load", "phase": "Running"}, "message": "loading shard 7"},
        {"progress": {"completed": 42}, "result": {"location": "s3://backups/2026-12-02"}},
    ]:
        answer = post(pod.url, pod.ca, token, body)
        assert answer.status == 204, answer

    def reported() -> dict[str, Any] | None:
        status = status_of(kube, namespace, name)
        report = status.get("report") or {}
        return status if report.get("progress") == "42/100" and status.get("result") else None

    status = wait_until(reported, timeout=30, what="the reports in the status")
    assert status["report"]["message"] == "loading shard 7"
    assert status["report"]["step"] == "load"
    assert status["result"] == {"location": "s3://backups/2026-12-02"}
    phases = [(s["name"], s["phase"]) for s in status["steps"]]
    assert phases == [("fetch", "Succeeded"), ("load", "Running"), ("verify", "Pending")]
    fetch = status["steps"][0]
    assert fetch["startTime"] <= fetch["completionTime"]
    assert status.get("message") is None, "the workload's words are not the system's"

    wait_phase(kube, namespace, name, "Succeeded", timeout=60)
    closed = status_of(kube, namespace, name)
    assert [(s["name"], s["phase"]) for s in closed["steps"]] == [
        ("fetch", "Succeeded"),
        ("load", "Succeeded"),
        ("verify", "Skipped"),
    ]
    assert closed["result"] == {"location": "s3://backups/2026-12-02"}, "the result outlives it"
    refused = post(pod.url, pod.ca, token, {"progress": {"completed": 99}})
    assert refused.status in (401, 403, 409), "a finished run takes no more reports"


@pytest.mark.parametrize(
    ("ending", "extra", "running_step_becomes"),
    [
        ("fails", {"exit_code": 1}, "Failed"),
        ("is interrupted", {}, "Failed"),
    ],
)
def test_steps_are_closed_when_the_run_fails_or_is_interrupted(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    reporting: OperatorProcess,
    ending: str,
    extra: dict[str, Any],
    running_step_becomes: str,
) -> None:
    duration = "15s" if ending == "fails" else LONG
    create_rjob(
        kube, namespace, "etl", duration=duration, reporting={"enabled": True}, steps=STEPS, **extra
    )
    name = start_run(kube, namespace, "etl")
    pod = run_pod(kube, namespace, name)
    token = mint_token(cluster, namespace, pod.name, pod.uid)
    assert (
        post(pod.url, pod.ca, token, {"step": {"name": "fetch", "phase": "Running"}}).status == 204
    )
    wait_until(
        lambda: (status_of(kube, namespace, name).get("report") or {}).get("step") == "fetch",
        timeout=30,
        what="the running step in the status",
    )
    if ending == "is interrupted":
        kube.delete(Job, name, namespace=namespace)
    wait_phase(kube, namespace, name, "Failed" if ending == "fails" else "Interrupted", timeout=60)
    steps = [(s["name"], s["phase"]) for s in status_of(kube, namespace, name)["steps"]]
    assert steps == [("fetch", running_step_becomes), ("load", "Skipped"), ("verify", "Skipped")]


def test_refusals_say_why_with_their_status_code(
    kube: Client, cluster: Cluster, namespace: str, reporting: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "etl", duration=LONG, reporting={"enabled": True}, steps=STEPS)
    name = start_run(kube, namespace, "etl")
    pod = run_pod(kube, namespace, name)
    token = mint_token(cluster, namespace, pod.name, pod.uid)
    url, ca = pod.url, pod.ca
    ok = post(url, ca, token, {"step": {"name": "fetch", "phase": "Succeeded"}})
    assert ok.status == 204, ok

    cases: list[tuple[str, int, str, Any]] = [
        ("not a report", 400, "progres: unknown field", {"progres": {"completed": 1}}),
        (
            "a step not declared",
            400,
            "'deploy' is not one of the job's steps",
            {"step": {"name": "deploy"}},
        ),
        (
            "a step backwards",
            400,
            "step 'fetch' is Succeeded; it cannot become Running",
            {"step": {"name": "fetch", "phase": "Running"}},
        ),
        ("a result over 4 KiB", 400, "at most 4096", {"result": {"blob": "x" * 5000}}),
    ]
    for what, code, message, body in cases:
        answer = post(url, ca, token, body)
        assert (answer.status, message in answer.message) == (code, True), (what, answer)

    big = post(url, ca, token, None, raw=b'{"message": "' + b"x" * 17000 + b'"}')
    assert big.status == 413, big
    assert post(url, ca, None, {}).status == 401
    assert post(url, ca, "not-a-token", {}).status == 401
    wrong_audience = mint_token(cluster, namespace, pod.name, pod.uid, audience="api")
    assert post(url, ca, wrong_audience, {}).status == 401
    unbound = mint_token(cluster, namespace, None, None)
    answer = post(url, ca, unbound, {})
    assert (answer.status, answer.message) == (403, "the token is not bound to a pod")

    # A pod of another run cannot report for this one.
    other = start_run(kube, namespace, "etl", token="t2")
    other_pod = run_pod(kube, namespace, other)
    other_token = mint_token(cluster, namespace, other_pod.name, other_pod.uid)
    answer = post(url, ca, other_token, {})
    assert answer.status == 403, answer
    assert f"is not a pod of the Job of Execution {name}" in answer.message
    assert post(other_pod.url, ca, other_token, {}).status == 204

    # Too many at once.
    codes = [post(url, ca, token, {}).status for _ in range(30)]
    assert 429 in codes, codes

    # A finished run takes no more.
    kube.delete(Job, name, namespace=namespace)
    wait_phase(kube, namespace, name, "Interrupted", timeout=60)
    time.sleep(1.1)  # a fresh second for the rate limit, not a synchronisation
    answer = post(url, ca, token, {})
    assert answer.status in (403, 409), answer


def test_a_job_that_reports_waits_for_an_operator_that_takes_reports(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()  # no report endpoint
    create_rjob(kube, namespace, "etl", reporting={"enabled": True})
    annotate_run(kube, namespace, "etl", "t1")
    ready = wait_until(
        lambda: (
            (c := condition(get_rjob(kube, namespace, "etl"), "Ready"))
            and c["status"] == "False"
            and c
        ),
        timeout=30,
        what="Ready=False",
    )
    assert ready["reason"] == "ReportingUnavailable"
    assert "manual run 't1' starts once this is fixed" in ready["message"]
    assert executions(kube, namespace) == {}


def test_a_run_that_stops_reporting_is_ended_stalled_and_one_that_reports_is_not(
    kube: Client, cluster: Cluster, namespace: str, reporting: OperatorProcess
) -> None:
    heartbeat = 10
    create_rjob(
        kube,
        namespace,
        "etl",
        duration=LONG,
        reporting={"enabled": True, "heartbeatSeconds": heartbeat},
        concurrencyPolicy="Allow",
    )
    silent = start_run(kube, namespace, "etl", token="silent")
    pod = run_pod(kube, namespace, silent)
    assert (
        post(pod.url, pod.ca, mint_token(cluster, namespace, pod.name, pod.uid), {}).status == 204
    )
    last_report = time.monotonic()

    talkative = start_run(kube, namespace, "etl", token="talkative")
    other = run_pod(kube, namespace, talkative)
    token = mint_token(cluster, namespace, other.name, other.uid)

    def stalled() -> dict[str, Any] | None:
        # The talkative run reports every 2 s meanwhile, as a heartbeat.
        assert post(other.url, other.ca, token, {"message": "still here"}).status == 204
        status = status_of(kube, namespace, silent)
        return status if status.get("phase") == "Interrupted" else None

    status = wait_until(stalled, timeout=heartbeat + 45, what="the silent run to stall", interval=2)
    ended_after = time.monotonic() - last_report
    print(f"stalled {ended_after:.1f}s after its last report (heartbeat {heartbeat}s)")
    assert status["reason"] == "Stalled"
    assert "no report for" in status["message"]
    wait_until(
        lambda: (
            silent
            not in {j.metadata.name for j in kube.list(Job, namespace=namespace) if j.metadata}
        ),
        timeout=30,
        what="the stalled run's Job to be deleted",
    )
    assert status_of(kube, namespace, talkative)["phase"] == "Running"


def test_a_report_taken_by_the_standby_reaches_the_status(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    standby: OperatorProcess,
    certs: Certs,
) -> None:
    operator.report_url = serve_reports(operator, certs)
    wait_until(
        lambda: "leading: acquired the lease" in operator.log_text(), timeout=30, what="a leader"
    )
    standby_url = serve_reports(standby, certs)
    wait_until(lambda: "serving reports" in standby.log_text(), timeout=30, what="the standby")
    create_rjob(kube, namespace, "etl", duration=LONG, reporting={"enabled": True}, steps=STEPS)
    name = start_run(kube, namespace, "etl")
    pod = run_pod(kube, namespace, name)
    token = mint_token(cluster, namespace, pod.name, pod.uid)
    at_standby = pod.url.replace(operator.report_url or "", standby_url)
    assert at_standby != pod.url
    for body in [
        {"step": {"name": "fetch", "phase": "Running"}, "progress": {"completed": 1, "total": 3}},
        {"step": {"name": "fetch", "phase": "Succeeded"}, "progress": {"completed": 2}},
    ]:
        assert post(at_standby, pod.ca, token, body).status == 204
    wait_until(
        lambda: (status_of(kube, namespace, name).get("report") or {}).get("progress") == "2/3",
        timeout=30,
        what="the standby's write",
    )
    # The leader's own writes go on around it: the run ends, and its steps close.
    kube.delete(Job, name, namespace=namespace)
    wait_phase(kube, namespace, name, "Interrupted", timeout=60)
    steps = [(s["name"], s["phase"]) for s in status_of(kube, namespace, name)["steps"]]
    assert steps == [("fetch", "Succeeded"), ("load", "Skipped"), ("verify", "Skipped")]


def test_without_a_channel_a_pod_leaves_its_result_in_its_termination_message(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    message = '{"result": {"rows": "1200", "location": "s3://reports/x.csv"}, "message": "done"}'
    create_rjob(kube, namespace, "export", termination_message=message)
    name = start_run(kube, namespace, "export")
    wait_phase(kube, namespace, name, "Succeeded", timeout=60)
    status = status_of(kube, namespace, name)
    assert status["result"] == {"rows": "1200", "location": "s3://reports/x.csv"}
    assert status["report"]["message"] == "done"


class Reporter:
    """One run's pod reporting at a steady pace over one kept-alive HTTPS connection."""

    def __init__(self, pod: RunPod, token: str) -> None:
        self.pod = pod
        self.token = token
        parts = urllib.parse.urlsplit(pod.url)
        context = ssl.create_default_context(cadata=pod.ca)
        self.connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, context=context, timeout=30
        )
        self.path = parts.path
        self.codes: list[int] = []

    def send(self, body: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        self.connection.request("POST", self.path, json.dumps(body), headers)
        response = self.connection.getresponse()
        response.read()
        self.codes.append(response.status)

    def run(self, rounds: int, every: float) -> None:
        for i in range(1, rounds + 1):
            self.send({"progress": {"completed": i, "total": rounds}, "message": f"round {i}"})
            time.sleep(every)  # the workload's pace, not a synchronisation
        self.connection.close()


def test_fifty_runs_reporting_five_times_a_second_lose_no_last_value_and_writes_coalesce(
    kube: Client, cluster: Cluster, namespace: str, operator: OperatorProcess, certs: Certs
) -> None:
    runs, rounds, every = 50, 25, 0.2
    metrics_port = free_port()
    operator.extra_args = ["--metrics-port", str(metrics_port)]
    operator.report_url = serve_reports(operator, certs)
    metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    for i in range(runs):
        body = rjob_body(namespace, f"load-{i:02d}", duration=LONG, reporting={"enabled": True})
        body["metadata"]["annotations"] = {"rerunnable.dev/run": "t1"}
        kube.create(RerunnableJobResource.from_dict(body))
    names = [manual_name(f"load-{i:02d}", "t1") for i in range(runs)]
    pods = [run_pod(kube, namespace, n, timeout=180) for n in names]
    reporters = [Reporter(p, mint_token(cluster, namespace, p.name, p.uid)) for p in pods]
    writes_before = sample(scrape(metrics_url), "rerunnable_report_status_writes_total")

    threads = [threading.Thread(target=r.run, args=(rounds, every)) for r in reporters]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - started

    def all_last() -> bool:
        found = executions(kube, namespace)
        return all(
            ((found[n].get("status") or {}).get("report") or {}).get("progress")
            == f"{rounds}/{rounds}"
            for n in names
        )

    wait_until(all_last, timeout=60, what="every run's last report in its status")
    accepted = sum(r.codes.count(204) for r in reporters)
    writes = sample(scrape(metrics_url), "rerunnable_report_status_writes_total") - writes_before
    print(
        f"{runs} runs x {rounds} reports in {took:.1f}s: {accepted} accepted, "
        f"{writes:.0f} status writes ({writes / accepted:.2f} per report)"
    )
    assert accepted == runs * rounds, {c for r in reporters for c in r.codes}
    assert writes < accepted / 2, "status writes are coalesced"


def test_kubectl_rerun_shows_the_run_live_and_one_run_whole(
    kube: Client, cluster: Cluster, namespace: str, reporting: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "etl", duration="15s", reporting={"enabled": True}, steps=STEPS)
    command = rerun_command(cluster, namespace, "run", "etl", "--token", "t1", "--wait")
    following = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rerun_env()
    )
    try:
        name = manual_name("etl", "t1")
        pod = run_pod(kube, namespace, name)
        token = mint_token(cluster, namespace, pod.name, pod.uid)
        for body in [
            {
                "step": {"name": "fetch", "phase": "Running"},
                "progress": {"completed": 10, "total": 40},
            },
            {"step": {"name": "fetch", "phase": "Succeeded"}},
            {
                "step": {"name": "load", "phase": "Running"},
                "progress": {"completed": 30},
                "message": "shard 3",
            },
            {"result": {"location": "s3://backups/1"}},
        ]:
            assert post(pod.url, pod.ca, token, body).status == 204
            time.sleep(1.2)  # the workload's pace: one write a second shows each step
        out, err = following.communicate(timeout=120)
    finally:
        following.kill()
    assert following.returncode == 0, out + err
    assert "step fetch: Running" in out
    assert "step fetch: Succeeded" in out
    assert "step load: Running" in out
    assert "[#####---------------] 10/40" in out
    assert "30/40  shard 3" in out
    assert f"Execution {name} Succeeded" in out
    assert "result:\n  location: s3://backups/1" in out

    shown = rerun(cluster, namespace, "status", name)
    assert shown.returncode == 0, shown.stderr
    print(shown.stdout)
    assert f"execution.rerunnable.dev/{name}" in shown.stdout
    assert "phase:     Succeeded" in shown.stdout
    assert "30/40" in shown.stdout
    rows = [line.split() for line in shown.stdout.splitlines() if line.startswith("  ")]
    assert rows[1][:2] == ["fetch", "Succeeded"]
    assert rows[2][:2] == ["load", "Succeeded"]
    assert rows[3][:2] == ["verify", "Skipped"]
    assert "location  s3://backups/1" in shown.stdout

    listed = cluster.kubectl("get", "rjex", "-n", namespace)
    header, row = listed.stdout.splitlines()[:2]
    assert "PROGRESS" in header
    assert "STEP" in header
    assert "30/40" in row
