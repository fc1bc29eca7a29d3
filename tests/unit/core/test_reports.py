"""core.reports: a workload's reports merged into its run's status, table by table."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunnable.api.v1alpha1 import (
    ExecutionPhase,
    ExecutionStatus,
    RunReport,
    StepDeclaration,
    StepPhase,
    StepStatus,
)
from rerunnable.core.reports import (
    MAX_RESULT,
    Report,
    ReportError,
    StepReport,
    apply_report,
    apply_reports,
    close_steps,
    initial_steps,
    parse_report,
    result_size,
    stall_deadline,
    termination_report,
)

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=30)
STEPS = ("fetch", "load", "verify")


def cases(rows: list[tuple[Any, ...]]) -> list[Any]:
    return [pytest.param(*row, id=row[0]) for row in rows]


def running(**fields: Any) -> ExecutionStatus:
    return ExecutionStatus(phase=ExecutionPhase.RUNNING, start_time=T0, **fields)


def declared() -> list[StepStatus]:
    return initial_steps([StepDeclaration(name=n) for n in STEPS])


def step(
    name: str, phase: StepPhase, start: datetime | None = None, end: datetime | None = None
) -> StepStatus:
    return StepStatus(name=name, phase=phase, start_time=start, completion_time=end)


# -- the shape of a report ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    cases(
        [
            ("empty: a heartbeat", {}, Report()),
            (
                "everything",
                {
                    "progress": {"completed": 42, "total": 100},
                    "message": "loading shard 7",
                    "step": {"name": "load", "phase": "Running", "message": "7 of 9"},
                    "result": {"location": "s3://b/1"},
                },
                Report(
                    42,
                    100,
                    "loading shard 7",
                    StepReport("load", StepPhase.RUNNING, "7 of 9"),
                    {"location": "s3://b/1"},
                ),
            ),
            (
                "a step's phase defaults to Running",
                {"step": {"name": "load"}},
                Report(step=StepReport("load", StepPhase.RUNNING)),
            ),
            ("only the total", {"progress": {"total": 9}}, Report(total=9)),
        ]
    ),
)
def test_a_report_of_the_documented_shape_is_read(name: str, body: Any, expected: Report) -> None:
    assert parse_report(body) == expected


@pytest.mark.parametrize(
    ("name", "body", "message"),
    cases(
        [
            ("not an object", [1, 2], "the body: must be a JSON object"),
            ("an unknown field", {"progres": {}}, "progres: unknown field"),
            ("an unknown field inside", {"progress": {"done": 1}}, "progress.done: unknown field"),
            (
                "a negative count",
                {"progress": {"completed": -1}},
                "progress.completed: must be a whole number",
            ),
            (
                "a count as text",
                {"progress": {"total": "9"}},
                "progress.total: must be a whole number",
            ),
            (
                "a boolean count",
                {"progress": {"total": True}},
                "progress.total: must be a whole number",
            ),
            (
                "more done than in all",
                {"progress": {"completed": 5, "total": 4}},
                "5 is more than the total 4",
            ),
            ("a step without a name", {"step": {"phase": "Running"}}, "step.name: required"),
            (
                "a step phase unknown",
                {"step": {"name": "a", "phase": "Done"}},
                "step.phase: 'Done' is not one of",
            ),
            (
                "a step reported Pending",
                {"step": {"name": "a", "phase": "Pending"}},
                "step.phase: 'Pending' is not one of",
            ),
            ("a result value not text", {"result": {"size": 3}}, "result.size: must be a string"),
            ("a message not text", {"message": 3}, "message: must be a string"),
        ]
    ),
)
def test_a_report_of_another_shape_is_refused_naming_the_field(
    name: str, body: Any, message: str
) -> None:
    with pytest.raises(ReportError, match=message):
        parse_report(body)


# -- merging into the status -------------------------------------------------------------------


def test_progress_and_message_are_kept_and_the_report_is_a_heartbeat() -> None:
    status = apply_report(running(), Report(42, 100, "loading"), declared=(), now=T1)
    assert status.report == RunReport(
        completed=42, total=100, progress="42/100", message="loading", updated_at=T1
    )
    later = apply_report(status, Report(completed=43), declared=(), now=T1 + timedelta(seconds=1))
    assert later.report is not None
    assert (later.report.progress, later.report.message) == ("43/100", "loading")
    assert later.message is None, "the system's message stays the system's"


STEP_MOVES = cases(
    [
        ("Pending to Running", StepPhase.PENDING, StepPhase.RUNNING, True),
        ("Running to Succeeded", StepPhase.RUNNING, StepPhase.SUCCEEDED, True),
        ("Running to Failed", StepPhase.RUNNING, StepPhase.FAILED, True),
        ("Pending straight to Skipped", StepPhase.PENDING, StepPhase.SKIPPED, True),
        ("Pending straight to Succeeded", StepPhase.PENDING, StepPhase.SUCCEEDED, True),
        ("Running again (a new message)", StepPhase.RUNNING, StepPhase.RUNNING, True),
        ("Succeeded again (a retried report)", StepPhase.SUCCEEDED, StepPhase.SUCCEEDED, True),
        ("Succeeded back to Running", StepPhase.SUCCEEDED, StepPhase.RUNNING, False),
        ("Succeeded to Failed", StepPhase.SUCCEEDED, StepPhase.FAILED, False),
        ("Skipped to Running", StepPhase.SKIPPED, StepPhase.RUNNING, False),
    ]
)


@pytest.mark.parametrize(("name", "before", "after", "allowed"), STEP_MOVES)
def test_steps_only_move_forward(
    name: str, before: StepPhase, after: StepPhase, allowed: bool
) -> None:
    status = running(steps=[step("fetch", before, T0)])
    report = Report(step=StepReport("fetch", after))
    if allowed:
        moved = apply_report(status, report, declared=STEPS, now=T1)
        assert moved.steps[0].phase == after
    else:
        with pytest.raises(
            ReportError, match=f"step 'fetch' is {before.value}; it cannot become {after.value}"
        ):
            apply_report(status, report, declared=STEPS, now=T1)


def test_declared_steps_keep_their_order_and_record_their_times() -> None:
    status = running(steps=declared())
    status = apply_report(
        status, Report(step=StepReport("load", StepPhase.RUNNING)), declared=STEPS, now=T0
    )
    status = apply_report(
        status, Report(step=StepReport("load", StepPhase.SUCCEEDED, "ok")), declared=STEPS, now=T1
    )
    assert [(s.name, s.phase) for s in status.steps] == [
        ("fetch", StepPhase.PENDING),
        ("load", StepPhase.SUCCEEDED),
        ("verify", StepPhase.PENDING),
    ]
    assert (
        status.steps[1].start_time,
        status.steps[1].completion_time,
        status.steps[1].message,
    ) == (T0, T1, "ok")


def test_the_running_step_is_shown_in_the_report() -> None:
    status = apply_report(
        running(steps=declared()),
        Report(step=StepReport("verify", StepPhase.RUNNING)),
        declared=STEPS,
        now=T0,
    )
    assert status.report is not None
    assert status.report.step == "verify"


def test_a_step_the_job_does_not_declare_is_refused() -> None:
    with pytest.raises(
        ReportError,
        match=r"step.name: 'deploy' is not one of the job's steps \(fetch, load, verify\)",
    ):
        apply_report(
            running(steps=declared()),
            Report(step=StepReport("deploy", StepPhase.RUNNING)),
            declared=STEPS,
            now=T0,
        )


def test_without_declared_steps_they_are_added_as_they_come() -> None:
    status = running()
    for name in ("b", "a", "b"):
        status = apply_report(
            status, Report(step=StepReport(name, StepPhase.RUNNING)), declared=(), now=T0
        )
    assert [s.name for s in status.steps] == ["b", "a"]


def test_declared_steps_are_used_before_the_status_lists_them() -> None:
    status = apply_report(
        running(), Report(step=StepReport("load", StepPhase.RUNNING)), declared=STEPS, now=T0
    )
    assert [s.name for s in status.steps] == list(STEPS)


def test_result_keys_merge_and_the_result_stays_small() -> None:
    status = apply_report(running(), Report(result={"a": "1", "b": "2"}), declared=(), now=T0)
    status = apply_report(status, Report(result={"b": "3"}), declared=(), now=T0)
    assert status.result == {"a": "1", "b": "3"}
    big = {"blob": "x" * (MAX_RESULT - 4)}  # 4096 with its key, 4100 with what is there
    with pytest.raises(
        ReportError, match=r"result: \d+ bytes in all with this report; at most 4096"
    ):
        apply_report(status, Report(result=big), declared=(), now=T0)


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=30))
def test_an_accepted_result_is_never_over_the_limit(result: dict[str, str]) -> None:
    try:
        merged = apply_report(running(), Report(result=result), declared=(), now=T0)
    except ReportError:
        assert result_size(result) > MAX_RESULT
    else:
        assert result_size(merged.result or {}) <= MAX_RESULT


# -- when the run ends -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "run", "running_becomes"),
    cases(
        [
            ("run Succeeded", ExecutionPhase.SUCCEEDED, StepPhase.SUCCEEDED),
            ("run Failed", ExecutionPhase.FAILED, StepPhase.FAILED),
            ("run Interrupted", ExecutionPhase.INTERRUPTED, StepPhase.FAILED),
        ]
    ),
)
def test_a_run_that_ends_closes_its_steps(
    name: str, run: ExecutionPhase, running_becomes: StepPhase
) -> None:
    steps = [
        step("fetch", StepPhase.SUCCEEDED, T0, T0),
        step("load", StepPhase.RUNNING, T0),
        step("verify", StepPhase.PENDING),
    ]
    closed = close_steps(steps, run, T1)
    assert [(s.phase, s.completion_time) for s in closed] == [
        (StepPhase.SUCCEEDED, T0),
        (running_becomes, T1),
        (StepPhase.SKIPPED, None),
    ]


# -- reports a sink took, landing on what the run has become -----------------------------------

T2 = T1 + timedelta(seconds=1)
LOAD_DONE = Report(step=StepReport("load", StepPhase.SUCCEEDED), result={"rows": "7"})


def ended(phase: ExecutionPhase) -> ExecutionStatus:
    """A run that ended at T2 while its `load` step was Running: the end closed the steps."""
    steps = [step("fetch", StepPhase.SUCCEEDED, T0, T0), step("load", StepPhase.RUNNING, T0)]
    return ExecutionStatus(
        phase=phase,
        start_time=T0,
        completion_time=T2,
        steps=close_steps([*steps, step("verify", StepPhase.PENDING)], phase, T2),
    )


@pytest.mark.parametrize(
    ("name", "status", "reports", "result", "steps"),
    cases(
        [
            (
                "still running: all of it lands",
                running(steps=declared()),
                [(T1, Report(step=StepReport("load", StepPhase.RUNNING))), (T1, LOAD_DONE)],
                {"rows": "7"},
                [StepPhase.PENDING, StepPhase.SUCCEEDED, StepPhase.PENDING],
            ),
            (
                "ended Succeeded meanwhile: the result lands, the steps stay closed",
                ended(ExecutionPhase.SUCCEEDED),
                [(T1, LOAD_DONE)],
                {"rows": "7"},
                [StepPhase.SUCCEEDED, StepPhase.SUCCEEDED, StepPhase.SKIPPED],
            ),
            (
                "ended Interrupted meanwhile: the result lands, the step the end failed stays",
                ended(ExecutionPhase.INTERRUPTED),
                [(T1, LOAD_DONE)],
                {"rows": "7"},
                [StepPhase.SUCCEEDED, StepPhase.FAILED, StepPhase.SKIPPED],
            ),
            (
                "ended meanwhile: a step it never saw start is closed again",
                ExecutionStatus(phase=ExecutionPhase.FAILED, start_time=T0, completion_time=T2),
                [(T1, Report(step=StepReport("extra", StepPhase.RUNNING), result={"a": "b"}))],
                {"a": "b"},
                [StepPhase.FAILED],
            ),
        ]
    ),
)
def test_taken_reports_land_even_on_a_run_that_has_ended(
    name: str,
    status: ExecutionStatus,
    reports: list[tuple[datetime, Report]],
    result: dict[str, str],
    steps: list[StepPhase],
) -> None:
    landed = apply_reports(status, reports, declared=[s.name for s in status.steps])
    assert landed.result == result
    assert [s.phase for s in landed.steps] == steps
    assert landed.phase == status.phase


# -- the heartbeat -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "heartbeat", "deadline"),
    cases(
        [
            ("no heartbeat set", running(), None, None),
            ("before any report: from the Job's start", running(), 30, T0 + timedelta(seconds=30)),
            (
                "from the last report",
                running(report=RunReport(updated_at=T1)),
                30,
                T1 + timedelta(seconds=30),
            ),
            ("a Pending run does not stall", ExecutionStatus(), 30, None),
            (
                "a finished run does not stall",
                ExecutionStatus(phase=ExecutionPhase.SUCCEEDED, start_time=T0),
                30,
                None,
            ),
        ]
    ),
)
def test_stall_deadline(
    name: str, status: ExecutionStatus, heartbeat: int | None, deadline: datetime | None
) -> None:
    assert stall_deadline(status, heartbeat) == deadline


# -- termination messages -------------------------------------------------------------------------


def test_termination_messages_merge_in_order_and_others_are_ignored() -> None:
    result, message = termination_report(
        [
            '{"result": {"a": "1", "b": "2"}, "message": "first"}',
            "plain text, not JSON",
            '["not", "an", "object"]',
            '{"result": {"b": 3}, "message": "second"}',
        ]
    )
    assert result == {"a": "1", "b": "3"}
    assert message == "second"
