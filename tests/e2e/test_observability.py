"""What the operator tells Prometheus and log pipelines, scraped from a real process."""

import json
import urllib.request

from lightkube import Client

from tests.e2e.certs import free_port
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import annotate_run, create_rjob, manual_name, wait_phase
from tests.e2e.waiting import wait_until


def scrape(port: int) -> dict[str, float]:
    """`name{labels}` -> value, from the Prometheus text format."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_count_runs_by_trigger_and_phase(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    port = free_port()
    operator.extra_args = ["--metrics-port", str(port), "--log-format", "json"]
    operator.start()
    create_rjob(kube, namespace, "counted")
    create_rjob(kube, namespace, "broken", exit_code=1)

    annotate_run(kube, namespace, "counted", "a")
    annotate_run(kube, namespace, "broken", "b")
    wait_phase(kube, namespace, manual_name("counted", "a"), "Succeeded")
    wait_phase(kube, namespace, manual_name("broken", "b"), "Failed")

    def counted() -> dict[str, float] | None:
        found = scrape(port)
        ended = [f'rerunnable_runs_finished_total{{phase="{p}"}}' for p in ("Succeeded", "Failed")]
        return found if all(e in found for e in ended) else None

    samples = wait_until(counted, timeout=30, what="the finished runs to be counted")
    assert samples['rerunnable_runs_started_total{trigger="Manual"}'] == 2
    assert samples['rerunnable_runs_finished_total{phase="Succeeded"}'] == 1
    assert samples['rerunnable_runs_finished_total{phase="Failed"}'] == 1
    assert samples["rerunnable_leader"] == 1
    assert samples["rerunnable_active_executions"] == 0
    assert samples["rerunnable_reconcile_duration_seconds_count"] > 0
    # Every request is counted by what it wrote: two runs, two Jobs and two Executions made.
    made = 'rerunnable_api_requests_total{{code="201",method="POST",resource="{}"}}'
    assert samples[made.format("jobs")] == 2
    assert samples[made.format("executions")] == 2

    # --log-format json: every line a JSON object with the fields log pipelines index.
    lines = [line for line in operator.log_path.read_text().splitlines() if line.strip()]
    assert lines
    for line in lines:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry)
