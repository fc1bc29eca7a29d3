"""The benchmark's pure accounting (bench/stats.py, bench/watchers.seen_job)."""

import pytest

from bench.scenarios import floor_job, per_run
from bench.stats import SeenJob, percentile, summarize_slots
from bench.watchers import seen_job

SLOT = 1_800_000_000.0  # a minute boundary


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([float(x) for x in range(1, 101)], 99) == pytest.approx(99.01)
    assert percentile([5.0, 1.0, 3.0], 100) == 5.0


def test_lag_is_first_sighting_minus_slot() -> None:
    jobs = [
        SeenJob("a", "a-1", SLOT, SLOT + 0.5),
        SeenJob("b", "b-1", SLOT, SLOT + 1.5),
        SeenJob("a", "a-2", SLOT + 60, SLOT + 60.25),
        SeenJob("b", "b-2", SLOT + 60, SLOT + 61.0),
    ]
    s = summarize_slots(["a", "b"], [SLOT, SLOT + 60], jobs)
    assert s.expected == 4
    assert s.on_time == 4
    assert (s.missed, s.late, s.duplicates) == (0, 0, 0)
    assert s.lags == (0.25, 0.5, 1.0, 1.5)
    assert s.max == 1.5
    assert s.p50 == 0.75


def test_absent_and_late_runs_are_missed_and_late_ones_keep_a_lag() -> None:
    jobs = [SeenJob("a", "a-1", SLOT, SLOT + 75.0)]  # after its slot ended
    s = summarize_slots(["a", "b"], [SLOT], jobs)
    assert (s.expected, s.on_time, s.late, s.missed) == (2, 0, 1, 2)
    assert s.lags == (75.0,)


def test_a_second_job_for_the_same_run_is_a_duplicate() -> None:
    jobs = [
        SeenJob("a", "a-1", SLOT, SLOT + 1.0),
        SeenJob("a", "a-x", SLOT, SLOT + 0.5),
    ]
    s = summarize_slots(["a"], [SLOT], jobs)
    assert s.duplicates == 1
    assert s.lags == (0.5,)


def test_jobs_of_other_owners_slots_and_manual_runs_are_ignored() -> None:
    jobs = [
        SeenJob("a", "a-0", SLOT - 60, SLOT - 59.0),  # before the measured slots
        SeenJob("z", "z-1", SLOT, SLOT + 1.0),  # not one of ours
        SeenJob("a", "a-m1", None, SLOT + 2.0),  # manual
        SeenJob("a", "a-1", SLOT, SLOT + 3.0),
    ]
    s = summarize_slots(["a"], [SLOT], jobs)
    assert (s.on_time, s.missed, s.duplicates) == (1, 0, 0)
    assert s.lags == (3.0,)


def test_seen_job_reads_either_sides_owner_and_slot() -> None:
    rjob_job = {
        "metadata": {
            "name": "r-29999",
            "labels": {"rerunnable.dev/rerunnable-job": "r"},
            "annotations": {"rerunnable.dev/scheduled-time": "2027-01-15T08:00:00Z"},
        }
    }
    cron_job = {
        "metadata": {
            "name": "c-29999",
            "ownerReferences": [{"kind": "CronJob", "name": "c"}],
            "annotations": {
                "batch.kubernetes.io/cronjob-scheduled-timestamp": "2027-01-15T08:00:00Z"
            },
        }
    }
    other = {"metadata": {"name": "x"}}
    assert seen_job(rjob_job, 5.0) == SeenJob("r", "r-29999", SLOT, 5.0)
    assert seen_job(cron_job, 6.0) == SeenJob("c", "c-29999", SLOT, 6.0)
    assert seen_job(other, 7.0) is None


def test_a_floor_job_counts_for_its_owner_and_slot_as_the_operators_would() -> None:
    job = floor_job("ns", "fan-00007", int(SLOT), suspend=True)
    assert "ownerReferences" not in job["metadata"]
    assert seen_job(job, SLOT + 2.0) == SeenJob(
        "fan-00007", job["metadata"]["name"], SLOT, SLOT + 2.0
    )


def test_writes_per_run_by_kind_and_in_all() -> None:
    writes = {"POST jobs": 1000, "PATCH executions/status": 3000, "POST events": 1000}
    assert per_run(writes) == {
        "PATCH executions/status": 3.0,
        "POST events": 1.0,
        "POST jobs": 1.0,
        "all": 5.0,
    }
    assert per_run({"PATCH rerunnablejobs/status": 5}) == {}, "no run started: no figure"
