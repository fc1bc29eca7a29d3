"""Runs with parameters, and cancelling a run, against the real API server and Job controller.

The operator runs without its webhooks here (as when they are down): what it does
with a bad request that got in is its own reading. The admission layer (webhook up,
RBAC and the policies) is proven in test_admission.py and test_delegation.py.
`kubectl rerun` is called through real kubectl.
"""

import json
from typing import Any

import pytest
from lightkube import Client

from tests.e2e.chart import kubectl, try_kubectl
from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    ExecutionResource,
    create_rjob,
    events_for,
    executions,
    get_rjob,
    job_gone_or_going,
    job_pod,
    jobs,
    manual_name,
    settled_status,
    wait_event,
    wait_phase,
)
from tests.e2e.test_plugin import LONG, explain, rerun
from tests.e2e.waiting import wait_until

DECLARED: list[dict[str, Any]] = [
    {"name": "DAY", "required": True, "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    {"name": "FORMAT", "default": "csv", "enum": ["csv", "json"]},
    {"name": "LIMIT", "description": "optional, without a default"},
]


def exporter_template(duration: str = "1s") -> dict[str, Any]:
    """A Job template that uses its parameters as a user would: env, and $(VAR) in args."""
    container = {
        "name": "export",
        "image": "busybox:1.36",
        "args": ["export", "--day", "$(DAY)", "--format", "$(FORMAT)"],
        # The template's own FORMAT is replaced in place by the run's value.
        "env": [{"name": "REGION", "value": "eu"}, {"name": "FORMAT", "value": "template"}],
    }
    return {
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sim.rerunnable.dev/duration": duration}},
                "spec": {
                    "restartPolicy": "Never",
                    "initContainers": [{"name": "prepare", "image": "busybox:1.36"}],
                    "containers": [container],
                },
            },
        }
    }


def create_exporter(
    kube: Client, namespace: str, name: str = "export", parameters: Any = None, **spec: Any
) -> None:
    spec.setdefault("jobTemplate", exporter_template())
    create_rjob(kube, namespace, name, parameters=parameters or DECLARED, **spec)


def annotate(cluster: Cluster, namespace: str, name: str, *pairs: str) -> None:
    kubectl(cluster, "annotate", "-n", namespace, f"rjob/{name}", *pairs, "--overwrite")


def run_with(token: str, **values: str) -> list[str]:
    """The annotations that send `values` with the run of `token` (one PATCH)."""
    return [
        f"rerunnable.dev/run={token}",
        f"rerunnable.dev/parameters-for={token}",
        *[f"parameters.rerunnable.dev/{k}={v}" for k, v in values.items()],
    ]


def env_of(container: Any) -> list[tuple[str, str | None]]:
    return [(e.name, e.value) for e in container.env or []]


def test_parameters_reach_every_container_and_are_recorded(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_exporter(kube, namespace)
    operator.start()
    # One PATCH: the token, what its parameters are for, and the values.
    annotate(cluster, namespace, "export", *run_with("t1", DAY="2026-11-30"))
    name = manual_name("export", "t1")
    wait_phase(kube, namespace, name, "Succeeded")

    # Every value, defaults applied; LIMIT (optional, no default, not sent) is absent.
    run = executions(kube, namespace)[name]
    assert run["spec"]["parameters"] == {"DAY": "2026-11-30", "FORMAT": "csv"}
    pod = job_pod(kube, namespace, name)
    (main,) = pod.containers
    assert env_of(main) == [("DAY", "2026-11-30"), ("REGION", "eu"), ("FORMAT", "csv")]
    assert main.args == ["export", "--day", "$(DAY)", "--format", "$(FORMAT)"]
    (init,) = pod.initContainers or []
    assert env_of(init) == [("DAY", "2026-11-30"), ("FORMAT", "csv")]
    shown = kubectl(cluster, "get", "rjex", name, "-n", namespace, "-o", "jsonpath={.spec}")
    assert json.loads(shown)["parameters"]["DAY"] == "2026-11-30"


def test_parameters_sent_for_one_token_never_apply_to_the_next(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    # DAY is optional here, so a run without parameters can take the defaults.
    create_exporter(kube, namespace, parameters=[{**DECLARED[0], "required": False}, DECLARED[1]])
    operator.start()
    annotate(cluster, namespace, "export", *run_with("t1", DAY="2026-11-30", FORMAT="json"))
    wait_phase(kube, namespace, manual_name("export", "t1"), "Succeeded")
    # A second run, asked for with its token alone: the values left on the object are t1's.
    annotate(cluster, namespace, "export", "rerunnable.dev/run=t2")
    wait_phase(kube, namespace, manual_name("export", "t2"), "Succeeded")

    runs = executions(kube, namespace)
    assert runs[manual_name("export", "t1")]["spec"]["parameters"] == {
        "DAY": "2026-11-30",
        "FORMAT": "json",
    }
    assert runs[manual_name("export", "t2")]["spec"]["parameters"] == {"FORMAT": "csv"}
    (main,) = job_pod(kube, namespace, manual_name("export", "t2")).containers
    assert ("DAY", "2026-11-30") not in env_of(main)


BAD = [
    ("not in the enum", {"DAY": "2026-11-30", "FORMAT": "xml"}, "parameter FORMAT: 'xml'"),
    ("unknown", {"DAY": "2026-11-30", "DAYS": "1"}, "parameter DAYS: not declared"),
    ("pattern", {"DAY": "yesterday"}, "parameter DAY: 'yesterday'"),
    ("required missing", {}, "parameter DAY: required, and not sent"),
]


@pytest.mark.parametrize(("values", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_parameters_that_get_in_are_skipped_never_run_with_defaults(
    cluster: Cluster,
    kube: Client,
    namespace: str,
    operator: OperatorProcess,
    values: dict[str, str],
    message: str,
) -> None:
    create_exporter(kube, namespace)
    operator.start()
    annotate(cluster, namespace, "export", *run_with("t1", **values))

    status = settled_status(kube, namespace, "export")
    skipped = status["lastSkipped"]
    assert (skipped["token"], skipped["reason"]) == ("t1", "InvalidParameters")
    assert message in skipped["message"]
    assert executions(kube, namespace) == {}
    assert jobs(kube, namespace) == {}
    wait_until(
        lambda: any(
            t == "Warning" and r == "RunSkipped" and message in m
            for t, r, m in events_for(kube, namespace, "export")
        ),
        timeout=30,
        what="a Warning event naming the parameter",
    )
    # The plugin, asked to follow the same token, says why and exits 1.
    followed = rerun(cluster, namespace, "run", "export", "--token", "t1", "--wait")
    assert followed.returncode == 1, explain(followed)
    assert "InvalidParameters" in followed.stderr
    assert message in followed.stderr


def test_kubectl_rerun_run_with_parameters(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_exporter(kube, namespace)
    operator.start()
    done = rerun(
        cluster, namespace, "run", "export", "--token", "p1", "-p", "DAY=2026-12-01", "--wait"
    )
    assert done.returncode == 0, explain(done)
    assert "parameters DAY=2026-12-01" in done.stdout
    run = executions(kube, namespace)[manual_name("export", "p1")]
    assert run["spec"]["parameters"] == {"DAY": "2026-12-01", "FORMAT": "csv"}

    # A value the declarations refuse is refused before anything is written.
    before = get_rjob(kube, namespace, "export")["metadata"]["annotations"]
    refused = rerun(cluster, namespace, "run", "export", "-p", "DAY=2026-12-01", "-p", "FORMAT=xml")
    assert refused.returncode == 1, explain(refused)
    assert "invalid parameters: parameter FORMAT: 'xml' is not one of csv, json" in refused.stderr
    assert "nothing changed" in refused.stderr
    assert get_rjob(kube, namespace, "export")["metadata"]["annotations"] == before


def test_a_scheduled_run_takes_the_defaults(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    declared = [{"name": "FORMAT", "default": "csv", "enum": ["csv", "json"]}]
    template = exporter_template()
    template["spec"]["template"]["spec"]["containers"][0]["args"] = ["export"]
    create_rjob(
        kube, namespace, "hourly", schedule="* * * * *", parameters=declared, jobTemplate=template
    )
    operator.start()
    wait_until(
        lambda: any(
            e["spec"]["trigger"] == "Schedule" for e in executions(kube, namespace).values()
        ),
        timeout=90,
        what="a scheduled run",
    )
    (run,) = executions(kube, namespace).values()
    assert run["spec"]["parameters"] == {"FORMAT": "csv"}


# --- cancel --------------------------------------------------------------------------------


def start_a_long_run(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> str:
    """Run "long" (token t1) with the operator started, until it is Running: its name."""
    create_rjob(kube, namespace, "long", duration=LONG)
    operator.start()
    annotate(cluster, namespace, "long", "rerunnable.dev/run=t1")
    name = manual_name("long", "t1")
    wait_phase(kube, namespace, name, "Running")
    return name


def test_cancel_a_running_run(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    name = start_a_long_run(cluster, kube, namespace, operator)

    done = rerun(cluster, namespace, "cancel", name, "--wait", "--timeout", "60s")
    assert done.returncode == 0, explain(done)
    assert f"execution.rerunnable.dev/{name} cancel requested" in done.stdout
    assert f"execution.rerunnable.dev/{name} cancelled: cancelled" in done.stdout

    status = executions(kube, namespace)[name]["status"]
    assert (status["phase"], status["reason"]) == ("Interrupted", "Cancelled")
    assert status.get("cancelledBy") is None  # the webhook that stamps it is not running here
    wait_until(lambda: job_gone_or_going(kube, namespace, name), timeout=30, what="the Job deleted")
    assert settled_status(kube, namespace, "long")["activeCount"] == 0
    wait_event(kube, namespace, "long", "RunCancelled")

    # Cancelled is finished: a second cancel changes nothing and says how it ended.
    again = rerun(cluster, namespace, "cancel", name)
    assert again.returncode == 1, explain(again)
    assert f"execution {name} has already finished: Interrupted, cancelled" in again.stderr


def test_cancel_a_queued_run_before_it_starts(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "queue", duration=LONG, concurrencyPolicy="Queue")
    operator.start()
    annotate(cluster, namespace, "queue", "rerunnable.dev/run=first")
    first = manual_name("queue", "first")
    wait_phase(kube, namespace, first, "Running")
    annotate(cluster, namespace, "queue", "rerunnable.dev/run=second")
    second = manual_name("queue", "second")
    wait_until(
        lambda: (
            second in executions(kube, namespace)
            and (executions(kube, namespace)[second].get("status") or {}).get("reason") == "Queued"
        ),
        timeout=30,
        what="the second run queued",
    )

    done = rerun(cluster, namespace, "cancel", second, "--wait", "--timeout", "60s")
    assert done.returncode == 0, explain(done)
    status = executions(kube, namespace)[second]["status"]
    assert (status["phase"], status["reason"]) == ("Interrupted", "Cancelled")
    assert "before it started" in status["message"]
    assert second not in jobs(kube, namespace)  # never made
    assert executions(kube, namespace)[first]["status"]["phase"] == "Running"

    # The running one, cancelled in turn, does not start the cancelled queued one.
    assert rerun(cluster, namespace, "cancel", first, "--wait").returncode == 0
    assert settled_status(kube, namespace, "queue")["activeCount"] == 0
    assert second not in jobs(kube, namespace)


def test_cancel_of_a_finished_run_changes_nothing(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    create_rjob(kube, namespace, "quick")
    operator.start()
    annotate(cluster, namespace, "quick", "rerunnable.dev/run=t1")
    name = manual_name("quick", "t1")
    wait_phase(kube, namespace, name, "Succeeded")
    before = executions(kube, namespace)[name]

    done = rerun(cluster, namespace, "cancel", name)
    assert done.returncode == 1, explain(done)
    assert f"execution {name} has already finished: Succeeded (CompletionsReached" in done.stderr
    assert "nothing changed" in done.stderr
    after = executions(kube, namespace)[name]
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_a_second_cancel_while_the_first_is_carried_out_is_a_no_op(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    name = start_a_long_run(cluster, kube, namespace, operator)
    operator.stop()  # nobody carries the cancel out yet

    first = rerun(cluster, namespace, "cancel", name)
    assert first.returncode == 0, explain(first)
    version = executions(kube, namespace)[name]["metadata"]["resourceVersion"]
    second = rerun(cluster, namespace, "cancel", name)
    assert second.returncode == 0, explain(second)
    assert "a cancel was requested already; nothing changed" in second.stdout
    assert executions(kube, namespace)[name]["metadata"]["resourceVersion"] == version

    operator.start()
    wait_phase(kube, namespace, name, "Interrupted")
    # Events are posted after the pass's writes: wait for it, then count.
    wait_until(
        lambda: any(r == "RunCancelled" for _, r, _ in events_for(kube, namespace, "long")),
        timeout=30,
        what="the RunCancelled event",
    )
    assert settled_status(kube, namespace, "long")["activeCount"] == 0
    cancelled = [m for _, r, m in events_for(kube, namespace, "long") if r == "RunCancelled"]
    assert len(cancelled) == 1, cancelled


def test_kubectl_annotate_cancels_too(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    name = start_a_long_run(cluster, kube, namespace, operator)
    done = try_kubectl(
        cluster, "annotate", "-n", namespace, f"rjex/{name}", "rerunnable.dev/cancel=true"
    )
    assert done.returncode == 0, done.stderr
    wait_phase(kube, namespace, name, "Interrupted")
    assert kube.get(ExecutionResource, name, namespace=namespace)["status"]["reason"] == "Cancelled"
