"""The chaos suite's smoke subset (`make chaos` runs the whole of it, docs/reliability.md).

One of each fault kind, a few minutes in all, on the jobs every scenario uses: the
operator's replicas SIGKILLed, kube-apiserver and etcd restarted, the leader killed
and partitioned (its writes delivered late), connections dropped, latency on every
request, and hostile RerunnableJobs applied. Every promise is checked at the end:
no run twice, none lost, none stuck, no Job without its Execution, statuses that
agree with the runs and never moved backwards.
"""

from pathlib import Path

from lightkube import Client

from chaos import scenarios
from chaos.run import line
from tests.e2e.cluster import Cluster


def test_one_of_each_fault_loses_doubles_and_strands_no_run(
    cluster: Cluster, kube: Client, tmp_path: Path
) -> None:
    # Runs armed ahead (--arm-ahead-seconds), the path with the most writes that can be cut
    # short: `make chaos` runs every scenario without it, `--arm-ahead-seconds 30` with it.
    settings = scenarios.Settings(jobs=8, arm_ahead_seconds=30)
    result = scenarios.run("smoke", cluster, kube, tmp_path, settings)
    print(line(result))
    assert result.faults >= 8
    assert result.runs > 0
    assert result.findings.as_dict() == {k: [] for k in result.findings.as_dict()}
