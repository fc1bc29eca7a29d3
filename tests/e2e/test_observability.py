"""What the operator tells Prometheus and log pipelines, scraped from a real process."""

import json
import time

from lightkube import Client

from tests.e2e.certs import free_port
from tests.e2e.metrics import Series, sample, scrape
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    RerunnableJobResource,
    annotate_run,
    create_rjob,
    manual_name,
    wait_phase,
)
from tests.e2e.waiting import wait_until


def metrics_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


def of_job(series: Series, namespace: str, rjob: str) -> dict[str, float]:
    """The per-job series of one RerunnableJob: `name` (or `name{phase}`) -> value."""
    found = {}
    for (name, labels), value in series.items():
        tags = dict(labels)
        if tags.get("namespace") == namespace and tags.get("rerunnablejob") == rjob:
            found[name + (f"{{{tags['phase']}}}" if "phase" in tags else "")] = value
    return found


def test_metrics_count_runs_by_trigger_and_phase(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    port = free_port()
    operator.extra_args = ["--metrics-port", str(port), "--log-format", "json", "--verbose"]
    operator.start()
    create_rjob(kube, namespace, "counted")
    create_rjob(kube, namespace, "broken", exit_code=1)

    annotate_run(kube, namespace, "counted", "a")
    annotate_run(kube, namespace, "broken", "b")
    wait_phase(kube, namespace, manual_name("counted", "a"), "Succeeded")
    wait_phase(kube, namespace, manual_name("broken", "b"), "Failed")

    finished = "rerunnable_runs_finished_total"

    def counted() -> Series | None:
        found = scrape(metrics_url(port))
        # Every phase's series exists from the start, at 0.
        ended = [sample(found, finished, phase=phase) for phase in ("Succeeded", "Failed")]
        return found if all(count >= 1 for count in ended) else None

    samples = wait_until(counted, timeout=30, what="the finished runs to be counted")
    assert sample(samples, "rerunnable_runs_started_total", trigger="Manual") == 2
    assert sample(samples, finished, phase="Succeeded") == 1
    assert sample(samples, finished, phase="Failed") == 1
    assert sample(samples, "rerunnable_leader") == 1
    assert ("rerunnable_active_executions", frozenset()) in samples
    assert sample(samples, "rerunnable_active_executions") == 0
    assert sample(samples, "rerunnable_reconcile_duration_seconds_count") > 0
    # Every request is counted by what it wrote: two runs, two Jobs and two Executions made.
    for resource in ("jobs", "executions"):
        made = {"code": "201", "method": "POST", "resource": resource}
        assert sample(samples, "rerunnable_api_requests_total", **made) == 2

    # --log-format json: every line a JSON object with the fields log pipelines index.
    lines = [line for line in operator.log_path.read_text().splitlines() if line.strip()]
    assert lines
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
    # A pass's lines are about its RerunnableJob, and about the Execution it writes.
    started = [e for e in entries if e["message"].startswith("started the Job of")]
    assert {(e["namespace"], e["rerunnablejob"], e["execution"]) for e in started} == {
        (namespace, "counted", manual_name("counted", "a")),
        (namespace, "broken", manual_name("broken", "b")),
    }


def test_each_job_has_its_state_series_until_it_is_deleted(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    port = free_port()
    operator.extra_args = ["--metrics-port", str(port)]
    operator.start()
    create_rjob(kube, namespace, "nightly", schedule="0 3 * * *")
    create_rjob(kube, namespace, "broken", exit_code=1, suspend=True)
    annotate_run(kube, namespace, "nightly", "a")
    annotate_run(kube, namespace, "broken", "b")
    wait_phase(kube, namespace, manual_name("nightly", "a"), "Succeeded")
    wait_phase(kube, namespace, manual_name("broken", "b"), "Failed")

    def settled() -> Series | None:
        # Both runs ended and the statuses say so (the series follow the status).
        found = scrape(metrics_url(port))
        nightly = of_job(found, namespace, "nightly")
        broken = of_job(found, namespace, "broken")
        done = (
            nightly.get("rerunnable_job_last_result{Succeeded}") == 1
            and nightly.get("rerunnable_job_active_runs") == 0
            and broken.get("rerunnable_job_last_result{Failed}") == 1
            and broken.get("rerunnable_job_active_runs") == 0
        )
        return found if done else None

    found = wait_until(settled, timeout=60, what="each job's series to show its ended run")
    now = time.time()
    nightly = of_job(found, namespace, "nightly")
    assert set(nightly) == {
        "rerunnable_job_next_run_timestamp_seconds",
        "rerunnable_job_last_success_timestamp_seconds",
        "rerunnable_job_last_run_timestamp_seconds",
        "rerunnable_job_suspended",
        "rerunnable_job_active_runs",
        "rerunnable_job_last_result{Succeeded}",
    }
    assert now < nightly["rerunnable_job_next_run_timestamp_seconds"] <= now + 86400
    assert now - 120 < nightly["rerunnable_job_last_run_timestamp_seconds"] <= now
    assert (
        nightly["rerunnable_job_last_run_timestamp_seconds"]
        <= nightly["rerunnable_job_last_success_timestamp_seconds"]
        <= now
    )
    assert nightly["rerunnable_job_suspended"] == 0
    broken = of_job(found, namespace, "broken")
    # Suspended: no next run; never succeeded: no last success.
    assert set(broken) == {
        "rerunnable_job_last_run_timestamp_seconds",
        "rerunnable_job_suspended",
        "rerunnable_job_active_runs",
        "rerunnable_job_last_result{Failed}",
    }
    assert broken["rerunnable_job_suspended"] == 1

    names = {name for name, _ in found}
    assert ("workqueue_depth", frozenset({("name", "rerunnablejob")})) in found
    assert {
        "workqueue_adds_total",
        "workqueue_queue_duration_seconds_bucket",
        "workqueue_work_duration_seconds_count",
        "workqueue_retries_total",
        "workqueue_unfinished_work_seconds",
        "workqueue_longest_running_processor_seconds",
        "rerunnable_schedules_missed_total",
        "process_resident_memory_bytes",
        "python_gc_collections_total",
        "python_info",
    } <= names
    (build,) = [dict(labels) for name, labels in found if name == "rerunnable_build_info"]
    assert set(build) == {"version", "python_version", "kopf_version"}
    assert "unknown" not in build.values()

    kube.delete(RerunnableJobResource, "nightly", namespace=namespace)

    def gone() -> Series | None:
        found = scrape(metrics_url(port))
        return found if not of_job(found, namespace, "nightly") else None

    found = wait_until(gone, timeout=60, what="the deleted job's series to go")
    assert of_job(found, namespace, "broken")["rerunnable_job_last_result{Failed}"] == 1
