"""Runs that report back: progress, steps, results and heartbeats, from the workload's side.

The operator serves the report endpoint on a local port with a test CA; each
test acts as a run's pod (tests/e2e/workload.py): it reads the endpoint and the
CA from the pod's env, mints the pod-bound token with the TokenRequest API, and
POSTs. Everything is checked on the Execution, as `kubectl get` shows it.
"""

import time
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.batch_v1 import Job

from tests.e2e.certs import Certs, free_port, make_certs
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    annotate_run,
    condition,
    create_rjob,
    executions,
    get_rjob,
    manual_name,
    wait_phase,
)
from tests.e2e.waiting import wait_until
from tests.e2e.workload import mint_token, post, run_pod

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
