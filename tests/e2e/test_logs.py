"""`kubectl rerun logs` and `run --wait --logs` end to end, as kubectl runs the plugin.

kwok's pods run nothing, so kwok plays their logs from a file: a ClusterLogs
(kwok.x-k8s.io/v1alpha1, enabled by hack/cluster.sh) makes the file the log of
every container in the test's namespace, followed as it grows. The API server
streams it from kwok's kubelet endpoint as it would from a real kubelet; the
test writes the lines the workload would, in the kubelet's (CRI) format.
"""

import json
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Pod

from tests.e2e.cluster import Cluster
from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import annotate_run, create_rjob, manual_name, wait_phase
from tests.e2e.test_plugin import LONG, explain, rerun, rerun_command, rerun_env
from tests.e2e.waiting import wait_until


def write_log(path: Path, *lines: str) -> None:
    """Append `lines` to a container's log as the kubelet writes it (CRI format)."""
    with path.open("a") as log:
        for line in lines:
            log.write(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%S.%f000Z} stdout F {line}\n")


@pytest.fixture
def played(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[Path]:
    """The file kwok plays as the log of every container in `namespace`, followed."""
    path = tmp_path / "container.log"
    path.touch()
    name = f"logs-{namespace}"
    logs = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterLogs",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchNamespaces": [namespace]},
            "logs": [{"logsFile": str(path), "follow": True}],
        },
    }
    kubectl = [str(cluster.bin_dir / "kubectl"), "--kubeconfig", str(cluster.kubeconfig)]
    subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(logs), text=True,
                   check=True, capture_output=True)  # fmt: skip
    yield path
    subprocess.run([*kubectl, "delete", "clusterlogs", name, "--ignore-not-found"],
                   check=True, capture_output=True)  # fmt: skip


class Lines:
    """The lines a running command prints on stdout, read as they come."""

    def __init__(self, process: "subprocess.Popen[str]") -> None:
        self.seen: list[str] = []
        self._process = process
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.seen.append(line.rstrip("\n"))

    def wait_for(self, line: str, timeout: float = 60) -> None:
        wait_until(lambda: line in self.seen, timeout=timeout, what=f"{line!r} in {self.seen}")

    def end(self, timeout: float = 60) -> tuple[int, str]:
        """The exit code and stderr, once the command has exited."""
        code = self._process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        assert self._process.stderr is not None
        return code, self._process.stderr.read()


def test_logs_follow_prints_each_line_as_the_workload_writes_it(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess, played: Path
) -> None:
    operator.start()
    create_rjob(kube, namespace, "talk", duration=LONG)
    annotate_run(kube, namespace, "talk", "t1")
    name = manual_name("talk", "t1")
    wait_phase(kube, namespace, name, "Running")
    write_log(played, "loading")

    with subprocess.Popen(
        rerun_command(cluster, namespace, "logs", name, "-f"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=rerun_env(),
    ) as following:
        try:
            lines = Lines(following)
            lines.wait_for("loading")
            write_log(played, "loaded 3 rows")  # while it follows: printed as it comes
            lines.wait_for("loaded 3 rows")
            cancelled = rerun(cluster, namespace, "cancel", name)
            assert cancelled.returncode == 0, explain(cancelled)
            code, err = lines.end()
        finally:
            following.kill()
    assert code == 0, err
    assert lines.seen == ["loading", "loaded 3 rows"]
    assert f"Execution {name} Interrupted" in err


def test_run_wait_logs_prints_the_logs_on_stdout_and_the_progress_on_stderr(
    cluster: Cluster, kube: Client, namespace: str, operator: OperatorProcess, played: Path
) -> None:
    operator.start()
    create_rjob(kube, namespace, "talk", duration="2s")
    write_log(played, "exporting day 2026-12-02", "exported 42 rows")

    result = rerun(cluster, namespace, "run", "talk", "--token", "t2", "--wait", "--logs")
    assert result.returncode == 0, explain(result)
    name = manual_name("talk", "t2")
    assert result.stdout.splitlines() == ["exporting day 2026-12-02", "exported 42 rows"]
    assert f"execution.rerunnable.dev/{name} requested" in result.stderr
    assert f"Execution {name} Succeeded" in result.stderr

    # The run has ended: its logs are read as they are, whole.
    again = rerun(cluster, namespace, "logs", name)
    assert again.returncode == 0, explain(again)
    assert again.stdout.splitlines() == ["exporting day 2026-12-02", "exported 42 rows"]
    pods = list(kube.list(Pod, namespace=namespace, labels={"rerunnable.dev/execution": name}))
    assert len(pods) == 1
    assert pods[0].metadata is not None
    last = rerun(cluster, namespace, "logs", name, "--tail", "1", "--prefix")
    assert last.returncode == 0, explain(last)
    assert last.stdout.splitlines() == [f"[pod/{pods[0].metadata.name}/main] exported 42 rows"]

    wrong = rerun(cluster, namespace, "logs", name, "-c", "mian")
    assert wrong.returncode == 1, explain(wrong)
    assert f"-c mian: no container 'mian' in the pods of execution {name} (it has main)" in (
        wrong.stderr
    )
