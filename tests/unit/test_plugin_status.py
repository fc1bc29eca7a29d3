"""kubectl rerun status, and the live view's progress bar: one run as people read it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rerunnable.api.v1alpha1 import RunReport
from rerunnable.plugin.follow import Snapshot, progress_line, result_lines, step_line
from rerunnable.plugin.status import progress_bar, status_text

NOW = datetime(2026, 12, 2, 10, 0, 30, tzinfo=UTC)


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("name", "report", "bar"),
    [
        pytest.param("nothing reported", None, "", id="nothing reported"),
        pytest.param(
            "a message only", RunReport(message="warming up"), "warming up", id="a message only"
        ),
        pytest.param(
            "progress",
            RunReport(completed=42, total=100, progress="42/100", message="shard 7"),
            "[########------------] 42/100  shard 7",
            id="progress",
        ),
        pytest.param(
            "done",
            RunReport(completed=10, total=10, progress="10/10"),
            "[####################] 10/10",
            id="done",
        ),
        pytest.param("no total", RunReport(completed=3, progress="3/?"), "3/?", id="no total"),
    ],
)
def test_progress_bar(name: str, report: RunReport | None, bar: str) -> None:
    assert progress_bar(report) == bar


def execution(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "etl-m1"},
        "spec": {"rerunnableJob": "etl", "trigger": "Manual", "requestedBy": "alice"},
        "status": status,
    }


def test_status_shows_phase_progress_steps_result_and_pods() -> None:
    started = NOW - timedelta(seconds=90)
    text = status_text(
        execution(
            {
                "phase": "Running",
                "startTime": stamp(started),
                "progress": {"succeeded": 0, "failed": 0, "active": 1, "total": 1},
                "report": {
                    "completed": 900,
                    "total": 1200,
                    "progress": "900/1200",
                    "message": "loading",
                    "updatedAt": stamp(NOW - timedelta(seconds=3)),
                },
                "steps": [
                    {
                        "name": "extract",
                        "phase": "Succeeded",
                        "startTime": stamp(started),
                        "completionTime": stamp(started + timedelta(seconds=30)),
                    },
                    {
                        "name": "load",
                        "phase": "Running",
                        "startTime": stamp(started + timedelta(seconds=30)),
                        "message": "3 of 4",
                    },
                    {"name": "verify", "phase": "Pending"},
                ],
                "result": {"rows": "1200"},
            }
        ),
        [{"metadata": {"name": "etl-m1-abcde"}, "status": {"phase": "Running"}}],
        NOW,
    )
    assert text.splitlines() == [
        "execution.rerunnable.dev/etl-m1  (rerunnablejob/etl, Manual by alice)",
        "phase:     Running for 1m30s",
        "progress:  [###############-----] 900/1200  loading  (last report 3s ago)",
        "pods:      1 Running (etl-m1-abcde); 0/1 succeeded, 0 failed",
        "steps:",
        "  STEP      PHASE       STARTED   DURATION   MESSAGE",
        "  extract   Succeeded   90s ago   30s",
        "  load      Running     60s ago   1m         3 of 4",
        "  verify    Pending     <none>    <none>",
        "result:",
        "  rows  1200",
    ]


def test_the_live_view_prints_steps_as_they_move_and_the_result_at_the_end() -> None:
    def snapshot(steps: list[tuple[str, str]], **status: Any) -> Snapshot:
        body = {"phase": "Running", "steps": [{"name": n, "phase": p} for n, p in steps], **status}
        return Snapshot.of({"status": body})

    first = snapshot([("a", "Pending"), ("b", "Pending")])
    assert first.steps_changed(None) == [], "declared steps, all Pending, are no news"
    moved = snapshot(
        [("a", "Running"), ("b", "Pending")], report={"progress": "1/4", "completed": 1, "total": 4}
    )
    assert moved.steps_changed(first) == [("a", "Running")]
    assert step_line(NOW, "a", "Running") == "10:00:30  step a: Running"
    assert progress_line(NOW, moved) == "10:00:30  Running      [#####---------------] 1/4"
    done = snapshot([("a", "Succeeded"), ("b", "Skipped")], result={"rows": "4"})
    assert result_lines(done) == ["result:", "  rows: 4"]


def test_status_shows_the_parameters_in_their_order_and_a_cancel_under_way() -> None:
    run = execution({"phase": "Running", "startTime": stamp(NOW - timedelta(seconds=5))})
    run["spec"]["parameters"] = {"DAY": "2026-11-30", "FORMAT": "csv"}
    run["metadata"]["annotations"] = {
        "rerunnable.dev/cancel": "true",
        "rerunnable.dev/cancelled-by": "bob",
    }
    lines = status_text(run, [], NOW).splitlines()
    assert "cancel:    requested by bob, being carried out" in lines
    at = lines.index("parameters:")
    assert lines[at + 1 : at + 3] == ["  DAY     2026-11-30", "  FORMAT  csv"]


def test_a_finished_run_shows_no_cancel_under_way() -> None:
    run = execution(
        {
            "phase": "Interrupted",
            "reason": "Cancelled",
            "message": "cancelled by bob; its Job is deleted",
        }
    )
    run["metadata"]["annotations"] = {"rerunnable.dev/cancel": "true"}
    text = status_text(run, [], NOW)
    assert "cancel:" not in text
    assert "phase:     Interrupted: Cancelled: cancelled by bob; its Job is deleted" in text


def test_status_shows_the_attempt_and_when_the_next_one_starts() -> None:
    run = execution(
        {
            "phase": "Failed",
            "reason": "BackoffLimitExceeded",
            "nextAttemptTime": "2026-11-22T08:00:30Z",
            "conditions": [
                {
                    "type": "Retrying",
                    "status": "True",
                    "reason": "Waiting",
                    "message": "attempt 3 of 3 starts at 2026-11-22T08:00:30Z",
                }
            ],
        }
    )
    run["spec"].update({"attempt": 2, "retryOf": "nightly-m1"})
    lines = status_text(run, [], NOW).splitlines()
    assert "attempt:   2 (a retry of nightly-m1)" in lines
    assert "retry:     attempt 3 of 3 starts at 2026-11-22T08:00:30Z (Waiting)" in lines
