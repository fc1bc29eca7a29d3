"""`kubectl rerun` shell completion as the real kubectl asks for it.

`kubectl __complete rerun WORDS...` is what kubectl's shell completion script runs on <TAB>:
kubectl finds `kubectl_complete-rerun` (the console script) on PATH, in the venv's bin
directory, runs it with the words after `rerun` and relays its lines. kubectl refuses its
flags before a plugin's name, so -n and --kubeconfig come after `rerun`, or KUBECONFIG from
the environment, which kubectl passes on.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml
from lightkube import Client

from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import annotate_run, create_rjob, executions, manual_name
from tests.e2e.waiting import wait_until

VENV_BIN = Path(sys.executable).parent
NO_FILE_COMP = ":4"


def complete(
    cluster: Cluster, *words: str, kubeconfig_env: bool = False
) -> subprocess.CompletedProcess[str]:
    """`kubectl __complete rerun WORDS...` with the plugin on PATH; the kubeconfig in
    KUBECONFIG if `kubeconfig_env`, else none (the words must name it)."""
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("KUBECONFIG", None)
    env["HOME"] = "/nonexistent"  # no ~/.kube/config to fall back on
    if kubeconfig_env:
        env["KUBECONFIG"] = str(cluster.kubeconfig)
    return subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "__complete", "rerun", *words],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def candidates(result: subprocess.CompletedProcess[str]) -> tuple[list[str], str]:
    """The words offered (descriptions dropped) and the directive line."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    *lines, directive = result.stdout.splitlines()
    return [line.split("\t")[0] for line in lines], directive


def test_kubectl_completes_the_commands(cluster: Cluster) -> None:
    result = complete(cluster, "")
    words, directive = candidates(result)
    assert words == [
        "run",
        "cancel",
        "history",
        "status",
        "logs",
        "next",
        "suspend",
        "resume",
        "backfill",
    ]
    assert directive == NO_FILE_COMP
    assert "run\tstart a manual run of a RerunnableJob now" in result.stdout.splitlines()
    assert candidates(complete(cluster, "run", "-o", "")) == (["name", "json", "yaml"], ":4")
    assert candidates(complete(cluster, "run", "--kubeconfig", "")) == ([], ":0")  # files


def test_kubectl_completes_names_from_the_cluster(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "nightly-report", duration="1s")
    create_rjob(kube, namespace, "export-day", duration="1s")
    kubeconfig = ("--kubeconfig", str(cluster.kubeconfig))

    assert candidates(complete(cluster, "run", *kubeconfig, "-n", namespace, "")) == (
        ["export-day", "nightly-report"],
        NO_FILE_COMP,
    )
    by_env = complete(cluster, "history", "--namespace", namespace, "ni", kubeconfig_env=True)
    assert candidates(by_env) == (["nightly-report"], NO_FILE_COMP)
    # Another namespace: not these names.
    assert candidates(complete(cluster, "run", "-n", "kube-system", "", kubeconfig_env=True)) == (
        [],
        NO_FILE_COMP,
    )
    assert namespace in candidates(complete(cluster, "run", *kubeconfig, "-n", ""))[0]

    annotate_run(kube, namespace, "nightly-report", "t-1")
    execution = manual_name("nightly-report", "t-1")
    wait_until(lambda: execution in executions(kube, namespace), timeout=30, what=f"{execution}")
    assert candidates(complete(cluster, "cancel", "-n", namespace, *kubeconfig, "")) == (
        [execution],
        NO_FILE_COMP,
    )


def test_an_unreachable_api_server_gives_nothing_quickly(cluster: Cluster, tmp_path: Path) -> None:
    # A kubeconfig whose server accepts connections and never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        config = yaml.safe_load(cluster.kubeconfig.read_text())
        for entry in config["clusters"]:
            entry["cluster"]["server"] = f"https://127.0.0.1:{silent.getsockname()[1]}"
        path = tmp_path / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        started = time.monotonic()
        result = complete(cluster, "run", "--kubeconfig", str(path), "")
        assert candidates(result) == ([], NO_FILE_COMP)
        assert time.monotonic() - started < 10
        assert "Traceback" not in result.stderr
