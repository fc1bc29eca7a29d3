"""Killing and restarting a component of the local control plane, as a crash or an upgrade does.

kwokctl's binary runtime keeps each component's pid under the cluster's
`pids/` folder and its output under `logs/`. A component is stopped with
SIGKILL (no goodbye to its clients: connections are refused from then on) and
started again with the very command line, working directory and environment
it ran with, its pid recorded where `hack/cluster.sh down` will find it.
"""

import functools
import os
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.cluster import Cluster
from tests.e2e.waiting import wait_until

__all__ = ["Component", "api_server", "etcd", "wait_ready"]


@dataclass
class Component:
    name: str
    cluster_dir: Path
    _argv: list[str] = field(default_factory=list)
    _cwd: str = ""
    _env: dict[str, str] = field(default_factory=dict)

    @property
    def pid_file(self) -> Path:
        return self.cluster_dir / "pids" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int:
        return int(self.pid_file.read_text().strip())

    def kill(self) -> float:
        """SIGKILL the component and wait until it is gone; return when it died (monotonic)."""
        pid = self.pid()
        proc = Path(f"/proc/{pid}")
        self._argv = proc.joinpath("cmdline").read_bytes().decode().split("\0")[:-1]
        self._cwd = os.readlink(proc / "cwd")
        raw = proc.joinpath("environ").read_bytes().decode(errors="replace").split("\0")
        self._env = dict(item.split("=", 1) for item in raw if "=" in item)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not _alive(pid), timeout=30, what=f"{self.name} (pid {pid}) to die")
        return time.monotonic()

    def start(self) -> None:
        """Start it again as it ran before `kill`, detached from the test process."""
        assert self._argv, "kill() it first"
        for port in _listen_ports(self._argv):
            wait_until(
                functools.partial(_bindable, port),
                timeout=30,
                what=f"port {port} of {self.name} to be free again",
                interval=0.1,
            )
        command = " ".join(shlex.quote(a) for a in self._argv)
        log = shlex.quote(str(self.log_file))
        # Through a shell that exits at once: the component is nobody's child here.
        launched = subprocess.run(
            ["sh", "-c", f"setsid {command} >>{log} 2>&1 </dev/null & echo $!"],
            cwd=self._cwd,
            env=self._env,
            check=True,
            capture_output=True,
            text=True,
        )
        self.pid_file.write_text(launched.stdout.strip())


def _alive(pid: int) -> bool:
    """Whether any thread of `pid` still runs.

    A killed multi-threaded process can show its main thread as a zombie while
    other threads are still exiting and still hold its sockets; it is dead only
    when every thread is.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return False
    for task in tasks:
        try:
            state = task.joinpath("stat").read_text().split(")")[-1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state not in ("Z", "X"):
            return True
    return False


def _listen_ports(argv: list[str]) -> list[int]:
    """The ports a component was told to listen on (`--secure-port=N`, `--port N`, etcd's
    `--listen-client-urls=http://0.0.0.0:N`, ...)."""
    ports = []
    for i, arg in enumerate(argv):
        flag, eq, value = arg.partition("=")
        text = value if eq else (argv[i + 1] if i + 1 < len(argv) else "")
        if flag in ("--secure-port", "--port"):
            candidates = [text]
        elif flag in ("--listen-client-urls", "--listen-peer-urls"):
            candidates = [url.rsplit(":", 1)[-1].rstrip("/") for url in text.split(",")]
        else:
            continue
        ports += [int(c) for c in candidates if c.isdigit() and int(c) > 0]
    return ports


def _bindable(port: int) -> bool:
    """Whether a listener could take `port` now (as the component will, with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def api_server(cluster: Cluster) -> Component:
    return Component("kube-apiserver", cluster.state_dir / "kwok" / "clusters" / cluster.name)


def etcd(cluster: Cluster) -> Component:
    return Component("etcd", cluster.state_dir / "kwok" / "clusters" / cluster.name)


def wait_ready(cluster: Cluster, timeout: float = 120) -> float:
    """Wait until the API server serves again; return when it did (monotonic).

    /readyz comes first; the storage of each custom resource is initialised after
    it (until then, 429 "storage is (re)initializing"), so both kinds are listed too.
    """
    component = api_server(cluster)
    try:
        wait_until(
            lambda: cluster.kubectl("get", "--raw", "/readyz", check=False).returncode == 0,
            timeout=timeout,
            what="the API server to be ready",
            interval=0.1,
        )
    except AssertionError as e:
        # The cluster's logs go with it at teardown: say here why it did not come back.
        alive = component.pid_file.exists() and _alive(component.pid())
        tail = component.log_file.read_text(errors="replace").splitlines()[-40:]
        raise AssertionError(
            f"{e}\nkube-apiserver {'runs' if alive else 'is not running'}; its log ends:\n"
            + "\n".join(tail)
        ) from None
    ready = time.monotonic()
    wait_until(
        lambda: (
            cluster.kubectl(
                "get", "rerunnablejobs,executions,leases,jobs", "-A", check=False
            ).returncode
            == 0
        ),
        timeout=timeout,
        what="the API server to serve RerunnableJobs and Executions",
        interval=0.1,
    )
    return ready
