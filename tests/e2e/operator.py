"""The operator as a real process (`python -m rerunnable`), one per test."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LEASE_DURATION", "LEASE_TIMINGS", "Exit", "Kubelet", "OperatorProcess"]

LEASE_DURATION = 4
LEASE_TIMINGS = (
    "--lease-duration",
    str(LEASE_DURATION),
    "--renew-deadline",
    "3",
    "--retry-period",
    "0.5",
)


class OperatorProcess:
    """Starts, kills and restarts the operator, watching one namespace."""

    def __init__(self, namespace: str, kubeconfig: Path | str, log_dir: Path) -> None:
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        # Many operators run at once in tests: no fixed metrics port unless asked.
        self.extra_args: list[str] = ["--metrics-port", "0"]
        self.lease_timings: tuple[str, ...] = LEASE_TIMINGS
        self.report_url: str | None = None  # set by tests that start it taking reports

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"operator-{self.starts}.log"

    @property
    def identity(self) -> str:
        """The replica's leader-election identity (host and pid, see rerunnable.leader)."""
        assert self.process is not None
        return f"{socket.gethostname()}_{self.process.pid}"

    def start(self, *, crash_at: str | None = None) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "PYTHONUNBUFFERED": "1"}
        env.pop("RERUNNABLE_CRASH_AT", None)
        if crash_at:
            env["RERUNNABLE_CRASH_AT"] = crash_at
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rerunnable",
                    "--namespace",
                    self.namespace,
                    "--verbose",
                    # The Lease lives in the test's namespace; short timings keep the
                    # wait after a SIGKILL (the dead holder's lease must expire) short.
                    *self.extra_args,
                    "--leader-election-namespace",
                    self.namespace,
                    *self.lease_timings,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def kill(self) -> None:
        """SIGKILL: no cleanup, no last writes, as a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def wait_killed(self, timeout: float) -> int:
        """Wait for the process to die by itself (a crash point); return its exit code."""
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        """Every run's log, in order."""
        return "".join(
            (self.log_dir / f"operator-{i}.log").read_text(errors="replace")
            for i in range(1, self.starts + 1)
            if (self.log_dir / f"operator-{i}.log").exists()
        )

    def logs(self, lines: int = 60) -> str:
        chunks = []
        for i in range(1, self.starts + 1):
            path = self.log_dir / f"operator-{i}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- operator run {i} ({path}) ---\n" + "\n".join(tail))
        return "\n".join(chunks)


@dataclass(frozen=True)
class Exit:
    identity: str
    code: int
    at: float  # time.monotonic() when the exit was seen


class Kubelet:
    """Restarts operators that exit by themselves, as the kubelet restarts a container.

    A short fixed back-off instead of the kubelet's growing one keeps tests short.
    Exits are recorded in `exits`; processes stopped by the test are not restarted.
    """

    def __init__(self, *processes: OperatorProcess, backoff: float = 1.0) -> None:
        self._processes = processes
        self._backoff = backoff
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self.exits: list[Exit] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(0.05):
            for p in self._processes:
                if p.process is None or p.process.poll() is None:
                    continue
                with self._lock:
                    self.exits.append(Exit(p.identity, p.process.returncode, time.monotonic()))
                    if self._stopped.wait(self._backoff):
                        return
                    p.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)
