"""The benchmark's verdicts (bench/targets.py): each target from one run's figures."""

from typing import Any

import pytest

from bench.report import targets_table
from bench.targets import Target, judge


def side(p99_ms: float | None, missed: int = 0, duplicates: int = 0) -> dict[str, Any]:
    return {"p99_ms": p99_ms, "missed": missed, "duplicates": duplicates}


def fan(n: int, label: str, rjob: float, cron: float, floor: float | None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "n": n,
        "qps_label": label,
        "rerunnable": side(rjob),
        "cronjob": side(cron),
    }
    if floor is not None:
        row["floor"] = side(floor)
    return row


def by_name(results: dict[str, Any]) -> dict[str, Target]:
    return {t.name: t for t in judge(results)}


@pytest.mark.parametrize(
    ("name", "results", "target", "value", "met"),
    [
        pytest.param(
            "at the floor",
            {"fanout": [fan(1000, "default", 3000, 60000, 2500)]},
            "fanout 1000, default QPS: p99 / bare-client floor",
            1.2,
            True,
            id="fanout 1000 within 1.5x its floor",
        ),
        pytest.param(
            "twice the floor",
            {"fanout": [fan(1000, "default", 6000, 60000, 3000)]},
            "fanout 1000, default QPS: p99 / bare-client floor",
            2.0,
            False,
            id="fanout 1000 at twice its floor",
        ),
        pytest.param(
            "no floor measured",
            {"fanout": [fan(1000, "default", 6000, 60000, None)]},
            "fanout 1000, default QPS: p99 / bare-client floor",
            None,
            None,
            id="an old run without a floor is not judged",
        ),
        pytest.param(
            "alone",
            {"fanout": [{**fan(5000, "default", 20000, 0, 13000), "cronjob": None}]},
            "fanout 5000: p99 / bare-client floor",
            1.538,
            False,
            id="fanout 5000 alone is judged against its floor",
        ),
        pytest.param(
            "alone, cronjob",
            {"fanout": [{**fan(1000, "default", 3000, 0, 2500), "cronjob": None}]},
            "fanout 1000, default QPS: p99 / CronJob p99",
            None,
            None,
            id="a fan-out without CronJobs beside it is not judged against CronJob",
        ),
        pytest.param(
            "cronjob",
            {"fanout": [fan(1000, "default", 6000, 60000, 3000)]},
            "fanout 1000, default QPS: p99 / CronJob p99",
            0.1,
            True,
            id="a tenth of CronJob's p99 is met",
        ),
        pytest.param(
            "raised",
            {"fanout": [fan(1000, "raised", 12000, 20000, 3000)]},
            "fanout 1000, raised QPS: p99 / CronJob p99",
            0.6,
            False,
            id="raised QPS, more than half of CronJob's",
        ),
        pytest.param(
            "burst",
            {"burst": [{"n": 1000, "ratio": 1.4}]},
            "burst 1000: all Jobs / bare-client floor",
            1.4,
            True,
            id="burst",
        ),
        pytest.param(
            "footprint rss",
            {"footprint": [{"n": 10000, "rss_mib": 252.0, "all_scheduled_s": 21.0}]},
            "footprint 10000: RSS",
            252.0,
            False,
            id="10000 idle objects over 150 MiB",
        ),
        pytest.param(
            "footprint gave up",
            {
                "footprint": [
                    {"n": 100000, "rss_mib": 900.0, "all_scheduled_s": None, "limit_s": 600}
                ]
            },
            "footprint 100000: start to all scheduled",
            600,
            False,
            id="100000 not all scheduled when the run gave up is missed",
        ),
        pytest.param(
            "gave up early",
            {"footprint": [{"n": 10000, "rss_mib": 90.0, "all_scheduled_s": None, "limit_s": 20}]},
            "footprint 10000: start to all scheduled",
            20,
            None,
            id="a run that gave up before the limit cannot tell",
        ),
        pytest.param(
            "foreign",
            {"foreign": [{"rss_ratio": 1.02, "cpu_ratio": 1.3}]},
            "foreign Jobs: CPU with / without",
            1.3,
            False,
            id="foreign Jobs cost CPU",
        ),
        pytest.param(
            "nothing run", {}, "footprint 100000: RSS", None, None, id="a scenario not run"
        ),
    ],
)
def test_targets(
    name: str, results: dict[str, Any], target: str, value: float | None, met: bool | None
) -> None:
    t = by_name(results)[target]
    assert t.value == pytest.approx(value) if value is not None else t.value is None
    assert t.met is met


def test_every_fanout_is_held_to_no_missed_and_no_duplicate_runs() -> None:
    row = fan(5000, "default", 9000, 90000, 8000)
    row["rerunnable"] = side(9000, missed=3, duplicates=0)
    found = by_name({"fanout": [row]})
    assert found["fanout 5000, default QPS: missed runs"].met is False
    assert found["fanout 5000, default QPS: duplicate runs"].met is True
    assert found["fanout 5000: p99 / bare-client floor"].value == pytest.approx(1.125)


def test_the_table_says_met_missed_or_not_measured_for_every_target() -> None:
    targets = judge({"burst": [{"n": 1000, "ratio": 4.3}]})
    text = targets_table(targets)
    assert "| burst 1000: all Jobs / bare-client floor | 4.30 | ≤ 1.50 | **missed** |" in text
    assert "| footprint 10000: RSS | - | ≤ 150 MiB | not measured |" in text
    assert len([line for line in text.splitlines() if line.startswith("| ")]) == len(targets) + 1
    assert [t.as_dict()["met"] for t in targets if t.name.startswith("burst")] == [False]
