"""`kubectl rerun` end to end: the plugin as kubectl runs it, against the real operator.

kubectl finds `kubectl-rerun` (the console script) on PATH, in the venv's bin
directory; every call passes --kubeconfig and -n explicitly, after the plugin's
name (kubectl refuses flags before it).
"""

import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from lightkube import Client

from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    condition,
    create_rjob,
    executions,
    get_rjob,
    manual_name,
    patch_spec,
    phases,
    settled_status,
    wait_phase,
)
from tests.e2e.waiting import wait_until

LONG = "600s"  # a run that stays Running for the whole test
VENV_BIN = Path(sys.executable).parent


def rerun_command(cluster: Cluster, namespace: str, *args: str) -> list[str]:
    """`kubectl rerun ARGS --kubeconfig ... -n NAMESPACE`, as a user types it."""
    kubeconfig = ["--kubeconfig", str(cluster.kubeconfig), "-n", namespace]
    return [str(cluster.bin_dir / "kubectl"), "rerun", *args, *kubeconfig]


def rerun_env() -> dict[str, str]:
    """The environment kubectl finds the plugin in: the venv's bin first on PATH."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("KUBECONFIG", None)
    return env


def rerun(
    cluster: Cluster, namespace: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `kubectl rerun ARGS` (rerun_command) to its end."""
    return subprocess.run(
        rerun_command(cluster, namespace, *args),
        capture_output=True,
        text=True,
        env=rerun_env(),
        timeout=timeout,
        check=False,
    )


def explain(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"


def table_rows(text: str) -> list[list[str]]:
    """The rows of a table printed by the plugin (split on runs of 3+ spaces), header first."""
    lines = [line for line in text.splitlines() if "   " in line]
    return [[cell.strip() for cell in line.split("   ") if cell.strip()] for line in lines]


def test_kubectl_finds_the_plugin_and_its_help(cluster: Cluster, namespace: str) -> None:
    top = rerun(cluster, namespace, "--help")
    assert top.returncode == 0, explain(top)
    assert "usage: kubectl rerun" in top.stdout
    for command in ("run", "cancel", "history", "next", "suspend", "resume"):
        assert command in top.stdout
    sub = rerun(cluster, namespace, "next", "--help")
    assert sub.returncode == 0, explain(sub)
    assert "-c COUNT, --count COUNT" in sub.stdout
    assert "examples:" in sub.stdout
    direct = subprocess.run(
        [str(VENV_BIN / "kubectl-rerun"), "--version"], capture_output=True, text=True, check=False
    )
    assert direct.returncode == 0, explain(direct)
    assert direct.stdout.startswith("kubectl-rerun ")


def test_run_wait_succeeds_and_history_lists_runs_newest_first(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "report", duration="1s", successfulJobsHistoryLimit=10)

    names = []
    for _ in range(2):
        result = rerun(cluster, namespace, "run", "report", "--wait", "--timeout", "90s")
        assert result.returncode == 0, explain(result)
        requested = result.stdout.splitlines()[0]
        assert requested.startswith("execution.rerunnable.dev/report-m"), explain(result)
        name = requested.split()[0].split("/")[1]
        assert "Running" in result.stdout
        assert f"Execution {name} Succeeded" in result.stdout
        names.append(name)
    assert phases(kube, namespace) == dict.fromkeys(names, "Succeeded")
    token = executions(kube, namespace)[names[0]]["spec"]["token"]
    assert token.startswith("kubectl-rerun-")

    history = rerun(cluster, namespace, "history", "report")
    assert history.returncode == 0, explain(history)
    rows = table_rows(history.stdout)
    assert rows[0] == [
        "NAME",
        "TRIGGER",
        "BY",
        "PHASE",
        "SCHEDULED",
        "STARTED",
        "DURATION",
        "PROGRESS",
        "REASON",
    ]
    assert [row[0] for row in rows[1:]] == [names[1], names[0]]  # newest first
    for row in rows[1:]:
        # No admission webhook in this test: nobody stamped the requester.
        assert row[1:4] == ["Manual", "<none>", "Succeeded"]
        assert row[4] == "<none>"  # manual runs have no slot
        assert row[7] == "1/1"

    as_json = rerun(cluster, namespace, "history", "report", "-o", "json")
    assert as_json.returncode == 0, explain(as_json)
    listing = json.loads(as_json.stdout)
    assert listing["kind"] == "List"
    assert [item["metadata"]["name"] for item in listing["items"]] == [names[1], names[0]]
    assert all(item["kind"] == "Execution" for item in listing["items"])
    as_yaml = rerun(cluster, namespace, "history", "report", "-o", "yaml")
    assert as_yaml.returncode == 0, explain(as_yaml)
    assert yaml.safe_load(as_yaml.stdout)["items"] == listing["items"]


def test_the_same_token_twice_makes_one_execution(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "deploy")
    expected = manual_name("deploy", "ci-1234")

    first = rerun(cluster, namespace, "run", "deploy", "--token", "ci-1234")
    assert first.returncode == 0, explain(first)
    assert f"execution.rerunnable.dev/{expected} requested" in first.stdout

    again = rerun(cluster, namespace, "run", "deploy", "--token", "ci-1234", "--wait")
    assert again.returncode == 0, explain(again)
    assert f"Execution {expected} Succeeded" in again.stdout
    assert list(executions(kube, namespace)) == [expected]
    assert settled_status(kube, namespace, "deploy")["lastRunToken"] == "ci-1234"


def test_run_wait_follows_a_watch_without_polling(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    """-v 6 logs each request: a run of several seconds is read once, then watched (a poll
    every 0.5s would GET it 10+ times); the watch outlives --request-timeout."""
    operator.start()
    create_rjob(kube, namespace, "steady", duration="6s")

    started = time.monotonic()
    argv = ["run", "steady", "--wait", "--timeout", "90s", "--request-timeout", "2s", "-v", "6"]
    result = rerun(cluster, namespace, *argv)
    took = time.monotonic() - started
    assert result.returncode == 0, explain(result)
    (name,) = executions(kube, namespace)
    assert f"Execution {name} Succeeded" in result.stdout, explain(result)
    assert took >= 5, explain(result)
    requests = [line.split() for line in result.stderr.splitlines() if line.split()[:1]]
    base = f"/apis/rerunnable.dev/v1alpha1/namespaces/{namespace}/executions"
    gets_of_the_run = [r for r in requests if r[:2] == ["GET", f"{base}/{name}"]]
    lists = [r for r in requests if r[:2] == ["GET", base]]
    watches = [r for r in requests if r[:2] == ["WATCH", base]]
    assert len(gets_of_the_run) == 1, explain(result)  # does it exist already? (before the run)
    assert len(lists) == 1, explain(result)  # the watch's first read, nothing after
    assert len(watches) >= 1, explain(result)
    assert {r[2] for r in requests} == {"200", "404"}, explain(result)  # 404: not yet
    assert len([r for r in requests if r[0] == "GET"]) <= 4, explain(result)


def test_run_wait_exits_1_when_the_run_fails(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "broken", exit_code=1)

    result = rerun(cluster, namespace, "run", "broken", "--wait", "--timeout", "90s")
    assert result.returncode == 1, explain(result)
    assert "Failed" in result.stdout
    assert "BackoffLimitExceeded" in result.stdout
    assert list(phases(kube, namespace).values()) == ["Failed"]


def test_run_wait_times_out_with_2_and_forbid_refuses_with_1(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "slow", duration=LONG, concurrencyPolicy="Forbid")

    timed_out = rerun(cluster, namespace, "run", "slow", "--wait", "--timeout", "4s")
    assert timed_out.returncode == 2, explain(timed_out)
    assert "timed out after 4s" in timed_out.stderr
    (running,) = executions(kube, namespace)
    wait_phase(kube, namespace, running, "Running")  # the run goes on

    refused = rerun(cluster, namespace, "run", "slow", "--wait", "--timeout", "60s")
    assert refused.returncode == 1, explain(refused)
    assert "ConcurrencyForbidden" in refused.stderr
    assert f"{running} still active" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(executions(kube, namespace)) == [running]


def test_run_wait_reports_a_run_pruned_at_once(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    """successfulJobsHistoryLimit 0 deletes an Execution as it succeeds: its event tells."""
    operator.start()
    create_rjob(kube, namespace, "ephemeral", successfulJobsHistoryLimit=0)

    result = rerun(cluster, namespace, "run", "ephemeral", "--wait", "--timeout", "90s")
    assert result.returncode == 0, explain(result)
    assert "Succeeded" in result.stdout
    wait_until(lambda: executions(kube, namespace) == {}, timeout=30, what="the run to be pruned")


def test_an_invalid_schedule_is_reported_by_next_and_run(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "typo", schedule="61 * * * *")

    upcoming = rerun(cluster, namespace, "next", "typo")
    assert upcoming.returncode == 1, explain(upcoming)
    assert "spec.schedule: minute field '61' is out of range 0-59" in upcoming.stderr

    wait_until(
        lambda: (
            (condition(get_rjob(kube, namespace, "typo"), "Ready") or {}).get("status") == "False"
        ),
        timeout=30,
        what="Ready=False on typo",
    )
    run = rerun(cluster, namespace, "run", "typo", "--wait", "--timeout", "60s")
    assert run.returncode == 1, explain(run)
    assert "is not ready (InvalidSchedule)" in run.stderr
    assert "starts once the object is fixed" in run.stderr
    assert executions(kube, namespace) == {}


def parse_local(text: str) -> datetime:
    return datetime.strptime(text, "%a %Y-%m-%d %H:%M %z")


def test_next_lists_times_in_the_jobs_time_zone(
    cluster: Cluster, kube: Client, namespace: str
) -> None:
    zone = ZoneInfo("America/New_York")
    create_rjob(kube, namespace, "standup", schedule="30 9 * * MON-FRI", timeZone=zone.key)

    before = datetime.now(UTC)
    result = rerun(cluster, namespace, "next", "standup", "-c", "3")
    assert result.returncode == 0, explain(result)
    rows = table_rows(result.stdout)
    assert rows[0] == ["TIME (America/New_York)", "UTC", "IN"]
    assert len(rows) == 4, explain(result)
    times = []
    for local_text, utc_text, _in in rows[1:]:
        local = parse_local(local_text)
        utc = datetime.fromisoformat(utc_text)
        assert local == utc
        assert local.utcoffset() == utc.astimezone(zone).utcoffset()  # the zone's own offset
        in_zone = utc.astimezone(zone)
        assert (in_zone.hour, in_zone.minute) == (9, 30)
        assert in_zone.weekday() < 5
        times.append(utc)
    assert before < times[0] < times[1] < times[2] <= before + timedelta(days=5)

    as_json = rerun(cluster, namespace, "next", "standup", "-c", "3", "-o", "json")
    assert as_json.returncode == 0, explain(as_json)
    listed = json.loads(as_json.stdout)
    assert listed["timeZone"] == "America/New_York"
    assert [datetime.fromisoformat(t["utc"]) for t in listed["times"]] == times


def test_next_of_a_manual_only_job(cluster: Cluster, kube: Client, namespace: str) -> None:
    create_rjob(kube, namespace, "adhoc")
    result = rerun(cluster, namespace, "next", "adhoc")
    assert result.returncode == 0, explain(result)
    assert "has no schedule: it runs only on demand" in result.stdout


def test_suspend_until_suspend_and_resume(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "nightly", schedule="0 3 * * *")

    def suspended() -> dict[str, Any] | None:
        return condition(get_rjob(kube, namespace, "nightly"), "Suspended")

    wait_until(suspended, timeout=30, what="the operator to report on nightly")

    before = datetime.now(UTC)
    result = rerun(cluster, namespace, "suspend", "nightly", "--until", "2h")
    assert result.returncode == 0, explain(result)
    assert "spec.suspendUntil <none> -> " in result.stdout
    spec = get_rjob(kube, namespace, "nightly")["spec"]
    until = datetime.fromisoformat(spec["suspendUntil"])
    assert before + timedelta(hours=2) - timedelta(seconds=1) <= until
    assert until <= datetime.now(UTC) + timedelta(hours=2, seconds=1)
    wait_until(
        lambda: (suspended() or {}).get("reason") == "SuspendedUntil",
        timeout=30,
        what="Suspended=True (SuspendedUntil)",
    )
    upcoming = rerun(cluster, namespace, "next", "nightly", "-c", "1")
    assert "suspended until" in upcoming.stdout, explain(upcoming)

    result = rerun(cluster, namespace, "suspend", "nightly")
    assert result.returncode == 0, explain(result)
    assert "spec.suspend false -> true" in result.stdout
    assert get_rjob(kube, namespace, "nightly")["spec"]["suspend"] is True
    wait_until(
        lambda: (suspended() or {}).get("reason") == "Suspended",
        timeout=30,
        what="Suspended=True (Suspended)",
    )

    result = rerun(cluster, namespace, "resume", "nightly")
    assert result.returncode == 0, explain(result)
    assert "spec.suspend true -> false" in result.stdout
    assert "-> <none>" in result.stdout  # suspendUntil removed
    spec = get_rjob(kube, namespace, "nightly")["spec"]
    assert spec["suspend"] is False
    assert "suspendUntil" not in spec
    wait_until(
        lambda: (suspended() or {}).get("status") == "False",
        timeout=30,
        what="Suspended=False after resume",
    )

    again = rerun(cluster, namespace, "resume", "nightly")
    assert again.returncode == 0, explain(again)
    assert "nothing changed" in again.stdout

    patch_spec(kube, namespace, "nightly", {"suspend": True})
    bad = rerun(cluster, namespace, "suspend", "nightly", "--until", "yesterday")
    assert bad.returncode == 1, explain(bad)
    assert "--until: 'yesterday'" in bad.stderr


def test_an_unknown_rerunnable_job_is_a_clear_error(cluster: Cluster, namespace: str) -> None:
    for args in (
        ["run", "ghost"],
        ["run", "ghost", "--wait"],
        ["history", "ghost"],
        ["next", "ghost"],
        ["suspend", "ghost"],
        ["resume", "ghost"],
    ):
        result = rerun(cluster, namespace, *args)
        assert result.returncode == 1, explain(result)
        assert f'rerunnablejob "ghost" not found in namespace "{namespace}"' in result.stderr
        assert "Traceback" not in result.stderr


def test_run_o_name_prints_the_execution_and_history_o_wide_its_job_and_token(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "ci", duration="1s")

    result = rerun(cluster, namespace, "run", "ci", "-o", "name", "--request-timeout", "30s")
    assert result.returncode == 0, explain(result)
    assert re.fullmatch(r"execution\.rerunnable\.dev/ci-m[0-9a-f]{8}\n", result.stdout), explain(
        result
    )
    assert "requested" in result.stderr  # the line for people, out of the way
    name = result.stdout.strip().split("/", 1)[1]
    wait_until(lambda: name in executions(kube, namespace), timeout=30, what=f"{name} to exist")
    # kubectl reads the printed name as its own -o name.
    back = cluster.kubectl("get", result.stdout.strip(), "-n", namespace, "-o", "name")
    assert back.stdout == result.stdout
    wait_phase(kube, namespace, name, "Succeeded")

    wide = rerun(cluster, namespace, "history", "ci", "-o", "wide")
    assert wide.returncode == 0, explain(wide)
    header, row = table_rows(wide.stdout)
    assert header[-4:] == ["JOB", "TOKEN", "COMPLETED", "MESSAGE"]
    execution = executions(kube, namespace)[name]
    assert row[0] == name
    assert row[header.index("JOB")] == execution["status"]["jobName"]
    assert row[header.index("TOKEN")] == execution["spec"]["token"]
    plain = rerun(cluster, namespace, "history", "ci")
    assert "TOKEN" not in plain.stdout, explain(plain)


READERS = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: rerun-readers, namespace: {namespace}}}
rules:
- apiGroups: [rerunnable.dev]
  resources: [rerunnablejobs, executions]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: rerun-readers, namespace: {namespace}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: rerun-readers}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: e2e-rerun-readers}}
"""


def test_as_and_as_group_impersonate_in_every_request(
    cluster: Cluster, kube: Client, namespace: str
) -> None:
    """The e2e admin may impersonate: the API server answers as for the impersonated user."""
    create_rjob(kube, namespace, "guarded")

    refused = rerun(cluster, namespace, "history", "guarded", "--as", "e2e-nobody")
    assert refused.returncode == 1, explain(refused)
    assert (
        f'rerunnablejobs.rerunnable.dev "guarded" is forbidden: User "e2e-nobody" cannot get'
        f' resource "rerunnablejobs" in API group "rerunnable.dev" in the namespace "{namespace}"'
    ) in refused.stderr, explain(refused)
    assert "Traceback" not in refused.stderr

    cluster.kubectl("apply", "-f", "-", stdin=READERS.format(namespace=namespace))
    as_reader = ["--as", "e2e-nobody", "--as-group", "e2e-rerun-readers"]

    def read_as_a_reader() -> subprocess.CompletedProcess[str] | None:
        done = rerun(cluster, namespace, "history", "guarded", *as_reader, "-o", "json")
        return done if done.returncode == 0 else None

    allowed = wait_until(read_as_a_reader, timeout=30, what="the RoleBinding to take effect")
    assert json.loads(allowed.stdout)["items"] == []
    # The group may read, not write: the PATCH is impersonated too.
    write = rerun(cluster, namespace, "suspend", "guarded", *as_reader, "-o", "name")
    assert write.returncode == 1, explain(write)
    assert 'User "e2e-nobody" cannot patch resource "rerunnablejobs"' in write.stderr
    assert get_rjob(kube, namespace, "guarded")["spec"].get("suspend") in (None, False)
