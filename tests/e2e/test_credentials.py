"""Credentials as cloud clusters hand them out: an exec plugin, and KUBECONFIG with two files.

The operator (its watches and its writes) and `kubectl rerun` both run a full
manual run with each. The exec plugin is a script of this suite
(`exec_credential.py`) that prints the local cluster's admin client
certificate as an ExecCredential, short-lived, and counts its calls.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client

from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import create_rjob, manual_name, wait_phase
from tests.e2e.test_plugin import VENV_BIN, rerun_env
from tests.e2e.waiting import wait_until

PLUGIN = Path(__file__).with_name("exec_credential.py")
EXPIRES = 20  # seconds an ExecCredential lasts: the operator must run the plugin again


def admin(cluster: Cluster) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The local kubeconfig's cluster entry, user entry and context."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    return config["clusters"][0], config["users"][0], config["contexts"][0]


def exec_kubeconfig(cluster: Cluster, folder: Path) -> tuple[Path, Path]:
    """A kubeconfig whose user is the exec plugin; and the plugin's call log."""
    cluster_entry, user, context = admin(cluster)
    calls = folder / "plugin-calls"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster_entry],
        "contexts": [context],
        "current-context": context["name"],
        "users": [
            {
                "name": user["name"],
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": sys.executable,
                        "args": [
                            "-I",  # isolated: tests/e2e/operator.py must not shadow `operator`
                            str(PLUGIN),
                            user["user"]["client-certificate"],
                            user["user"]["client-key"],
                            str(calls),
                            str(EXPIRES),
                        ],
                        "interactiveMode": "Never",
                        "installHint": "it is tests/e2e/exec_credential.py",
                    }
                },
            }
        ],
    }
    path = folder / "exec-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path, calls


def split_kubeconfig(cluster: Cluster, folder: Path) -> str:
    """KUBECONFIG with two files: the cluster and context in one, the user in the other."""
    cluster_entry, user, context = admin(cluster)
    first = folder / "clusters.yaml"
    first.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster_entry],
                "contexts": [context],
                "current-context": context["name"],
            }
        )
    )
    second = folder / "users.yaml"
    second.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "users": [user]}))
    return f"{first}{os.pathsep}{folder / 'absent.yaml'}{os.pathsep}{second}"


def rerun_with(kubeconfig: str, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl rerun ARGS -n NAMESPACE` with KUBECONFIG set, as a user's shell has it."""
    return subprocess.run(
        [str(VENV_BIN / "kubectl-rerun"), *args, "-n", namespace],
        capture_output=True,
        text=True,
        env={**rerun_env(), "KUBECONFIG": kubeconfig},
        timeout=180,
        check=False,
    )


def calls_by(calls: Path) -> dict[str, int]:
    """How often each process (by parent pid) ran the plugin."""
    counts: dict[str, int] = {}
    for line in calls.read_text().splitlines() if calls.exists() else []:
        counts[line] = counts.get(line, 0) + 1
    return counts


def test_the_operator_and_the_plugin_run_a_run_with_an_exec_credential_plugin(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    kubeconfig, calls = exec_kubeconfig(cluster, tmp_path)
    operator.kubeconfig = kubeconfig
    operator.start()
    create_rjob(kube, namespace, "cloudy", duration="1s")
    started = time.monotonic()

    done = rerun_with(str(kubeconfig), namespace, "run", "cloudy", "--token", "t1", "--wait")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Execution {manual_name('cloudy', 't1')} Succeeded" in done.stdout
    assert operator.process is not None
    operator_pid = str(operator.process.pid)
    assert calls_by(calls).get(operator_pid, 0) >= 1, "the operator logged in with the plugin"
    assert len(calls_by(calls)) >= 2, "the plugin ran for kubectl rerun too"

    # Its credential expires: the operator runs the plugin again and keeps working.
    wait_until(
        lambda: calls_by(calls).get(operator_pid, 0) >= 2,
        timeout=EXPIRES * 3,
        what="the operator to renew its expired credential",
    )
    renewed_after = time.monotonic() - started
    done = rerun_with(str(kubeconfig), namespace, "run", "cloudy", "--token", "t2", "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"plugin calls by process: {calls_by(calls)}; renewed after {renewed_after:.0f}s")


def test_the_operator_and_the_plugin_merge_a_kubeconfig_of_two_files(
    kube: Client,
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    kubeconfig = split_kubeconfig(cluster, tmp_path)
    operator.kubeconfig = kubeconfig
    operator.start()
    create_rjob(kube, namespace, "merged", duration="1s")

    done = rerun_with(kubeconfig, namespace, "run", "merged", "--token", "t1", "--wait")

    assert done.returncode == 0, done.stdout + done.stderr
    wait_phase(kube, namespace, manual_name("merged", "t1"), "Succeeded")
