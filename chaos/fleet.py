"""The operator's replicas of a scenario, each behind a proxy the scenario controls.

Every replica is a real `python -m rerunnable` process watching the scenario's
namespace, reaching the API server through its own fault proxy
(tests.e2e.blackhole), and restarted by a kubelet stand-in when it exits, as a
Deployment's pod would be.
"""

import time
from pathlib import Path

from lightkube import ApiError, Client
from lightkube.resources.coordination_v1 import Lease
from tests.e2e.blackhole import Blackhole
from tests.e2e.certs import free_port, make_certs
from tests.e2e.cluster import Cluster
from tests.e2e.operator import Exit, Kubelet, OperatorProcess
from tests.e2e.waiting import wait_until

__all__ = ["LEASE", "Fleet"]

LEASE = "rerunnable-operator"


class Fleet:
    def __init__(
        self,
        cluster: Cluster,
        client: Client,
        namespace: str,
        log_dir: Path,
        *,
        replicas: int,
        leader_elect: bool,
        arm_ahead: int = 0,
    ) -> None:
        self._client = client
        self._namespace = namespace
        host, port = cluster.api_address()
        self.proxies = [Blackhole(host, port) for _ in range(replicas)]
        self.replicas = []
        # Every replica takes reports; runs are told the first replica's address (a replica
        # down means reports refused for a while, and the workload tries again).
        certs = make_certs(_folder(log_dir / "report-tls"))
        ports = [free_port() for _ in self.proxies]
        self.report_url = f"https://127.0.0.1:{ports[0]}"
        for i, proxy in enumerate(self.proxies):
            folder = _folder(log_dir / f"replica-{i}")
            p = OperatorProcess(
                namespace, cluster.kubeconfig_through(proxy.port, folder / "kubeconfig"), folder
            )
            if not leader_elect:
                p.extra_args.append("--no-leader-elect")
            if arm_ahead:
                p.extra_args += ["--arm-ahead-seconds", str(arm_ahead)]
            p.extra_args += ["--report-port", str(ports[i]), "--report-url", self.report_url]
            p.extra_args += ["--report-cert-dir", str(certs.dir), "--report-addr", "127.0.0.1"]
            self.replicas.append(p)
        self.leader_elect = leader_elect
        self.kills = 0
        self._kubelet: Kubelet | None = None

    def start(self) -> None:
        for p in self.replicas:
            p.start()
        # A short back-off: the storm's kills come 0.5-6 s after each start (≥ 150 in 10 min).
        self._kubelet = Kubelet(*self.replicas, backoff=0.1)
        if self.leader_elect:
            wait_until(self.leader, timeout=60, what="a replica to lead")

    def stop(self) -> None:
        if self._kubelet is not None:
            self._kubelet.stop()
        for p in self.replicas:
            p.stop()
        for proxy in self.proxies:
            proxy.close()

    @property
    def exits(self) -> list[Exit]:
        return list(self._kubelet.exits) if self._kubelet else []

    def holder(self) -> str | None:
        """The Lease's holder, or None (no Lease yet, or the API server is down)."""
        try:
            lease = self._client.get(Lease, LEASE, namespace=self._namespace)
        except ApiError:
            return None
        except Exception:  # the API server is restarting
            return None
        return lease.spec.holderIdentity if lease.spec else None

    def leader(self) -> OperatorProcess | None:
        """The running replica that holds the Lease (the only one without leader election)."""
        if not self.leader_elect:
            return next((p for p in self.replicas if p.running), None)
        held = self.holder()
        return next((p for p in self.replicas if p.running and p.identity == held), None)

    def kill(self, replica: OperatorProcess) -> None:
        """SIGKILL, as an OOM kill or a node loss; the kubelet stand-in restarts it."""
        replica.kill()
        self.kills += 1

    def proxy_of(self, replica: OperatorProcess) -> Blackhole:
        return self.proxies[self.replicas.index(replica)]

    def restarts(self, since: int = 0) -> int:
        """Exits the scenario did not cause (a replica that crashed or gave up its lease),
        among the exits from the `since`-th on."""
        return sum(1 for x in self.exits[since:] if x.code != -9)

    def logs(self, lines: int = 40) -> str:
        return "\n".join(p.logs(lines) for p in self.replicas)

    def rss_kib(self) -> int:
        """The leader's (or the only replica's) resident memory."""
        p = self.leader() or self.replicas[0]
        return _status_field(p, "VmRSS")

    def open_fds(self) -> int:
        p = self.leader() or self.replicas[0]
        assert p.process is not None
        try:
            return len(list(Path(f"/proc/{p.process.pid}/fd").iterdir()))
        except FileNotFoundError:
            return 0


def wait_for_takeover(fleet: Fleet, old: str, timeout: float) -> float:
    """Wait until a replica other than `old` holds the Lease; return when (monotonic)."""
    wait_until(
        lambda: (h := fleet.holder()) is not None and h != old,
        timeout=timeout,
        what=f"a replica other than {old} to hold the Lease",
        interval=0.05,
    )
    return time.monotonic()


def _status_field(p: OperatorProcess, key: str) -> int:
    assert p.process is not None
    try:
        for line in Path(f"/proc/{p.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
