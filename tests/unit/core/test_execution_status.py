"""An Execution follows its Job (rerunnable.core.execution_status).

One table over the states a batch/v1 Job goes through, each with the Execution's
phase, reason, progress and times that follow from it; then the rules that make
a finished Execution final, and the two helpers for runs that end without their
Job finishing.
"""

from datetime import datetime

import pytest

from rerunnable.api.v1alpha1 import ExecutionPhase, ExecutionProgress, ExecutionStatus
from rerunnable.core.execution_status import (
    armed,
    follow_job,
    interrupted,
    queued,
    rejected,
    status_patch,
    with_job,
)
from rerunnable.core.state import ExecutionState, JobState
from tests.unit.core.builders import NOW, at, execution, job

NAME = "backup-29922300"
STARTED = at("09:00:02")
ENDED = at("10:01")

PENDING = execution(NAME)  # created, its Job not yet
CREATED = execution(NAME, phase="Pending", job_name=NAME)  # the shell recorded the Job
RUNNING = execution(
    NAME,
    phase="Running",
    job_name=NAME,
    start_time=STARTED,
    progress={"succeeded": 0, "failed": 0, "active": 1, "total": 1},
)


def progress(
    succeeded: int = 0, failed: int = 0, active: int = 0, total: int = 1
) -> ExecutionProgress:
    return ExecutionProgress(succeeded=succeeded, failed=failed, active=active, total=total)


P = ExecutionPhase

FOLLOW = [
    # case, execution, job, phase, reason, progress, start, completion
    (
        "Job created, no status yet",
        PENDING,
        job(NAME, no_status=True),
        P.PENDING,
        None,
        progress(),
        None,
        None,
    ),
    (
        "Job with an active pod, no startTime yet",
        CREATED,
        job(NAME, active=1),
        P.RUNNING,
        None,
        progress(active=1),
        None,
        None,
    ),
    (
        "Job started",
        CREATED,
        job(NAME, start_time=STARTED, active=1),
        P.RUNNING,
        None,
        progress(active=1),
        STARTED,
        None,
    ),
    (
        "Job started, its pod not yet counted",
        CREATED,
        job(NAME, start_time=STARTED),
        P.RUNNING,
        None,
        progress(),
        STARTED,
        None,
    ),
    (
        "Job suspended before it started",
        CREATED,
        job(NAME, suspended=True),
        P.PENDING,
        "JobSuspended",
        progress(),
        None,
        None,
    ),
    (
        "Job suspended after it ran (the Job controller clears startTime)",
        RUNNING,
        job(NAME, suspended=True, failed_pods=1),
        P.PENDING,
        "JobSuspended",
        progress(failed=1),
        None,
        None,
    ),
    (
        "Job resumed: the JobSuspended reason goes",
        execution(NAME, phase="Pending", job_name=NAME, reason="JobSuspended"),
        job(NAME, start_time=STARTED, active=1),
        P.RUNNING,
        None,
        progress(active=1),
        STARTED,
        None,
    ),
    (
        "Job Complete",
        RUNNING,
        job(NAME, start_time=STARTED, succeeded=1, complete=True, finished_at=ENDED),
        P.SUCCEEDED,
        "CompletionsReached",
        progress(succeeded=1),
        STARTED,
        ENDED,
    ),
    (
        "Job Complete with several completions",
        RUNNING,
        job(
            NAME,
            start_time=STARTED,
            succeeded=3,
            failed_pods=1,
            completions=3,
            complete=True,
            finished_at=ENDED,
        ),
        P.SUCCEEDED,
        "CompletionsReached",
        progress(succeeded=3, failed=1, total=3),
        STARTED,
        ENDED,
    ),
    (
        "Job Complete, condition without a reason",
        RUNNING,
        job(
            NAME,
            start_time=STARTED,
            succeeded=1,
            completion_time=ENDED,
            conditions=[{"type": "Complete", "status": "True", "lastTransitionTime": ENDED}],
        ),
        P.SUCCEEDED,
        "Completed",
        progress(succeeded=1),
        STARTED,
        ENDED,
    ),
    (
        "Job Complete before the Execution saw it run",
        CREATED,
        job(NAME, start_time=STARTED, succeeded=1, complete=True, finished_at=ENDED),
        P.SUCCEEDED,
        "CompletionsReached",
        progress(succeeded=1),
        STARTED,
        ENDED,
    ),
    (
        "Job Failed BackoffLimitExceeded",
        RUNNING,
        job(
            NAME,
            start_time=STARTED,
            failed_pods=3,
            failed="BackoffLimitExceeded",
            finished_at=ENDED,
        ),
        P.FAILED,
        "BackoffLimitExceeded",
        progress(failed=3),
        STARTED,
        ENDED,
    ),
    (
        "Job Failed DeadlineExceeded",
        RUNNING,
        job(NAME, start_time=STARTED, failed="DeadlineExceeded", finished_at=ENDED),
        P.FAILED,
        "DeadlineExceeded",
        progress(),
        STARTED,
        ENDED,
    ),
    (
        "Job Failed PodFailurePolicy",
        RUNNING,
        job(NAME, start_time=STARTED, failed_pods=1, failed="PodFailurePolicy", finished_at=ENDED),
        P.FAILED,
        "PodFailurePolicy",
        progress(failed=1),
        STARTED,
        ENDED,
    ),
    (
        "Job Failed MaxFailedIndexesExceeded",
        RUNNING,
        job(
            NAME,
            start_time=STARTED,
            failed_pods=2,
            completions=4,
            failed="MaxFailedIndexesExceeded",
            finished_at=ENDED,
        ),
        P.FAILED,
        "MaxFailedIndexesExceeded",
        progress(failed=2, total=4),
        STARTED,
        ENDED,
    ),
    (
        "Job Failed, condition without a reason or time",
        RUNNING,
        job(NAME, start_time=STARTED, conditions=[{"type": "Failed", "status": "True"}]),
        P.FAILED,
        "Failed",
        progress(),
        STARTED,
        NOW,
    ),
    (
        "Job with a False Complete condition is still running",
        RUNNING,
        job(
            NAME,
            start_time=STARTED,
            active=1,
            conditions=[{"type": "Complete", "status": "False", "reason": "Nope"}],
        ),
        P.RUNNING,
        None,
        progress(active=1),
        STARTED,
        None,
    ),
    (
        "Job failing but not Failed yet (FailureTarget)",
        RUNNING,
        job(
            NAME,
            start_time=STARTED,
            failed_pods=3,
            conditions=[
                {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded"}
            ],
        ),
        P.RUNNING,
        None,
        progress(failed=3),
        STARTED,
        None,
    ),
    (
        "Job being deleted before it finished",
        RUNNING,
        job(NAME, start_time=STARTED, active=1, deleting=True),
        P.INTERRUPTED,
        "JobDeleted",
        progress(active=0),  # its pods go with it
        STARTED,
        NOW,
    ),
    (
        "Job being deleted after it completed",
        RUNNING,
        job(NAME, start_time=STARTED, succeeded=1, complete=True, finished_at=ENDED, deleting=True),
        P.SUCCEEDED,
        "CompletionsReached",
        progress(succeeded=1),
        STARTED,
        ENDED,
    ),
    (
        "Job missing, Execution never had one",
        PENDING,
        None,
        P.PENDING,
        None,
        None,
        None,
        None,
    ),
    (
        "Job missing after it was created",
        RUNNING,
        None,
        P.INTERRUPTED,
        "JobDeleted",
        progress(active=0),  # its pods went with it
        STARTED,
        NOW,
    ),
    (
        "Job missing, Execution was Pending with jobName",
        CREATED,
        None,
        P.INTERRUPTED,
        "JobDeleted",
        None,
        None,
        NOW,
    ),
]


@pytest.mark.parametrize(
    ("case", "ex", "j", "phase", "reason", "want_progress", "start", "completion"),
    [pytest.param(*row, id=row[0]) for row in FOLLOW],
)
def test_follow_job(
    case: str,
    ex: ExecutionState,
    j: JobState | None,
    phase: ExecutionPhase,
    reason: str | None,
    want_progress: ExecutionProgress | None,
    start: datetime | None,
    completion: datetime | None,
) -> None:
    status = follow_job(ex, j, now=NOW)
    assert status.phase == phase, case
    assert status.reason == reason, case
    assert status.progress == want_progress, case
    assert status.start_time == start, case
    assert status.completion_time == completion, case
    if j is not None:
        assert status.job_name == NAME, case
    if phase in (P.SUCCEEDED, P.FAILED, P.INTERRUPTED):
        (cond,) = status.conditions
        assert (cond.type, cond.status, cond.reason) == (phase.value, "True", reason), case
        assert cond.last_transition_time == completion, case
        assert status.message, case  # a person is told why
    else:
        assert status.conditions == [], case


def test_job_deleted_message_names_the_job() -> None:
    status = follow_job(RUNNING, None, now=NOW)
    assert status.message is not None
    assert NAME in status.message


def test_failed_message_comes_from_the_job() -> None:
    j = job(NAME, start_time=STARTED, failed="BackoffLimitExceeded", finished_at=ENDED)
    status = follow_job(RUNNING, j, now=NOW)
    assert status.message == "Job has reached the specified BackoffLimitExceeded"


TERMINAL = [
    (
        "Succeeded, Job gone",
        execution(NAME, phase="Succeeded", job_name=NAME, completion_time=ENDED),
        None,
    ),
    (
        "Succeeded, Job now Failed",
        execution(NAME, phase="Succeeded", job_name=NAME, completion_time=ENDED),
        job(NAME, start_time=STARTED, failed="BackoffLimitExceeded", finished_at=NOW),
    ),
    (
        "Failed, Job now Complete",
        execution(NAME, phase="Failed", job_name=NAME, reason="BackoffLimitExceeded"),
        job(NAME, start_time=STARTED, complete=True, finished_at=NOW),
    ),
    (
        "Failed JobRejected, no Job ever",
        execution(NAME, phase="Failed", reason="JobRejected", message="invalid"),
        None,
    ),
    (
        "Interrupted, Job still running",
        execution(NAME, phase="Interrupted", job_name=NAME, reason="Replaced"),
        job(NAME, start_time=STARTED, active=1),
    ),
    (
        "Interrupted, Job being deleted",
        execution(NAME, phase="Interrupted", job_name=NAME, reason="Replaced"),
        job(NAME, start_time=STARTED, active=1, deleting=True),
    ),
]


@pytest.mark.parametrize(("case", "ex", "j"), [pytest.param(*row, id=row[0]) for row in TERMINAL])
def test_a_finished_execution_never_changes(
    case: str, ex: ExecutionState, j: JobState | None
) -> None:
    assert follow_job(ex, j, now=NOW) == ex.status, case


def test_following_is_stable() -> None:
    # Following the same Job again gives the same status: no status patch on every pass.
    j = job(NAME, start_time=STARTED, active=1)
    once = follow_job(CREATED, j, now=NOW)
    again = execution(
        NAME,
        phase=once.phase.value,
        job_name=once.job_name,
        start_time=once.start_time,
        progress=once.progress.model_dump() if once.progress else None,
    )
    assert follow_job(again, j, now=at("10:30")) == again.status


def test_interrupted() -> None:
    status = interrupted(RUNNING.status, reason="Replaced", message="replaced by x", now=NOW)
    assert (status.phase, status.reason, status.message) == (
        P.INTERRUPTED,
        "Replaced",
        "replaced by x",
    )
    assert status.completion_time == NOW
    assert status.start_time == STARTED  # what is known of the run is kept
    assert status.job_name == NAME
    (cond,) = status.conditions
    assert (cond.type, cond.status, cond.reason) == ("Interrupted", "True", "Replaced")


def test_rejected() -> None:
    status = rejected(PENDING.status, message="spec.template: Required value", now=NOW)
    assert (status.phase, status.reason) == (P.FAILED, "JobRejected")
    assert status.message == "spec.template: Required value"
    assert status.completion_time == NOW
    (cond,) = status.conditions
    assert (cond.type, cond.reason) == ("Failed", "JobRejected")


@pytest.mark.parametrize(
    "waiting", [queued(), armed(at("10:18"))], ids=["queued", "armed ahead of its slot"]
)
def test_a_waiting_runs_reason_is_removed_once_its_job_exists(waiting: ExecutionStatus) -> None:
    started = execution("r1", phase="Pending", reason=waiting.reason, message=waiting.message)
    followed = follow_job(started, job("r1", no_status=True), now=NOW)
    named = with_job(waiting, "r1")

    for after in (followed, named):
        patch = status_patch(waiting, after)
        # A merge patch removes a field only when it says null.
        assert (patch["reason"], patch["message"]) == (None, None)
        assert patch["jobName"] == "r1"
