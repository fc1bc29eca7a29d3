"""The chart's alerts (templates/prometheusrule.yaml): rendered, checked and unit-tested
by promtool (tests/chart/alerts_test.yaml), and the ServiceMonitor they rely on."""

import copy
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.conftest import CHART, Render
from tests.chart.test_render import CHART_LABELS, one

HERE = Path(__file__).parent
UNIT_TESTS = HERE / "alerts_test.yaml"
ON = "prometheusRule.enabled=true"
ALERTS = {
    "RerunnableJobFailing": "warning",
    "RerunnableJobLate": "warning",
    "RerunnableSchedulesMissed": "warning",
    "RerunnableRunsStalled": "warning",
    "RerunnableRunsInterrupted": "info",
    "RerunnableNoLeader": "critical",
    "RerunnableReconcileErrors": "warning",
}

Groups = list[dict[str, Any]]
Promtool = Callable[..., subprocess.CompletedProcess[str]]


def groups_of(render: Render, *values: str) -> Groups:
    groups: Groups = one(render(ON, *values), "PrometheusRule")["spec"]["groups"]
    return groups


def rules_of(groups: Groups) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


@pytest.fixture(scope="module")
def default_groups(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Groups:
    """The groups with the default values, rendered once for the module (copy to change)."""
    home = tmp_path_factory.mktemp("helm")
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "HELM_CACHE_HOME": str(home / "c")}
    env |= {"HELM_CONFIG_HOME": str(home / "f"), "HELM_DATA_HOME": str(home / "d")}
    done = subprocess.run(
        [str(helm_bin), "template", "rr", str(CHART), "-n", "ns", "--set", ON],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    docs = [d for d in yaml.safe_load_all(done.stdout) if d]
    groups: Groups = one(docs, "PrometheusRule")["spec"]["groups"]
    return groups


@pytest.fixture
def run_promtool(promtool: Path, tmp_path: Path) -> Promtool:
    """Run promtool in the test's own folder."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(promtool), *args], capture_output=True, text=True, cwd=tmp_path, check=False
        )

    return run


@pytest.fixture
def unit_test(run_promtool: Promtool, tmp_path: Path) -> Callable[[Groups], str]:
    """promtool test rules: alerts_test.yaml on these groups; what it says if it fails."""

    def run(groups: Groups) -> str:
        (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
        shutil.copy(UNIT_TESTS, tmp_path / "alerts_test.yaml")
        done = run_promtool("test", "rules", "alerts_test.yaml")
        return "" if done.returncode == 0 else done.stdout + done.stderr

    return run


def test_no_rules_unless_enabled(render: Render) -> None:
    assert not [d for d in render() if d["kind"] == "PrometheusRule"]


def test_one_prometheus_rule_of_the_monitoring_component(render: Render) -> None:
    rule = one(render(ON, "prometheusRule.labels.release=kube-prometheus"), "PrometheusRule")
    labels = rule["metadata"]["labels"]
    assert labels.items() >= CHART_LABELS.items()
    assert labels["app.kubernetes.io/component"] == "monitoring"
    assert labels["release"] == "kube-prometheus"
    assert rule["metadata"]["namespace"] == "ns"
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"


def test_every_alert_has_a_severity_a_summary_a_description_and_a_runbook(
    render: Render,
) -> None:
    rules = rules_of(groups_of(render))
    assert {name: rule["labels"]["severity"] for name, rule in rules.items()} == ALERTS
    for name, rule in rules.items():
        assert rule["annotations"].keys() == {"summary", "description", "runbook"}, name
        # Every rule selects this release's series only.
        assert 'job="rr-rerunnable-metrics"' in rule["expr"], name


def test_values_set_the_thresholds_the_job_and_more_labels(render: Render) -> None:
    rules = rules_of(
        groups_of(
            render,
            "prometheusRule.lateAfterMinutes=30",
            "prometheusRule.noLeaderFor=10m",
            "prometheusRule.reconcileErrorsPerSecond=0.5",
            "prometheusRule.reconcileErrorsFor=15m",
            "prometheusRule.job=rerunnable",
            "prometheusRule.alertLabels.team=platform",
            "prometheusRule.runbookUrl=https://runbooks.example/rerunnable",
        )
    )
    assert "> 1800" in rules["RerunnableJobLate"]["expr"]
    assert "more than 30 minutes" in rules["RerunnableJobLate"]["annotations"]["description"]
    assert rules["RerunnableNoLeader"]["for"] == "10m"
    assert rules["RerunnableReconcileErrors"]["expr"].endswith("[5m])) > 0.5")
    assert rules["RerunnableReconcileErrors"]["for"] == "15m"
    for name, rule in rules.items():
        assert 'job="rerunnable"' in rule["expr"], name
        assert "rr-rerunnable-metrics" not in rule["expr"], name
        assert rule["labels"] == {"severity": ALERTS[name], "team": "platform"}
        assert rule["annotations"]["runbook_url"] == (
            f"https://runbooks.example/rerunnable#{name.lower()}"
        )


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("prometheusRule.alertLabels.severity=page", "severity"),
        ("prometheusRule.lateAfterMinutes=0", "lateAfterMinutes"),
        ("prometheusRule.noLeaderFor=5 minutes", "noLeaderFor"),
        ("prometheusRule.reconcileErrorsPerSecond=0", "reconcileErrorsPerSecond"),
        ("prometheusRule.threshold=1", "threshold"),
    ],
)
def test_bad_values_are_refused(refused: Callable[..., str], value: str, field: str) -> None:
    assert field in refused(ON, value)


def test_promtool_finds_the_rules_valid(
    render: Render, run_promtool: Promtool, tmp_path: Path
) -> None:
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups_of(render)}))
    done = run_promtool("check", "rules", "--lint=all", "--lint-fatal", "rules.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in done.stdout


def test_the_unit_tests_pass(default_groups: Groups, unit_test: Callable[[Groups], str]) -> None:
    assert unit_test(default_groups) == ""


def test_every_alert_has_a_case_that_fires_and_one_that_must_not() -> None:
    cases = [
        c
        for test in yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        for c in test.get("alert_rule_test", [])
    ]
    fires = {c["alertname"] for c in cases if c["exp_alerts"]}
    quiet = {c["alertname"] for c in cases if not c["exp_alerts"]}
    assert fires == quiet == ALERTS.keys()
    for case in cases:
        for alert in case["exp_alerts"]:
            assert alert["exp_labels"]["severity"] == ALERTS[case["alertname"]]
            assert alert["exp_annotations"].keys() == {"summary", "description", "runbook"}


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_the_unit_tests_catch_an_alert_that_never_fires(
    default_groups: Groups, unit_test: Callable[[Groups], str], name: str
) -> None:
    groups = copy.deepcopy(default_groups)
    rules_of(groups)[name]["expr"] = "vector(1) < 0"
    assert f"alertname: {name}" in unit_test(groups)


@pytest.mark.parametrize("name", sorted(ALERTS))
def test_the_unit_tests_catch_an_alert_that_always_fires(
    default_groups: Groups, unit_test: Callable[[Groups], str], name: str
) -> None:
    groups = copy.deepcopy(default_groups)
    rules_of(groups)[name]["expr"] = "vector(1)"
    assert f"alertname: {name}" in unit_test(groups)


def test_the_service_monitor_keeps_the_jobs_namespace(render: Render) -> None:
    """The operator's per-job series carry the job's `namespace`: with honorLabels it is
    kept, rather than renamed exported_namespace under the operator's own."""
    monitor = one(render("metrics.serviceMonitor.enabled=true"), "ServiceMonitor")
    assert [e["honorLabels"] for e in monitor["spec"]["endpoints"]] == [True]
    # The rules' job label: the Service the ServiceMonitor scrapes.
    services = [d for d in render() if d["kind"] == "Service"]
    assert "rr-rerunnable-metrics" in [s["metadata"]["name"] for s in services]
