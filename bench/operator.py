"""The operator under test, as its own process (`python -m rerunnable`), read through /proc."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from tests.e2e.certs import free_port

__all__ = ["WRITES", "OperatorUnderTest"]

_TICKS = os.sysconf("SC_CLK_TCK")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class OperatorUnderTest:
    def __init__(self, kubeconfig: Path, log_path: Path) -> None:
        self.kubeconfig = kubeconfig
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.extra_args: list[str] = []  # e.g. the report endpoint's flags
        self.metrics_port = 0

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        with self.log_path.open("ab") as log:
            self.started_at = time.time()
            self.metrics_port = free_port()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rerunnable",
                    "--all-namespaces",
                    "--metrics-port",
                    str(self.metrics_port),
                    "--no-leader-elect",
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def check_alive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the operator is not running; log: {self.log_path}")

    def rss_bytes(self, field: str = "VmRSS") -> int:
        """Resident memory now (VmRSS) or at its peak so far (VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no {field} in /proc/{self.pid}/status")

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the process so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def writes(self) -> Counter[str]:
        """The writes the operator has sent so far, by "METHOD resource" (its
        `rerunnable_api_requests` metric): what a run costs the API server."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as answer:
            text = answer.read().decode()
        counts: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name != "rerunnable_api_requests":
                continue
            for sample in family.samples:
                method = sample.labels["method"]
                if sample.name.endswith("_total") and method in WRITES:
                    counts[f"{method} {sample.labels['resource']}"] += int(sample.value)
        return counts

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
