"""Run vs configure: the chart's viewer, runner and editor roles and its admission
policies, proven by impersonation (kubectl --as) against the real API server.

One namespace serves the whole module: the chart's ServiceAccount, RBAC, user roles
and admission policies are applied once (the policies bound to that namespace only,
through watchNamespaces), and the operator runs as the chart's ServiceAccount so that
its own writes face the same policies as everyone else's.
"""

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Namespace

from rerunnable.core.naming import scheduled_execution_name
from tests.e2e.chart import (
    delete_cluster_scoped,
    helm_template,
    kubectl,
    service_account_kubeconfig,
    try_kubectl,
)
from tests.e2e.cluster import Cluster
from tests.e2e.namespaces import create_namespace
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    RerunnableJobResource,
    condition,
    create_rjob,
    executions,
    get_rjob,
    job_template,
    manual_name,
    settled_status,
    wait_phase,
)
from tests.e2e.waiting import wait_until

ADMIN = None  # the kubeconfig's own user: system:masters, so RBAC allows it everything
VIEWER, RUNNER, EDITOR = "vera", "rui", "eddie"  # bound to the chart's three roles
EDIT, VIEW = "edna", "viv"  # bound to the built-in edit and view ClusterRoles
PLAIN = "pia"  # bound to rerunnable-runner as rendered with userRoles.runnerMaySetParameters=false
GARBAGE_COLLECTOR = "system:serviceaccount:kube-system:generic-garbage-collector"
ROLES = ("rerunnable-viewer", "rerunnable-runner", "rerunnable-editor")
BINDINGS = {
    VIEWER: "rerunnable-viewer",
    RUNNER: "rerunnable-runner",
    EDITOR: "rerunnable-editor",
    EDIT: "edit",
    VIEW: "view",
    PLAIN: "rerunnable-runner-plain",
}
RUNNER_ONLY = "a runner may change only the rerunnable.dev/run annotation"
OPERATOR_ONLY = "Executions are written only by the Rerunnable operator"
FORGED = "rerunnable.dev/requested-by records who asked for a run"
REQUESTED_BY = "rerunnable.dev/requested-by"
CANCEL, CANCELLED_BY = "rerunnable.dev/cancel", "rerunnable.dev/cancelled-by"
NEEDS_PARAMETER_VERB = 'needs the "runwithparameters" verb on rerunnablejobs'
WITH_A_NEW_RUN = "parameters go with a new run, in the same request"
ONLY_CANCEL = "of an Execution you may change only the annotation rerunnable.dev/cancel"
READS = {"get", "list", "watch"}
WRITES = {"create", "update", "patch"}


@dataclass(frozen=True)
class Delegation:
    cluster: Cluster
    namespace: str
    operator: OperatorProcess | None = None

    def kubectl(
        self, user: str | None, *args: str, stdin: str | None = None
    ) -> CompletedProcess[str]:
        """kubectl in the namespace as `user` (impersonated), or as the admin for None."""
        who = [f"--as={user}"] if user else []
        return try_kubectl(self.cluster, "-n", self.namespace, *who, *args, stdin=stdin)


def allowed(done: CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def denied(done: CompletedProcess[str]) -> str:
    assert done.returncode != 0, f"expected a refusal, got: {done.stdout}"
    assert "Forbidden" in done.stderr or "forbidden" in done.stderr, done.stderr
    return done.stderr


def refused(done: CompletedProcess[str]) -> str:
    """Refused, whether as Forbidden or as Invalid."""
    assert done.returncode != 0, f"expected a refusal, got: {done.stdout}"
    return done.stderr


def rjob_manifest(namespace: str, name: str, annotations: dict[str, str] | None = None) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": "RerunnableJob",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
            "spec": {"jobTemplate": job_template()},
        }
    )


def execution_manifest(namespace: str, rjob: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": "Execution",
            "metadata": {"name": f"{rjob}-forged", "namespace": namespace},
            "spec": {
                "rerunnableJob": rjob,
                "trigger": "Manual",
                "token": "forged",
                "templateGeneration": 1,
            },
        }
    )


def configuration(kube: Client, namespace: str, name: str) -> dict[str, Any]:
    """Everything a user configures (the operator's status writes aside)."""
    rjob = get_rjob(kube, namespace, name)
    meta = rjob["metadata"]
    return {
        "spec": rjob["spec"],
        **{k: meta.get(k) for k in ("labels", "annotations", "finalizers", "ownerReferences")},
    }


# --- the chart's render -------------------------------------------------------------


def render(cluster: Cluster, *values: str, show_only: tuple[str, ...]) -> list[dict[str, Any]]:
    out = helm_template(cluster, "rr", "ops", *values, show_only=show_only)
    return [doc for doc in yaml.safe_load_all(out) if doc]


def aggregated_to(role: dict[str, Any]) -> set[str]:
    prefix = "rbac.authorization.k8s.io/aggregate-to-"
    labels = role["metadata"].get("labels") or {}
    return {k.removeprefix(prefix) for k, v in labels.items() if k.startswith(prefix) and v}


def test_the_user_roles_have_fixed_names_and_join_the_built_in_roles(cluster: Cluster) -> None:
    roles = {d["metadata"]["name"]: d for d in render(cluster, show_only=("user-roles.yaml",))}

    assert sorted(roles) == sorted(ROLES)
    assert aggregated_to(roles["rerunnable-viewer"]) == {"view", "edit", "admin"}
    assert aggregated_to(roles["rerunnable-runner"]) == set()
    assert aggregated_to(roles["rerunnable-editor"]) == {"edit", "admin"}
    granted = {
        (name, resource, verb)
        for name, role in roles.items()
        for rule in role["rules"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    # Only the operator creates Executions or writes their status; runners and editors
    # may patch them (the policy narrows that to the cancel annotation).
    assert {(n, v) for n, r, v in granted if r.startswith("executions") and v in WRITES} == {
        (n, v) for n in ("rerunnable-runner", "rerunnable-editor") for v in ("patch", "update")
    }
    assert {n for n, r, v in granted if v == "configure"} == {"rerunnable-editor"}
    assert {n for n, r, v in granted if v == "runwithparameters"} == {
        "rerunnable-runner",
        "rerunnable-editor",
    }
    assert all(v in READS for _, r, v in granted if r.endswith("/status"))


def test_only_one_release_need_create_the_user_roles(cluster: Cluster) -> None:
    everything = render(cluster, "--set", "userRoles.create=false", show_only=())
    assert not [d for d in everything if d["metadata"]["name"] in ROLES]

    private = render(
        cluster, "--set", "userRoles.aggregateToDefaultRoles=false", show_only=("user-roles.yaml",)
    )
    assert sorted(d["metadata"]["name"] for d in private) == sorted(ROLES)
    assert all(aggregated_to(d) == set() for d in private)


def test_a_runner_may_be_a_plain_runner(cluster: Cluster) -> None:
    plain = render(
        cluster, "--set", "userRoles.runnerMaySetParameters=false", show_only=("user-roles.yaml",)
    )
    verbs = {
        d["metadata"]["name"]: {v for rule in d["rules"] for v in rule["verbs"]} for d in plain
    }
    assert "runwithparameters" not in verbs["rerunnable-runner"]
    assert "patch" in verbs["rerunnable-runner"]
    assert "runwithparameters" in verbs["rerunnable-editor"]


SELECTORS = [
    ("all namespaces by default", (), {}),
    (
        "the watched namespaces",
        ("--set", "watchNamespaces={team-a,team-b}"),
        {
            "matchExpressions": [
                {
                    "key": "kubernetes.io/metadata.name",
                    "operator": "In",
                    "values": ["team-a", "team-b"],
                }
            ]
        },
    ),
    (
        "an explicit selector wins",
        (
            "--set",
            "watchNamespaces={team-a}",
            "--set",
            "admissionPolicy.namespaceSelector.matchLabels.rerunnable=on",
        ),
        {"matchLabels": {"rerunnable": "on"}},
    ),
]


@pytest.mark.parametrize(
    ("values", "selector"), [s[1:] for s in SELECTORS], ids=[s[0] for s in SELECTORS]
)
def test_the_policies_bind_where_asked(
    cluster: Cluster, values: tuple[str, ...], selector: dict[str, Any]
) -> None:
    docs = render(cluster, *values, show_only=("admission-policy.yaml",))

    bindings = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"]
    policies = {d["metadata"]["name"] for d in docs if d["kind"] == "ValidatingAdmissionPolicy"}
    assert policies == {"rr-rerunnable-rerunnablejobs", "rr-rerunnable-executions"}
    assert {b["spec"]["policyName"] for b in bindings} == policies
    for binding in bindings:
        assert binding["spec"]["validationActions"] == ["Deny"]
        assert binding["spec"]["matchResources"]["namespaceSelector"] == selector


def test_the_execution_policy_names_the_operators_service_account(cluster: Cluster) -> None:
    for values, account in (
        ((), "system:serviceaccount:ops:rr-rerunnable"),
        (("--set", "serviceAccount.name=runs"), "system:serviceaccount:ops:runs"),
    ):
        docs = render(cluster, *values, show_only=("admission-policy.yaml",))
        policy = next(d for d in docs if d["metadata"]["name"] == "rr-rerunnable-executions")
        operator = {"name": "operator", "expression": f'"{account}"'}
        assert policy["spec"]["variables"][0] == operator

    off = render(cluster, "--set", "admissionPolicy.enabled=false", show_only=())
    assert not [d for d in off if d["kind"].startswith("ValidatingAdmissionPolicy")]


# --- the real thing ----------------------------------------------------------------


@pytest.fixture(scope="module")
def delegation(
    cluster: Cluster, kube: Client, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Delegation]:
    suffix = uuid.uuid4().hex[:6]
    namespace, release = f"delegation-{suffix}", f"dlg-{suffix}"
    logs = tmp_path_factory.mktemp("delegation")
    operator: OperatorProcess | None = None
    try:
        create_namespace(kube, namespace)
        # watchNamespaces binds the policies to this namespace alone: the cluster is shared.
        rendered = helm_template(
            cluster,
            release,
            namespace,
            "--set",
            f"watchNamespaces={{{namespace}}}",
            show_only=(
                "serviceaccount.yaml",
                "rbac.yaml",
                "user-roles.yaml",
                "admission-policy.yaml",
            ),
        )
        kubectl(cluster, "apply", "-n", namespace, "-f", "-", stdin=own_roles(rendered, suffix))
        kubectl(cluster, "apply", "-f", "-", stdin=plain_runner_role(cluster, suffix))
        for user, role in BINDINGS.items():
            kubectl(
                cluster,
                "create",
                "rolebinding",
                user,
                "-n",
                namespace,
                f"--clusterrole={role if role in ('edit', 'view') else f'{role}-{suffix}'}",
                f"--user={user}",
            )
        d = Delegation(cluster, namespace)
        started = time.monotonic()
        wait_until(lambda: policies_enforced(d), timeout=60, what="the admission policies")
        wait_until(lambda: roles_granted(d), timeout=60, what="the RoleBindings and aggregation")
        print(f"policies and roles in force after {time.monotonic() - started:.1f}s")

        account = f"{release}-rerunnable"
        config = service_account_kubeconfig(cluster, namespace, account, logs / "kubeconfig")
        operator = OperatorProcess(namespace, config, logs)
        operator.start()
        yield Delegation(cluster, namespace, operator)
        # Its writes all passed the policies (and RBAC) that bind everyone else.
        assert "Forbidden" not in operator.log_path.read_text()
    finally:
        if operator is not None:
            operator.stop()
            print(operator.logs())
        delete_cluster_scoped(cluster, release)
        kube.delete(Namespace, namespace)


def own_roles(rendered: str, suffix: str) -> str:
    """The render, with this run's own copy of the fixed-name ClusterRoles.

    Another test session on the same cluster may hold rerunnable-viewer & co at the
    same moment; the rules, labels and aggregation are the chart's, only the names differ.
    """
    docs = [doc for doc in yaml.safe_load_all(rendered) if doc]
    for doc in docs:
        if doc["kind"] == "ClusterRole" and doc["metadata"]["name"] in ROLES:
            doc["metadata"]["name"] += f"-{suffix}"
    return yaml.safe_dump_all(docs)


def plain_runner_role(cluster: Cluster, suffix: str) -> str:
    """rerunnable-runner as rendered with userRoles.runnerMaySetParameters=false, named for
    this run (the fixed name is the chart's own runner's)."""
    rendered = helm_template(
        cluster,
        f"plain-{suffix}",
        "ops",
        "--set",
        "userRoles.runnerMaySetParameters=false",
        show_only=("user-roles.yaml",),
    )
    (role,) = [
        doc
        for doc in yaml.safe_load_all(rendered)
        if doc and doc["metadata"]["name"] == "rerunnable-runner"
    ]
    role["metadata"]["name"] = f"rerunnable-runner-plain-{suffix}"
    role["metadata"]["labels"]["app.kubernetes.io/instance"] = f"dlg-{suffix}"
    return yaml.safe_dump(role)


def policies_enforced(d: Delegation) -> bool:
    """True once the API server's policy informer enforces both policies here.

    Probed with server-side dry runs that only the policies refuse: the admin
    (system:masters) creating an Execution, and forging requested-by.
    """
    execution = d.kubectl(
        ADMIN, "create", "--dry-run=server", "-f", "-", stdin=execution_manifest(d.namespace, "p")
    )
    rjob = d.kubectl(
        ADMIN,
        "create",
        "--dry-run=server",
        "-f",
        "-",
        stdin=rjob_manifest(d.namespace, "probe", {REQUESTED_BY: "nobody"}),
    )
    return OPERATOR_ONLY in execution.stderr and FORGED in rjob.stderr


def roles_granted(d: Delegation) -> bool:
    def can(user: str, verb: str) -> bool:
        done = d.kubectl(user, "auth", "can-i", verb, "rerunnablejobs.rerunnable.dev")
        return done.stdout.strip() == "yes"

    return (
        can(VIEWER, "list")
        and can(RUNNER, "patch")
        and can(EDITOR, "configure")
        and can(EDIT, "configure")
        and can(VIEW, "list")
        and can(PLAIN, "patch")
    )


# (user, verb, resource, allowed): what RBAC alone says, `kubectl auth can-i --as USER`.
CAN_I = [
    (VIEWER, "get", "rerunnablejobs", True),
    (VIEWER, "watch", "executions", True),
    (VIEWER, "patch", "rerunnablejobs", False),
    (VIEWER, "delete", "executions", False),
    (RUNNER, "list", "executions", True),
    (RUNNER, "patch", "rerunnablejobs", True),  # narrowed to the run annotation by the policy
    (RUNNER, "configure", "rerunnablejobs", False),
    (RUNNER, "create", "rerunnablejobs", False),
    (RUNNER, "delete", "rerunnablejobs", False),
    (RUNNER, "patch", "rerunnablejobs/status", False),
    (RUNNER, "delete", "executions", False),
    (EDITOR, "configure", "rerunnablejobs", True),
    (EDITOR, "create", "rerunnablejobs", True),
    (EDITOR, "deletecollection", "rerunnablejobs", True),
    (EDITOR, "delete", "executions", True),
    (EDITOR, "update", "rerunnablejobs/status", False),
    (EDITOR, "create", "executions", False),
    (EDITOR, "patch", "executions", True),  # narrowed to the cancel annotation by the policy
    (EDITOR, "runwithparameters", "rerunnablejobs", True),
    (RUNNER, "patch", "executions", True),  # narrowed to the cancel annotation by the policy
    (RUNNER, "create", "executions", False),
    (RUNNER, "patch", "executions/status", False),
    (RUNNER, "runwithparameters", "rerunnablejobs", True),
    (VIEWER, "patch", "executions", False),
    (VIEWER, "runwithparameters", "rerunnablejobs", False),
    (PLAIN, "patch", "rerunnablejobs", True),
    (PLAIN, "patch", "executions", True),
    (PLAIN, "runwithparameters", "rerunnablejobs", False),
    (EDIT, "runwithparameters", "rerunnablejobs", True),
    (EDIT, "patch", "executions", True),
    (VIEW, "patch", "executions", False),
    (EDITOR, "patch", "executions/status", False),
    (EDIT, "configure", "rerunnablejobs", True),
    (EDIT, "delete", "executions", True),
    (EDIT, "create", "executions", False),
    (VIEW, "list", "rerunnablejobs", True),
    (VIEW, "patch", "rerunnablejobs", False),
]


@pytest.mark.parametrize(
    ("user", "verb", "resource", "expected"),
    CAN_I,
    ids=[f"{u} {v} {r} {'yes' if a else 'no'}" for u, v, r, a in CAN_I],
)
def test_each_role_has_exactly_its_verbs(
    delegation: Delegation, user: str, verb: str, resource: str, expected: bool
) -> None:
    kind, _, subresource = resource.partition("/")
    sub = [f"--subresource={subresource}"] if subresource else []
    done = delegation.kubectl(user, "auth", "can-i", verb, f"{kind}.rerunnable.dev", *sub)
    assert done.stdout.strip() == ("yes" if expected else "no"), done.stderr


@pytest.mark.parametrize("user", [VIEWER, RUNNER, EDITOR, EDIT, VIEW])
def test_everyone_bound_reads_rjobs_and_executions(
    delegation: Delegation, kube: Client, user: str
) -> None:
    name = f"read-{user}"
    create_rjob(kube, delegation.namespace, name)
    assert allowed(delegation.kubectl(ADMIN, "annotate", f"rjob/{name}", "rerunnable.dev/run=r"))
    wait_phase(kube, delegation.namespace, manual_name(name, "r"), "Succeeded")

    assert f"rerunnablejob.rerunnable.dev/{name}" in allowed(
        delegation.kubectl(user, "get", "rjob", "-o", "name")
    )
    assert manual_name(name, "r") in allowed(delegation.kubectl(user, "get", "rjex", "-o", "name"))


def test_a_runner_starts_a_run_and_the_operator_records_it(
    delegation: Delegation, kube: Client
) -> None:
    create_rjob(kube, delegation.namespace, "nightly")
    allowed(
        delegation.kubectl(
            RUNNER, "annotate", "rjob/nightly", "rerunnable.dev/run=t1", "--overwrite"
        )
    )
    wait_phase(kube, delegation.namespace, manual_name("nightly", "t1"), "Succeeded")
    allowed(
        delegation.kubectl(
            RUNNER, "annotate", "rjob/nightly", "rerunnable.dev/run=t2", "--overwrite"
        )
    )
    wait_phase(kube, delegation.namespace, manual_name("nightly", "t2"), "Succeeded")
    # The operator, as the chart's ServiceAccount, wrote both Executions past the policy,
    # and the RerunnableJob's status (not the policy's business) after them.
    assert settled_status(kube, delegation.namespace, "nightly")["lastRunToken"] == "t2"


# (id, kubectl arguments after the verb's object, what the refusal names). {rjob} is the object.
CHANGES = [
    ("patch spec", ["patch", "{rjob}", "--type=merge", "-p", '{"spec":{"suspend":true}}'], "spec"),
    ("label", ["label", "{rjob}", "team=payments"], "labels"),
    ("another annotation", ["annotate", "{rjob}", "owner=rui"], "annotation owner"),
    (
        "a run and a spec change at once",
        [
            "patch",
            "{rjob}",
            "--type=merge",
            "-p",
            json.dumps(
                {
                    "metadata": {"annotations": {"rerunnable.dev/run": "sneaky"}},
                    "spec": {"concurrencyPolicy": "Forbid"},
                }
            ),
        ],
        "spec",
    ),
    (
        "add a finalizer",
        ["patch", "{rjob}", "--type=merge", "-p", '{"metadata":{"finalizers":["example.com/x"]}}'],
        "finalizers",
    ),
]


@pytest.mark.parametrize(("change", "what"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_runner_may_not_configure(
    delegation: Delegation, kube: Client, change: list[str], what: str
) -> None:
    name = f"runner-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name)
    before = configuration(kube, delegation.namespace, name)

    refusal = denied(
        delegation.kubectl(RUNNER, *[a.replace("{rjob}", f"rjob/{name}") for a in change])
    )

    assert RUNNER_ONLY in refusal
    assert f"this request also changes {what}" in refusal
    assert "needs the rerunnable-editor role" in refusal
    assert configuration(kube, delegation.namespace, name) == before  # nothing changed


@pytest.mark.parametrize("user", [EDITOR, EDIT], ids=["rerunnable-editor", "built-in edit"])
@pytest.mark.parametrize(("change", "what"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_an_editor_may_configure(
    delegation: Delegation, kube: Client, user: str, change: list[str], what: str
) -> None:
    name = f"editor-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name)
    before = configuration(kube, delegation.namespace, name)

    allowed(delegation.kubectl(user, *[a.replace("{rjob}", f"rjob/{name}") for a in change]))

    assert configuration(kube, delegation.namespace, name) != before


# (user, kubectl arguments, what RBAC names in its refusal)
RBAC_REFUSALS = [
    (
        VIEWER,
        ["annotate", "rjob/{rjob}", "rerunnable.dev/run=v"],
        'cannot patch resource "rerunnablejobs"',
    ),
    (VIEWER, ["delete", "rjob/{rjob}"], 'cannot delete resource "rerunnablejobs"'),
    (RUNNER, ["create", "-f", "-"], 'cannot create resource "rerunnablejobs"'),
    (RUNNER, ["delete", "rjob/{rjob}"], 'cannot delete resource "rerunnablejobs"'),
    (RUNNER, ["delete", "rjex/{rjob}-x"], 'cannot delete resource "executions"'),
    (
        VIEW,
        ["annotate", "rjob/{rjob}", "rerunnable.dev/run=v"],
        'cannot patch resource "rerunnablejobs"',
    ),
    (
        EDITOR,
        ["patch", "rjob/{rjob}", "--subresource=status", "--type=merge", "-p", '{"status":{}}'],
        'cannot patch resource "rerunnablejobs/status"',
    ),
]


@pytest.mark.parametrize(
    ("user", "args", "message"),
    RBAC_REFUSALS,
    ids=[f"{u} {' '.join(a[:2])}" for u, a, _ in RBAC_REFUSALS],
)
def test_rbac_refuses_what_a_role_lacks(
    delegation: Delegation, kube: Client, user: str, args: list[str], message: str
) -> None:
    name = f"rbac-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name)
    before = configuration(kube, delegation.namespace, name)

    refusal = denied(
        delegation.kubectl(
            user,
            *[a.replace("{rjob}", name) for a in args],
            stdin=rjob_manifest(delegation.namespace, f"{name}-new"),
        )
    )

    assert f'User "{user}" {message}' in refusal
    assert configuration(kube, delegation.namespace, name) == before


# (who, the name they write into requested-by, allowed?)
STAMPS = [
    (RUNNER, "someone-else", False),
    (RUNNER, RUNNER, True),
    (EDITOR, RUNNER, False),
    (ADMIN, RUNNER, False),
]


@pytest.mark.parametrize(
    ("user", "stamp", "ok"),
    STAMPS,
    ids=[f"{u or 'cluster-admin'} as {s}: {'yes' if ok else 'no'}" for u, s, ok in STAMPS],
)
def test_nobody_can_forge_who_ran_a_job(
    delegation: Delegation, kube: Client, user: str | None, stamp: str, ok: bool
) -> None:
    name = f"stamp-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name)
    run = [
        "annotate",
        f"rjob/{name}",
        f"rerunnable.dev/run=by-{stamp}",
        f"{REQUESTED_BY}={stamp}",
        "--overwrite",
    ]

    done = delegation.kubectl(user, *run)

    annotations = get_rjob(kube, delegation.namespace, name)["metadata"].get("annotations") or {}
    if ok:
        allowed(done)
        assert annotations[REQUESTED_BY] == stamp
    else:
        assert FORGED in denied(done)
        if user is not None:
            assert f"set it only to your own user name ({user})" in done.stderr
        assert REQUESTED_BY not in annotations


def test_a_recorded_requester_does_not_block_later_changes(
    delegation: Delegation, kube: Client
) -> None:
    # rui ran it (as the stamping webhook records it); eddie may still configure it:
    # only a requested-by that changes must name the requester.
    create_rjob(kube, delegation.namespace, "stamped")
    allowed(
        delegation.kubectl(
            RUNNER, "annotate", "rjob/stamped", "rerunnable.dev/run=1", f"{REQUESTED_BY}={RUNNER}"
        )
    )
    allowed(
        delegation.kubectl(
            EDITOR, "patch", "rjob/stamped", "--type=merge", "-p", '{"spec":{"suspend":true}}'
        )
    )
    assert get_rjob(kube, delegation.namespace, "stamped")["spec"]["suspend"] is True


def test_an_editor_creates_and_deletes_rjobs(delegation: Delegation, kube: Client) -> None:
    allowed(
        delegation.kubectl(
            EDITOR, "create", "-f", "-", stdin=rjob_manifest(delegation.namespace, "fresh")
        )
    )
    assert get_rjob(kube, delegation.namespace, "fresh")
    allowed(delegation.kubectl(EDITOR, "delete", "rjob/fresh"))
    assert "fresh" not in {
        r["metadata"]["name"]
        for r in kube.list(RerunnableJobResource, namespace=delegation.namespace)
    }


def test_an_editor_deletes_an_execution_and_its_job(delegation: Delegation, kube: Client) -> None:
    create_rjob(kube, delegation.namespace, "pruned")
    allowed(delegation.kubectl(EDITOR, "annotate", "rjob/pruned", "rerunnable.dev/run=p"))
    name = manual_name("pruned", "p")
    wait_phase(kube, delegation.namespace, name, "Succeeded")

    allowed(delegation.kubectl(EDITOR, "delete", f"rjex/{name}"))

    assert name not in executions(kube, delegation.namespace)
    wait_until(
        lambda: (
            name
            not in {
                j.metadata.name
                for j in kube.list(Job, namespace=delegation.namespace)
                if j.metadata
            }
        ),
        timeout=60,
        what=f"Job {name} to follow its Execution",
    )


def test_only_the_operator_writes_executions(delegation: Delegation, kube: Client) -> None:
    create_rjob(kube, delegation.namespace, "recorded")
    allowed(delegation.kubectl(RUNNER, "annotate", "rjob/recorded", "rerunnable.dev/run=r"))
    name = manual_name("recorded", "r")
    wait_phase(kube, delegation.namespace, name, "Succeeded")

    # Even a cluster-admin, whom RBAC lets do anything, cannot create or rewrite one.
    created = denied(
        delegation.kubectl(
            ADMIN, "create", "-f", "-", stdin=execution_manifest(delegation.namespace, "recorded")
        )
    )
    assert OPERATOR_ONLY in created
    assert "kubectl annotate rjob/recorded rerunnable.dev/run=TOKEN --overwrite" in created
    rewritten = denied(
        delegation.kubectl(
            ADMIN,
            "patch",
            f"rjex/{name}",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"message":"it failed, really"}}',
        )
    )
    assert OPERATOR_ONLY in rewritten
    assert "to drop it, delete the Execution" in rewritten
    assert (executions(kube, delegation.namespace)[name]["status"]).get("message") != (
        "it failed, really"
    )
    # Besides its spec and status, only the cancel annotation is anyone's to change.
    labelled = denied(delegation.kubectl(ADMIN, "label", f"rjex/{name}", "reviewed=yes"))
    assert f"{ONLY_CANCEL}, to cancel its run (kubectl rerun cancel {name})" in labelled
    assert "this request also changes labels" in labelled
    # Nor may anyone mark a run armed (a run waiting for its slot, which no policy counts).
    armed = denied(
        delegation.kubectl(ADMIN, "annotate", f"rjex/{name}", "rerunnable.dev/armed=true")
    )
    assert "this request also changes annotation rerunnable.dev/armed" in armed


def test_the_garbage_collector_may_drop_an_owner_reference(
    delegation: Delegation, kube: Client
) -> None:
    owner = json.loads(
        allowed(delegation.kubectl(ADMIN, "create", "configmap", "owner", "-o", "json"))
    )["metadata"]
    create_rjob(kube, delegation.namespace, "owned")
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["uid"]}
    allowed(
        delegation.kubectl(
            ADMIN,
            "patch",
            "rjob/owned",
            "--type=merge",
            "-p",
            json.dumps({"metadata": {"ownerReferences": [reference]}}),
        )
    )
    orphan = [
        "patch",
        "rjob/owned",
        "--type=json",
        "-p",
        '[{"op":"remove","path":"/metadata/ownerReferences"}]',
    ]

    assert "this request also changes ownerReferences" in denied(
        delegation.kubectl(RUNNER, *orphan)
    )
    allowed(delegation.kubectl(GARBAGE_COLLECTOR, *orphan))

    assert not get_rjob(kube, delegation.namespace, "owned")["metadata"].get("ownerReferences")


def test_a_controller_with_runner_rights_may_finish_a_deletion(
    delegation: Delegation, kube: Client
) -> None:
    # A finalizer holds the deleted RerunnableJob; the controller that put it there
    # (here with only the runner's rights) removes it, which needs no "configure".
    create_rjob(kube, delegation.namespace, "held")
    allowed(
        delegation.kubectl(
            ADMIN,
            "patch",
            "rjob/held",
            "--type=merge",
            "-p",
            '{"metadata":{"finalizers":["example.com/hold"]}}',
        )
    )
    allowed(delegation.kubectl(EDITOR, "delete", "rjob/held", "--wait=false"))
    assert get_rjob(kube, delegation.namespace, "held")["metadata"].get("deletionTimestamp")

    allowed(
        delegation.kubectl(
            RUNNER,
            "patch",
            "rjob/held",
            "--type=json",
            "-p",
            '[{"op":"remove","path":"/metadata/finalizers"}]',
        )
    )

    assert "held" not in {
        r["metadata"]["name"]
        for r in kube.list(RerunnableJobResource, namespace=delegation.namespace)
    }


# --- parameters and cancel -----------------------------------------------------------

PARAMETERS = [{"name": "DAY", "default": "today"}, {"name": "FORMAT", "default": "csv"}]


def create_parameterised(kube: Client, namespace: str, name: str, **spec: Any) -> None:
    create_rjob(kube, namespace, name, parameters=PARAMETERS, **spec)


def run_with(token: str, **values: str) -> list[str]:
    """`kubectl annotate` arguments sending `values` with the run of `token`."""
    return [
        "rerunnable.dev/run=" + token,
        "rerunnable.dev/parameters-for=" + token,
        *[f"parameters.rerunnable.dev/{k}={v}" for k, v in values.items()],
        "--overwrite",
    ]


@pytest.mark.parametrize("user", [RUNNER, EDITOR])
def test_a_runner_runs_with_parameters(delegation: Delegation, kube: Client, user: str) -> None:
    name = f"params-{uuid.uuid4().hex[:6]}"
    create_parameterised(kube, delegation.namespace, name)
    allowed(delegation.kubectl(user, "annotate", f"rjob/{name}", *run_with("t1", DAY="monday")))
    run = manual_name(name, "t1")
    wait_phase(kube, delegation.namespace, run, "Succeeded")
    recorded = executions(kube, delegation.namespace)[run]["spec"]["parameters"]
    assert recorded == {"DAY": "monday", "FORMAT": "csv"}


def test_a_plain_runner_runs_with_the_defaults_only(delegation: Delegation, kube: Client) -> None:
    name = f"plain-{uuid.uuid4().hex[:6]}"
    create_parameterised(kube, delegation.namespace, name)
    before = configuration(kube, delegation.namespace, name)

    refusal = denied(
        delegation.kubectl(PLAIN, "annotate", f"rjob/{name}", *run_with("t1", DAY="monday"))
    )
    assert NEEDS_PARAMETER_VERB in refusal
    assert f"which {PLAIN} does not have in namespace {delegation.namespace}" in refusal
    assert f"without parameters the run takes the defaults: kubectl rerun run {name}" in refusal
    assert configuration(kube, delegation.namespace, name) == before

    allowed(delegation.kubectl(PLAIN, "annotate", f"rjob/{name}", "rerunnable.dev/run=t2"))
    run = manual_name(name, "t2")
    wait_phase(kube, delegation.namespace, run, "Succeeded")
    recorded = executions(kube, delegation.namespace)[run]["spec"]["parameters"]
    assert recorded == {"DAY": "today", "FORMAT": "csv"}


# (id, annotations after the first run t1 (sent with DAY=monday), what the refusal says)
OUT_OF_TURN = [
    ("values without a new token", ["parameters.rerunnable.dev/DAY=friday"], WITH_A_NEW_RUN),
    (
        "values for another token",
        ["rerunnable.dev/run=t2", "parameters.rerunnable.dev/DAY=friday"],
        WITH_A_NEW_RUN,
    ),
    (
        "parameters-for naming a later token",
        ["rerunnable.dev/parameters-for=t3", "parameters.rerunnable.dev/DAY=friday"],
        WITH_A_NEW_RUN,
    ),
]


@pytest.mark.parametrize("user", [RUNNER, EDITOR])
@pytest.mark.parametrize(
    ("pairs", "message"), [c[1:] for c in OUT_OF_TURN], ids=[c[0] for c in OUT_OF_TURN]
)
def test_parameters_go_only_with_their_own_new_token(
    delegation: Delegation, kube: Client, pairs: list[str], message: str, user: str
) -> None:
    name = f"turn-{uuid.uuid4().hex[:6]}"
    create_parameterised(kube, delegation.namespace, name)
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjob/{name}", *run_with("t1", DAY="monday")))
    before = configuration(kube, delegation.namespace, name)

    # Whatever the role: a value changed under a run asked for would not be its own.
    done = delegation.kubectl(user, "annotate", f"rjob/{name}", *pairs, "--overwrite")

    assert done.returncode != 0, done.stdout
    assert message in done.stderr
    assert configuration(kube, delegation.namespace, name) == before


def test_a_runner_cancels_a_run_and_a_viewer_may_not(delegation: Delegation, kube: Client) -> None:
    name = f"cancel-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name, duration="600s")
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjob/{name}", "rerunnable.dev/run=t1"))
    run = manual_name(name, "t1")
    wait_phase(kube, delegation.namespace, run, "Running")

    refusal = denied(delegation.kubectl(VIEWER, "annotate", f"rjex/{run}", f"{CANCEL}=true"))
    assert f'User "{VIEWER}" cannot patch resource "executions"' in refusal
    for forged in (f"{CANCEL}=yes", f"{CANCELLED_BY}=someone-else"):
        refused(delegation.kubectl(RUNNER, "annotate", f"rjex/{run}", forged))
    assert executions(kube, delegation.namespace)[run]["status"]["phase"] == "Running"

    # Stamping oneself is allowed (the webhook would stamp the same).
    allowed(
        delegation.kubectl(
            RUNNER, "annotate", f"rjex/{run}", f"{CANCEL}=true", f"{CANCELLED_BY}={RUNNER}"
        )
    )
    wait_phase(kube, delegation.namespace, run, "Interrupted")
    status = executions(kube, delegation.namespace)[run]["status"]
    assert (status["reason"], status["cancelledBy"]) == ("Cancelled", RUNNER)
    assert status["message"] == f"cancelled by {RUNNER}; its Job is deleted"

    # Once asked, a cancel is never withdrawn; once finished, nothing is cancelled again.
    withdrawn = refused(delegation.kubectl(RUNNER, "annotate", f"rjex/{run}", f"{CANCEL}-"))
    assert "once set, it is never changed or removed" in withdrawn


def test_the_user_roles_read_the_pods_and_logs_of_runs(delegation: Delegation) -> None:
    """kubectl rerun logs lists and watches a run's pods and gets their logs."""

    def can(user: str, verb: str, resource: str) -> str:
        return delegation.kubectl(user, "auth", "can-i", verb, resource).stdout.strip()

    for user in (VIEWER, RUNNER, EDITOR):
        for verb, resource in (("list", "pods"), ("watch", "pods"), ("get", "pods/log")):
            assert can(user, verb, resource) == "yes", (user, verb, resource)
        assert can(user, "delete", "pods") == "no"
        assert can(user, "create", "pods/exec") == "no"


# (id, kubectl arguments on an Execution, what the refusal says)
EXECUTION_CHANGES = [
    ("a label", ["label", "{rjex}", "mine=yes"], "this request also changes labels"),
    ("another annotation", ["annotate", "{rjex}", "note=x"], "also changes annotation note"),
    (
        "cancel with another value",
        ["annotate", "{rjex}", f"{CANCEL}=later"],
        'set it to "true" (kubectl rerun cancel',
    ),
    (
        "someone else's name as the canceller",
        ["annotate", "{rjex}", f"{CANCELLED_BY}={EDITOR}"],
        f"set it only to your own user name ({RUNNER})",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"),
    [c[1:] for c in EXECUTION_CHANGES],
    ids=[c[0] for c in EXECUTION_CHANGES],
)
def test_a_runner_may_only_ask_for_a_cancel(
    delegation: Delegation, kube: Client, change: list[str], message: str
) -> None:
    name = f"only-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name)
    allowed(delegation.kubectl(ADMIN, "annotate", f"rjob/{name}", "rerunnable.dev/run=t1"))
    run = manual_name(name, "t1")
    wait_phase(kube, delegation.namespace, run, "Succeeded")
    before = executions(kube, delegation.namespace)[run]["metadata"]["resourceVersion"]
    done = delegation.kubectl(RUNNER, *[a.replace("{rjex}", f"rjex/{run}") for a in change])
    assert done.returncode != 0, done.stdout
    assert message in done.stderr
    assert executions(kube, delegation.namespace)[run]["metadata"]["resourceVersion"] == before


def test_the_policy_refuses_the_cancel_of_a_finished_run(
    delegation: Delegation, kube: Client
) -> None:
    name = f"done-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name)
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjob/{name}", "rerunnable.dev/run=t1"))
    run = manual_name(name, "t1")
    wait_phase(kube, delegation.namespace, run, "Succeeded")

    done = delegation.kubectl(RUNNER, "annotate", f"rjex/{run}", f"{CANCEL}=true")

    assert done.returncode != 0, done.stdout
    assert f"execution {run} has already finished: Succeeded (CompletionsReached), at " in (
        done.stderr
    )
    assert "there is nothing to cancel" in done.stderr
    annotations = executions(kube, delegation.namespace)[run]["metadata"].get("annotations") or {}
    assert CANCEL not in annotations


def test_a_runner_may_call_off_the_retry_a_failed_run_waits_for(
    delegation: Delegation, kube: Client
) -> None:
    name = f"retry-{uuid.uuid4().hex[:6]}"
    retry = {"limit": 2, "backoff": {"initialSeconds": 600}}
    create_rjob(kube, delegation.namespace, name, exit_code=1, retry=retry)
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjob/{name}", "rerunnable.dev/run=t1"))
    run = manual_name(name, "t1")

    def waiting() -> bool:
        found = executions(kube, delegation.namespace).get(run)
        return found is not None and bool((found.get("status") or {}).get("nextAttemptTime"))

    wait_until(
        waiting,
        timeout=60,
        what=f"{run} to fail and wait for its retry",
    )

    # Finished, but its run is not over: the policy lets the runner call the retry off.
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjex/{run}", f"{CANCEL}=true"))
    wait_until(
        lambda: (
            (condition(executions(kube, delegation.namespace)[run], "Retrying") or {}).get("reason")
            == "Cancelled"
        ),
        timeout=30,
        what="the retry to be called off",
    )
    runs = executions(kube, delegation.namespace)
    assert [n for n, e in runs.items() if e["spec"]["rerunnableJob"] == name] == [run]


def test_a_runner_may_resume_a_job_stopped_by_failures_but_not_change_its_spec(
    delegation: Delegation, kube: Client
) -> None:
    name = f"resume-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name, suspendAfterFailures=1)
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjob/{name}", "rerunnable.dev/resume=r1"))
    wait_until(
        lambda: (
            (get_rjob(kube, delegation.namespace, name).get("status") or {}).get("lastResumeToken")
            == "r1"
        ),
        timeout=30,
        what="the operator to take the resume token",
    )
    refused = delegation.kubectl(
        RUNNER, "patch", f"rjob/{name}", "--type=merge", "-p", '{"spec":{"suspend":true}}'
    )
    assert refused.returncode != 0
    assert RUNNER_ONLY in refused.stderr


def test_a_runner_may_backfill_and_a_viewer_may_not(delegation: Delegation, kube: Client) -> None:
    name = f"fill-{uuid.uuid4().hex[:6]}"
    create_rjob(kube, delegation.namespace, name, schedule="0 0 * * *")
    span = "rerunnable.dev/backfill=2026-11-01T00:00:00Z/2026-11-02T00:00:00Z"
    denied = delegation.kubectl(VIEWER, "annotate", f"rjob/{name}", span)
    assert denied.returncode != 0
    allowed(delegation.kubectl(RUNNER, "annotate", f"rjob/{name}", span))
    slot = scheduled_execution_name(name, datetime(2026, 11, 1, tzinfo=UTC))
    wait_phase(kube, delegation.namespace, slot, "Succeeded")
    assert executions(kube, delegation.namespace)[slot]["spec"]["trigger"] == "Backfill"
