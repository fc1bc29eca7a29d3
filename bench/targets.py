"""The targets of the benchmark, judged from one run's results: each a figure and its limit.

Every limit on time is a ratio to a reference measured in the same run (a bare
client's floor, or the CronJob controller): absolute times on a shared machine
move by 3x from run to run, ratios measured side by side do not.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from bench.stats import ratio

__all__ = ["Target", "judge"]

Results = Mapping[str, Any]
Row = Mapping[str, Any]


@dataclass(frozen=True)
class Target:
    name: str
    limit: float
    value: float | None  # None: the run did not measure it
    unit: str = ""  # "" for a ratio or a count
    at_least: bool = False  # the run gave up waiting at `value`: the figure is above it

    @property
    def met(self) -> bool | None:
        """True or False; None when the run did not tell (not measured, or gave up early)."""
        if self.value is None:
            return None
        if self.at_least:
            return False if self.value >= self.limit else None
        return self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def _row(rows: Iterable[Row], **match: Any) -> Row | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


def _of(row: Row | None, figure: Callable[[Row], float | None]) -> float | None:
    return None if row is None else figure(row)


def _vs_floor(r: Row) -> float | None:
    return ratio(r["rerunnable"]["p99_ms"], (r.get("floor") or {}).get("p99_ms"))


def _vs_cronjob(r: Row) -> float | None:
    return ratio(r["rerunnable"]["p99_ms"], (r.get("cronjob") or {}).get("p99_ms"))


def _scheduled(name: str, limit: float, row: Row | None) -> Target:
    """Start to all scheduled; a run that gave up waiting tells how long it waited."""
    if row is None:
        return Target(name, limit, None, "s")
    if row["all_scheduled_s"] is None:
        return Target(name, limit, row["limit_s"], "s", at_least=True)
    return Target(name, limit, row["all_scheduled_s"], "s")


def judge(results: Results) -> list[Target]:
    """Every target, in the order the benchmark prints them."""
    fan = results.get("fanout") or []
    default_1000 = _row(fan, n=1000, qps_label="default")
    raised_1000 = _row(fan, n=1000, qps_label="raised")
    default_5000 = _row(fan, n=5000, qps_label="default")
    burst = _row(results.get("burst") or [], n=1000)
    foot = results.get("footprint") or []
    foot_10k, foot_100k = _row(foot, n=10000), _row(foot, n=100000)
    foreign = (results.get("foreign") or [None])[0]
    targets = [
        Target(
            "fanout 1000, default QPS: p99 / bare-client floor", 1.5, _of(default_1000, _vs_floor)
        ),
        Target("fanout 1000, default QPS: p99 / CronJob p99", 0.1, _of(default_1000, _vs_cronjob)),
        Target("fanout 1000, raised QPS: p99 / CronJob p99", 0.5, _of(raised_1000, _vs_cronjob)),
        Target("fanout 5000: p99 / bare-client floor", 1.5, _of(default_5000, _vs_floor)),
        Target("burst 1000: all Jobs / bare-client floor", 1.5, _of(burst, lambda r: r["ratio"])),
        Target("footprint 10000: RSS", 150, _of(foot_10k, lambda r: r["rss_mib"]), "MiB"),
        _scheduled("footprint 10000: start to all scheduled", 30, foot_10k),
        Target("footprint 100000: RSS", 1024, _of(foot_100k, lambda r: r["rss_mib"]), "MiB"),
        _scheduled("footprint 100000: start to all scheduled", 300, foot_100k),
        Target("foreign Jobs: RSS with / without", 1.1, _of(foreign, lambda r: r["rss_ratio"])),
        Target("foreign Jobs: CPU with / without", 1.1, _of(foreign, lambda r: r["cpu_ratio"])),
    ]
    # Correctness in every scenario that schedules: not one run missed or run twice.
    for r in fan:
        side = r["rerunnable"]
        where = f"fanout {r['n']}, {r['qps_label']} QPS"
        targets.append(Target(f"{where}: missed runs", 0, side["missed"]))
        targets.append(Target(f"{where}: duplicate runs", 0, side["duplicates"]))
    return targets
