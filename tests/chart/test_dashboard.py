"""The Grafana dashboard (files/dashboard.json) and its ConfigMap: every panel queries
something, every query is PromQL that promtool accepts, and the ConfigMap carries the
file as it is."""

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import CHART, Render
from tests.chart.test_render import CHART_LABELS, one

DASHBOARD = CHART / "files" / "dashboard.json"
ON = "grafanaDashboard.enabled=true"
# What the panels must show between them.
METRICS = {
    "rerunnable_runs_finished_total",
    "rerunnable_runs_started_total",
    "rerunnable_schedule_lag_seconds_bucket",
    "rerunnable_active_executions",
    "rerunnable_job_active_runs",
    "rerunnable_job_last_result",
    "rerunnable_job_next_run_timestamp_seconds",
    "rerunnable_job_last_run_timestamp_seconds",
    "rerunnable_job_last_success_timestamp_seconds",
    "rerunnable_job_suspended",
    "rerunnable_schedules_missed_total",
    "rerunnable_runs_stalled_total",
    "rerunnable_leader",
    "rerunnable_reconcile_errors_total",
    "rerunnable_reconcile_duration_seconds_bucket",
    "rerunnable_api_requests_total",
    "rerunnable_lease_attempt_failures_total",
    "rerunnable_build_info",
    "workqueue_depth",
    "workqueue_queue_duration_seconds_bucket",
    "workqueue_retries_total",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
}
Panel = dict[str, Any]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(dashboard: dict[str, Any]) -> list[Panel]:
    """Every panel but the rows, also those folded into a row."""
    found: list[Panel] = []
    for panel in dashboard["panels"]:
        found.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return found


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def queries(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression: the panels' targets and the variables' label_values."""
    exprs = [t["expr"] for p in panels(dashboard) for t in p["targets"]]
    for variable in variables(dashboard).values():
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+), *\w+\)", variable["definition"])
            assert match, variable["definition"]
            exprs.append(match[1])
    return exprs


def substituted(expr: str) -> str:
    """An expression as Grafana sends it: its intervals 5m, its variables "all" (.*)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: "5m" if m[1].startswith("__") else ".*", expr)


def test_a_grafana_dashboard_on_a_prometheus_datasource_variable(
    dashboard: dict[str, Any],
) -> None:
    assert dashboard["schemaVersion"] >= 39
    assert dashboard["uid"] == "rerunnable"
    found = variables(dashboard)
    assert found["datasource"]["type"] == "datasource"
    assert found["datasource"]["query"] == "prometheus"
    for name, label in [("namespace", "namespace"), ("rerunnablejob", "rerunnablejob")]:
        assert found[name]["type"] == "query"
        assert found[name]["definition"].startswith("label_values(")
        assert found[name]["definition"].endswith(f", {label})")
    datasource = {"type": "prometheus", "uid": "${datasource}"}
    for variable in found.values():
        if variable["type"] == "query":
            assert variable["datasource"] == datasource, variable["name"]
    for panel in panels(dashboard):
        assert panel["datasource"] == datasource, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == datasource, panel["title"]


def test_every_panel_queries_and_the_panels_show_every_metric(
    dashboard: dict[str, Any],
) -> None:
    titles = [p["title"] for p in panels(dashboard)]
    assert len(titles) == len(set(titles))
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
    shown = {name for e in queries(dashboard) for name in re.findall(r"\b[a-z_]+\b", e)}
    assert shown >= METRICS, METRICS - shown


def test_no_two_panels_overlap(dashboard: dict[str, Any]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} over {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_every_query_is_promql_that_promtool_accepts(
    dashboard: dict[str, Any], promtool: Path, tmp_path: Path
) -> None:
    exprs = [substituted(e) for e in queries(dashboard)]
    assert not [e for e in exprs if "$" in e]
    rules = [{"record": f"dashboard:query_{n}", "expr": e} for n, e in enumerate(exprs)]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout
    # And promtool would have refused a broken one.
    path.write_text(
        yaml.safe_dump(
            {"groups": [{"name": "d", "rules": [{"record": "d:q", "expr": "sum(rate(x[5m])"}]}]}
        )
    )
    broken = subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert broken.returncode != 0


def test_no_dashboard_unless_enabled(render: Render) -> None:
    assert not [d for d in render() if d["kind"] == "ConfigMap"]


def test_the_configmap_carries_the_file_for_grafanas_sidecar(render: Render) -> None:
    configmap = one(render(ON), "ConfigMap", "rr-rerunnable-dashboard")
    labels = configmap["metadata"]["labels"]
    assert labels.items() >= CHART_LABELS.items()
    assert labels["app.kubernetes.io/component"] == "monitoring"
    assert labels["grafana_dashboard"] == "1"
    assert configmap["metadata"]["namespace"] == "ns"
    assert "annotations" not in configmap["metadata"]
    assert configmap["data"] == {"rerunnable.json": DASHBOARD.read_text().rstrip("\n")}


def test_the_configmap_may_go_to_grafanas_namespace_with_its_labels(render: Render) -> None:
    configmap = one(
        render(
            ON,
            "grafanaDashboard.namespace=monitoring",
            "grafanaDashboard.labels.team=platform",
            "grafanaDashboard.annotations.grafana_folder=Rerunnable",
        ),
        "ConfigMap",
    )
    assert configmap["metadata"]["namespace"] == "monitoring"
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["labels"]["team"] == "platform"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Rerunnable"}
