"""What the chart renders for each combination of values, read as objects."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.chart.conftest import CHART, Docs, Helm, Render

WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}
CHART_LABELS = {
    "app.kubernetes.io/name": "rerunnable",
    "app.kubernetes.io/instance": "rr",
    "app.kubernetes.io/part-of": "rerunnable",
    "app.kubernetes.io/managed-by": "Helm",
}
SELECTOR = {"app.kubernetes.io/name": "rerunnable", "app.kubernetes.io/instance": "rr"}
# Everything optional turned on, so that every template renders.
EVERYTHING = (
    "metrics.serviceMonitor.enabled=true",
    "prometheusRule.enabled=true",
    "grafanaDashboard.enabled=true",
)


def one(docs: Docs, kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"{len(found)} {kind} {name or ''}"
    return found[0]


def pod_spec(docs: Docs) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(docs: Docs) -> dict[str, Any]:
    operator: dict[str, Any] = pod_spec(docs)["containers"][0]
    return operator


def test_the_chart_lints_and_its_schema_refuses_unknown_values(helm: Helm) -> None:
    assert helm("lint", str(CHART)).returncode == 0
    refused = helm("lint", str(CHART), "--set", "replicas=3")
    assert refused.returncode != 0
    assert "replicas" in refused.stdout + refused.stderr


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("armAheadSeconds=-1", "armAheadSeconds"),
        ("armAheadSeconds=3601", "armAheadSeconds"),
        ("podDisruptionBudget.maxUnavailable=one", "maxUnavailable"),
        ("podDisruptionBudget.budget=1", "budget"),
        ("strategy.type=Blue", "type"),
        ("topologySpreadConstraints[0].whenUnsatisfiable=Sometimes", "whenUnsatisfiable"),
        ("extraEnv[0].value=x", "name"),
        ("healthPort=0", "healthPort"),
        ("commonLabels.app\\.kubernetes\\.io/instance=x", "commonLabels"),
        ("podLabels.app\\.kubernetes\\.io/component=x", "podLabels"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    refused: Callable[..., str], value: str, field: str
) -> None:
    assert field in refused(value)


def test_every_object_says_which_part_of_the_release_it_is(render: Render) -> None:
    docs = render(*EVERYTHING)
    components = {}
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels.items() >= CHART_LABELS.items(), doc["metadata"]["name"]
        components[(doc["kind"], doc["metadata"]["name"])] = labels["app.kubernetes.io/component"]
    assert set(components.values()) == {
        "operator",
        "webhook",
        "reports",
        "user-roles",
        "admission-policy",
        "crds",
        "monitoring",
    }
    assert components[("Deployment", "rr-rerunnable")] == "operator"
    assert components[("Service", "rr-rerunnable-webhook")] == "webhook"
    assert components[("Service", "rr-rerunnable-reports")] == "reports"
    assert components[("CustomResourceDefinition", "executions.rerunnable.dev")] == "crds"
    assert components[("ClusterRole", "rerunnable-runner")] == "user-roles"
    assert components[("PrometheusRule", "rr-rerunnable")] == "monitoring"
    assert components[("ConfigMap", "rr-rerunnable-dashboard")] == "monitoring"


def test_common_labels_go_on_every_object_and_pod_but_not_on_selectors(render: Render) -> None:
    docs = render(*EVERYTHING, "commonLabels.team=platform", "podLabels.tier=ops")
    for doc in docs:
        assert doc["metadata"]["labels"]["team"] == "platform", doc["metadata"]["name"]
    deployment = one(docs, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pod_labels.items() >= {"team": "platform", "tier": "ops", **SELECTOR}.items()
    assert pod_labels["app.kubernetes.io/component"] == "operator"
    # Selectors are immutable: a label added later must not change them.
    assert deployment["spec"]["selector"]["matchLabels"] == SELECTOR
    assert one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] == SELECTOR
    for service in (d for d in docs if d["kind"] == "Service"):
        assert service["spec"]["selector"] == SELECTOR
    # Only the metrics Service is scraped, not the webhook's or the reports'.
    monitor = one(docs, "ServiceMonitor")["spec"]["selector"]["matchLabels"]
    scraped = [
        d["metadata"]["name"]
        for d in docs
        if d["kind"] == "Service" and d["metadata"]["labels"].items() >= monitor.items()
    ]
    assert scraped == ["rr-rerunnable-metrics"]


def test_the_deployment_is_hardened_and_highly_available(render: Render) -> None:
    docs = render()
    deployment = one(docs, "Deployment")
    pod = pod_spec(docs)
    operator = container(docs)
    assert deployment["spec"]["replicas"] == 2
    assert "--leader-elect" in operator["args"]
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert operator["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert operator["resources"]["requests"]
    # A rollout adds a Ready pod before it stops one: some replica always answers the
    # validating webhook, which fails closed.
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
    }


def test_probes_ask_the_health_server(render: Render) -> None:
    operator = container(render("healthPort=9000"))
    assert "--health-port=9000" in operator["args"]
    assert {"name": "health", "containerPort": 9000} in operator["ports"]
    assert operator["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert operator["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}


@pytest.mark.parametrize(
    ("values", "budget"),
    [
        ((), {"maxUnavailable": 1}),
        (("podDisruptionBudget.maxUnavailable=50%",), {"maxUnavailable": "50%"}),
        (("podDisruptionBudget.minAvailable=2", "replicaCount=3"), {"minAvailable": 2}),
        (("replicaCount=1",), None),
        (("podDisruptionBudget.enabled=false",), None),
    ],
    ids=["default", "a percentage", "minAvailable instead", "one replica", "turned off"],
)
def test_the_disruption_budget(
    render: Render, values: tuple[str, ...], budget: dict[str, Any] | None
) -> None:
    docs = render(*values)
    budgets = [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    if budget is None:
        assert budgets == []
        return
    spec = one(docs, "PodDisruptionBudget")["spec"]
    assert spec == {**budget, "selector": {"matchLabels": SELECTOR}}


def test_replicas_spread_across_nodes_and_zones(render: Render) -> None:
    spread = pod_spec(render())["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == [
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    ]
    for constraint in spread:
        assert constraint["labelSelector"] == {"matchLabels": SELECTOR}
        assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        assert constraint["matchLabelKeys"] == ["pod-template-hash"]


def test_spreading_can_be_set_or_turned_off(render: Render) -> None:
    own = pod_spec(
        render(
            "topologySpreadConstraints[0].maxSkew=2",
            "topologySpreadConstraints[0].topologyKey=rack",
            "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule",
            "topologySpreadConstraints[0].labelSelector.matchLabels.app=x",
        )
    )["topologySpreadConstraints"]
    assert own == [
        {
            "maxSkew": 2,
            "topologyKey": "rack",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": {"matchLabels": {"app": "x"}},
        }
    ]
    assert "topologySpreadConstraints" not in pod_spec(render("topologySpreadConstraints=null"))


def test_recreate_strategy_has_no_rolling_update(render: Render) -> None:
    strategy = one(render("strategy.type=Recreate"), "Deployment")["spec"]["strategy"]
    assert strategy == {"type": "Recreate"}


def test_security_contexts_merge_with_the_defaults(render: Render) -> None:
    docs = render(
        "podSecurityContext.fsGroup=2000",
        "podSecurityContext.runAsUser=1000",
        "securityContext.readOnlyRootFilesystem=false",
    )
    pod = pod_spec(docs)["securityContext"]
    assert pod["fsGroup"] == 2000
    assert pod["runAsUser"] == 1000
    assert pod["runAsNonRoot"] is True
    operator = container(docs)["securityContext"]
    assert operator["readOnlyRootFilesystem"] is False
    assert operator["capabilities"] == {"drop": ["ALL"]}


def test_extra_env_and_pod_annotations(render: Render) -> None:
    docs = render(
        "extraEnv[0].name=HTTPS_PROXY",
        "extraEnv[0].value=http://proxy:3128",
        "podAnnotations.example\\.com/owner=platform",
    )
    env = container(docs)["env"]
    assert [e["name"] for e in env] == ["POD_NAME", "POD_NAMESPACE", "HTTPS_PROXY"]
    assert env[-1] == {"name": "HTTPS_PROXY", "value": "http://proxy:3128"}
    annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"example.com/owner": "platform"}


def test_watching_namespaces_grants_no_cluster_wide_writes(render: Render) -> None:
    docs = render("watchNamespaces={team-a,team-b}")

    # What the chart binds cluster-wide (the user roles are ClusterRoles too, but the
    # chart binds them to nobody: users bind them per namespace).
    bound = {d["roleRef"]["name"] for d in docs if d["kind"] == "ClusterRoleBinding"}
    cluster_rules = [
        r
        for d in docs
        if d["kind"] == "ClusterRole" and d["metadata"]["name"] in bound
        for r in d["rules"]
    ]
    assert cluster_rules, "kopf still needs to read CRDs and namespaces"
    # A TokenReview is a question to the API server (nothing is stored): not a write.
    writes = [r for r in cluster_rules if r["resources"] != ["tokenreviews"]]
    assert all(not WRITE_VERBS & set(r["verbs"]) for r in writes)
    roles = {
        (d["metadata"]["namespace"], d["metadata"]["name"]) for d in docs if d["kind"] == "Role"
    }
    assert ("team-a", "rr-rerunnable") in roles
    assert ("team-b", "rr-rerunnable") in roles
    args = container(docs)["args"]
    assert "--namespace=team-a" in args
    assert "--namespace=team-b" in args
    assert "--all-namespaces" not in args


def test_runs_are_armed_ahead_only_when_asked(render: Render) -> None:
    assert not [a for a in container(render())["args"] if "arm-ahead" in a]
    assert "--arm-ahead-seconds=30" in container(render("armAheadSeconds=30"))["args"]


def pod_reads(docs: Docs, role: str) -> set[tuple[str, str]]:
    """(resource, verb) of the core-group rules of ClusterRole `role`."""
    rules = one(docs, "ClusterRole", role)["rules"]
    return {(res, verb) for r in rules if r["apiGroups"] == [""] for res in r["resources"]
            for verb in r["verbs"]}  # fmt: skip


@pytest.mark.parametrize("role", ["rerunnable-viewer", "rerunnable-runner", "rerunnable-editor"])
def test_the_user_roles_read_pod_logs_unless_told_not_to(render: Render, role: str) -> None:
    # kubectl rerun logs: list and watch a run's pods, get their logs; nothing more.
    assert pod_reads(render(), role) == {
        ("pods", "get"),
        ("pods", "list"),
        ("pods", "watch"),
        ("pods/log", "get"),
    }
    assert pod_reads(render("userRoles.podLogs=false"), role) == set()
