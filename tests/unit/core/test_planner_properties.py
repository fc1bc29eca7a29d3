"""Properties of the planner (rerunnable.core.planner.plan) over generated worlds.

Each example is a RerunnableJob (schedules and time zones, every concurrency and
missed-run policy, deadlines, suspension, retries, history limits, parameters,
the stop rules, a manual token, a backfill), some of its runs (every attempt of a
slot or a token, the last in any phase, with or without its Job) and an instant
`now` near NOW or near a DST change in Europe/Berlin or America/New_York, to the
second or with a fraction of one. Inputs are built by builders.py, as the table
tests build them: a failing example shows the builders' arguments.

What a user relies on, whatever the world:

- a schedule slot, a manual token, a retry attempt runs at most once; no slot runs
  before its time, and only the next slot is armed ahead (its Execution made early);
- a run that ended stays as it ended (the planner may still note on its last attempt
  whether a retry follows: the Retrying condition and nextAttemptTime);
- planning again at the same instant, once the shell applied the plan (`apply`, in
  the reconciler's order), does nothing more: no run made, started, ended, deleted,
  no Event, the same status. A run whose Job the first plan created takes that Job's
  pod counts when it first sees it, as it does in the shell.

Planner bugs these properties found are tests at their smallest world, at the end.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rerunnable.api.names import (
    ANNOTATION_ARMED,
    ANNOTATION_BACKFILL,
    ANNOTATION_BACKFILL_PARALLELISM,
    ANNOTATION_CANCEL,
    ANNOTATION_CANCELLED_BY,
    ANNOTATION_PARAMETERS_FOR,
    ANNOTATION_REQUESTED_BY,
    ANNOTATION_REQUESTED_RUN,
    ANNOTATION_RESUME,
    PARAMETER_ANNOTATION_PREFIX,
)
from rerunnable.api.reasons import ConditionType, RunReason
from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionStatus,
    RerunnableJobStatus,
    Trigger,
    rfc3339,
    to_wire,
)
from rerunnable.core.backfill import range_text
from rerunnable.core.execution_status import with_job
from rerunnable.core.manifests import run_job
from rerunnable.core.naming import (
    attempt_execution_name,
    manual_execution_name,
    scheduled_execution_name,
)
from rerunnable.core.planner import NewExecution, Plan, plan
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from tests.unit.core.builders import NOW, RJOB, execution, job, rjob

# Examples per property: the whole file runs in well under 30 s on a slow 2-core machine.
EXAMPLES = 100
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # writes nothing into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Instants to plan at: NOW (builders.py), and the four DST changes of 2026 in the two zones.
ANCHORS = (
    NOW,
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # Berlin: 02:00 CET becomes 03:00 CEST
    datetime(2026, 10, 25, 1, 0, tzinfo=UTC),  # Berlin: 03:00 CEST becomes 02:00 CET again
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),  # New York: 02:00 EST becomes 03:00 EDT
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),  # New York: 02:00 EDT becomes 01:00 EST again
)
# Daily times in the hours a DST change skips or repeats, next to every-minute and hourly ones.
CRONS = (
    "* * * * *",
    "*/7 * * * *",
    "0 * * * *",
    "30 * * * *",
    "@hourly",
    "H * * * *",
    "30 2 * * *",
    "0 2 * * *",
    "15 1 * * *",
    "59 1 * * *",
    "0 3 * * *",
    "0 0 * * 0",
)
TIME_ZONES = (None, "UTC", "Europe/Berlin", "America/New_York")
TOKENS = ("t1", "t2", "t3")
PARAMETERS: tuple[list[dict[str, Any]] | None, ...] = (
    None,
    None,
    None,
    [{"name": "TARGET", "default": "a", "enum": ["a", "b"]}],
    [{"name": "TARGET", "pattern": "^[a-z]+$"}],
    [{"name": "TARGET", "required": True}],  # no default: a schedule makes the spec invalid
)
# Why a run ended, by its phase (the Job controller's reasons, and the operator's).
ENDED_REASONS: Mapping[str, tuple[str | None, ...]] = {
    "Succeeded": (None, "CompletionsReached"),
    "Failed": (None, "BackoffLimitExceeded", "DeadlineExceeded", "JobRejected"),
    "Interrupted": (None, "Cancelled", "Replaced", "JobDeleted", "Stalled"),
}


def floor(moment: datetime, unit: timedelta) -> datetime:
    """`moment` rounded down to a whole `unit` (UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // unit) * unit


SECOND, MINUTE, HOUR = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)


# -- the generated worlds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One existing Execution (builders.execution's arguments) and its Job (builders.job's)."""

    name: str
    execution: Mapping[str, Any]
    job: Mapping[str, Any] | None


@dataclass(frozen=True)
class Case:
    """A RerunnableJob (builders.rjob's arguments), its runs, and the instant to plan at."""

    now: datetime
    rjob: Mapping[str, Any]
    runs: tuple[Run, ...]
    reports: bool
    arm_ahead: timedelta = timedelta(0)


@dataclass(frozen=True)
class World:
    """What the planner reads: the RerunnableJob, Executions and Jobs, as the store holds them."""

    rjob: RerunnableJobState
    executions: Mapping[str, ExecutionState]
    jobs: Mapping[str, JobState]
    now: datetime
    reports: bool
    arm_ahead: timedelta = timedelta(0)

    def plan(self) -> Plan:
        return plan(
            self.rjob,
            list(self.executions.values()),
            self.jobs,
            self.now,
            reports=self.reports,
            arm_ahead=self.arm_ahead,
        )

    def mine(self) -> dict[str, ExecutionState]:
        """The Executions the planner takes as its own: owned by the job, not being deleted."""
        return {
            n: e
            for n, e in self.executions.items()
            if e.owner_uid == self.rjob.uid and not e.deleting
        }


def build(case: Case) -> World:
    executions = [execution(r.name, **r.execution) for r in case.runs]
    jobs = [job(r.name, **r.job) for r in case.runs if r.job is not None]
    return World(
        rjob=rjob(**case.rjob),
        executions={e.name: e for e in executions},
        jobs={j.name: j for j in jobs},
        now=case.now,
        reports=case.reports,
        arm_ahead=case.arm_ahead,
    )


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """Near NOW or a DST change, to the second or to the microsecond (a real clock's)."""
    anchor = draw(st.sampled_from(ANCHORS))
    seconds = draw(st.integers(-3 * 3600, 3 * 3600))
    micros = draw(st.sampled_from((0, 0, 1, 999_999, 250_000)))
    return anchor + timedelta(seconds=seconds, microseconds=micros)


@st.composite
def slots(draw: st.DrawFn, now: datetime) -> datetime:
    """A past instant any of CRONS may fire at (whole minutes, hours, half hours)."""
    unit = draw(st.sampled_from((MINUTE, MINUTE, HOUR, HOUR)))
    back = draw(st.integers(0, 12 if unit == HOUR else 240))
    moment = floor(now, unit) - back * unit
    if unit == HOUR and draw(st.booleans()):
        moment -= timedelta(minutes=30)
    return moment


@st.composite
def between(draw: st.DrawFn, start: datetime, end: datetime) -> datetime:
    """A whole second in [start, end] (start if the range is empty)."""
    span = max(0, int((end - start).total_seconds()))
    return floor(start, SECOND) + timedelta(seconds=draw(st.integers(0, span)))


@st.composite
def runs(draw: st.DrawFn, now: datetime, retries: bool) -> list[Run]:
    """A run of a slot or of a token: its attempts (with retries, maybe more than one; each
    but the last ended Failed, as only an attempt that failed gets a next one)."""
    second = floor(now, SECOND)
    slot: datetime | None = draw(st.one_of(st.none(), slots(now)))
    token = draw(st.sampled_from(TOKENS)) if slot is None else None
    if slot is not None:
        trigger = draw(st.sampled_from(("Schedule", "Schedule", "Backfill", "Armed")))
        if trigger == "Armed":  # made ahead of its slot, which may not have come yet
            return [draw(armed_runs(now, slot))]
        first = scheduled_execution_name(RJOB, slot)
    else:
        first = manual_execution_name(RJOB, token or "")
        trigger = "Manual"
    count = draw(st.sampled_from((1, 1, 2, 3))) if retries else 1
    created = second - timedelta(seconds=draw(st.integers(0, 6 * 3600)))
    chain = []
    for attempt in range(1, count + 1):
        name = first if attempt == 1 else attempt_execution_name(RJOB, first, attempt)
        fields: dict[str, Any] = {
            "trigger": "Retry" if attempt > 1 else trigger,
            "created": min(created + (attempt - 1) * MINUTE, second),
            "scheduled_time": slot,
            "token": token,
        }
        if retries:
            fields.update(attempt=attempt, retry_of=first if attempt > 1 else None, template=True)
        if attempt < count:
            failed = {"phase": "Failed", "reason": "BackoffLimitExceeded", "job_name": name}
            chain.append(
                Run(name, {**fields, **failed, "completion_time": fields["created"]}, None)
            )
        else:
            chain.append(draw(attempts(name, fields, second, retries)))
    return chain


@st.composite
def armed_runs(draw: st.DrawFn, now: datetime, past: datetime) -> Run:
    """A run armed ahead of its slot (a past slot, or one up to 90 minutes away): still
    waiting for it, or in any state since (its Job made at the slot)."""
    second = floor(now, SECOND)
    slot = past if draw(st.booleans()) else floor(now, MINUTE) + draw(st.integers(0, 90)) * MINUTE
    name = scheduled_execution_name(RJOB, slot)
    created = min(slot, second) - timedelta(seconds=draw(st.integers(0, 120)))
    fields: dict[str, Any] = {
        "trigger": "Schedule",
        "created": created,
        "scheduled_time": slot,
        "template": True,
    }
    if slot > second or draw(st.booleans()):
        phase = draw(st.sampled_from((None, "Pending")))
        waiting: dict[str, Any] = {"phase": phase, "reason": "Scheduled" if phase else None}
        waiting["generation"] = draw(st.sampled_from((1, 2)))
        if draw(st.booleans()):
            waiting["parameters"] = {"TARGET": draw(st.sampled_from(("a", "b")))}
        run = Run(name, {**fields, **waiting}, None)
    else:
        run = draw(attempts(name, fields, second, retries=False))
    annotations = {**run.execution.get("annotations", {}), ANNOTATION_ARMED: "true"}
    if draw(st.integers(0, 5)) == 5:
        annotations.update({ANNOTATION_CANCEL: "true", ANNOTATION_CANCELLED_BY: "alice"})
    return replace(run, execution={**run.execution, "annotations": annotations})


@st.composite
def attempts(
    draw: st.DrawFn, name: str, fields: dict[str, Any], second: datetime, retries: bool
) -> Run:
    """An Execution (`fields`, and a status in any phase) and its Job, as they are at `second`."""
    phase = draw(
        st.sampled_from((None, "Pending", "Running", "Succeeded", "Failed", "Interrupted"))
    )
    created: datetime = fields["created"]
    reasons = ENDED_REASONS.get(phase or "")
    ended = reasons is not None
    reason = draw(st.sampled_from(reasons)) if reasons is not None else None
    rejected = reason == "JobRejected"  # the API server refused its Job: it never had one
    # A jobName and a start time come from the Job, once a pass saw it; so do these phases.
    followed = not rejected and (phase in ("Running", "Succeeded", "Failed") or draw(st.booleans()))
    fields = {
        **fields,
        "phase": phase,
        "start_time": created + SECOND if followed and draw(st.booleans()) else None,
        "job_name": name if followed else None,
        "reason": reason,
        "queued": draw(st.booleans()),
        "generation": draw(st.sampled_from((1, 2))),
    }
    if draw(st.booleans()):
        fields["parameters"] = {"TARGET": draw(st.sampled_from(("a", "b")))}
    if draw(st.integers(0, 5)) == 5:
        fields["annotations"] = {ANNOTATION_CANCEL: "true", ANNOTATION_CANCELLED_BY: "alice"}
    if phase == "Running" and draw(st.booleans()):
        fields["progress"] = {"succeeded": 0, "failed": 0, "active": 1, "total": 1}
    extra: dict[str, Any] = {}
    if ended:
        ended_at = draw(st.one_of(st.none(), between(created, second)))
        fields["completion_time"] = ended_at
        if retries and ended_at is not None and draw(st.booleans()):
            retrying = draw(
                st.sampled_from((("True", "Waiting"), ("False", "Retried"), ("False", "Cancelled")))
            )
            extra["conditions"] = [
                {
                    "type": ConditionType.RETRYING,
                    "status": retrying[0],
                    "reason": retrying[1],
                    "message": "",
                    "lastTransitionTime": ended_at,
                }
            ]
            if retrying[0] == "True":
                extra["nextAttemptTime"] = ended_at + timedelta(seconds=draw(st.integers(1, 900)))
    elif phase == "Pending":
        fields["reason"] = draw(st.sampled_from((None, "Queued", "JobSuspended")))
    if phase == "Running" and draw(st.booleans()):
        reported = draw(between(created, second))
        extra["report"] = {"updatedAt": rfc3339(reported)}
    if extra:
        fields["status_extra"] = extra
    return Run(name, fields, None if rejected else draw(jobs_of(created, second)))


@st.composite
def jobs_of(draw: st.DrawFn, created: datetime, second: datetime) -> Mapping[str, Any] | None:
    """The Job of a run created at `created`, as it is at `second`: gone, or in any state."""
    kind = draw(
        st.sampled_from(
            ("none", "none", "new", "running", "complete", "failed", "suspended", "deleting")
        )
    )
    started = created + SECOND
    if kind == "none":
        return None
    if kind == "new":
        return {"no_status": True}
    if kind == "running":
        return {"start_time": started, "active": 1}
    if kind == "complete":
        ended = draw(between(started, second))
        return {"complete": True, "start_time": started, "finished_at": ended, "succeeded": 1}
    if kind == "failed":
        ended = draw(between(started, second))
        return {
            "failed": "BackoffLimitExceeded",
            "start_time": started,
            "finished_at": ended,
            "failed_pods": 1,
        }
    if kind == "suspended":
        return {"suspended": True}
    return {"deleting": True, "start_time": started, "active": 1}


@st.composite
def statuses(draw: st.DrawFn, now: datetime) -> dict[str, Any]:
    """A status an earlier pass may have written."""
    status: dict[str, Any] = {}
    if draw(st.booleans()):
        status["lastScheduleTime"] = draw(slots(now))
    if draw(st.booleans()):
        status["lastRunToken"] = draw(st.sampled_from(TOKENS))
    suspended = draw(st.sampled_from((None, "Suspended", "SuspendedUntil", "NotSuspended")))
    if suspended is not None:
        status["conditions"] = [
            {
                "type": ConditionType.SUSPENDED,
                "status": "False" if suspended == "NotSuspended" else "True",
                "reason": suspended,
                "lastTransitionTime": floor(now, HOUR) - HOUR,
            }
        ]
    if draw(st.booleans()):
        status["lastCompletionTime"] = floor(now, SECOND) - draw(st.integers(0, 4 * 3600)) * SECOND
    status["consecutiveFailures"] = draw(st.integers(0, 3))
    status["scheduledRuns"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        status["lastResumeToken"] = draw(st.sampled_from(("r1", "r2")))
    return status


@st.composite
def cases(draw: st.DrawFn) -> Case:
    now = draw(instants())
    second = floor(now, SECOND)
    crons = draw(st.lists(st.sampled_from(CRONS), min_size=0, max_size=2, unique=True))
    fields: dict[str, Any] = {
        "schedule": crons[0] if len(crons) == 1 else None,
        "schedules": crons if len(crons) == 2 else None,
        "time_zone": draw(st.sampled_from(TIME_ZONES)),
        "policy": draw(st.sampled_from((None, "Allow", "Forbid", "Replace", "Queue"))),
        "missed": draw(st.sampled_from((None, "Latest", "All", "Skip"))),
        "deadline": draw(st.sampled_from((None, None, None, 0, 10, 60, 300, 3600, 86400))),
        "suspend": draw(st.sampled_from((None, None, False, True))),
        "successful_limit": draw(st.one_of(st.none(), st.integers(0, 3))),
        "failed_limit": draw(st.one_of(st.none(), st.integers(0, 3))),
        "token": draw(st.one_of(st.none(), st.sampled_from(TOKENS))),
        "created": second - timedelta(minutes=draw(st.integers(1, 3 * 24 * 60))),
        "generation": draw(st.sampled_from((1, 2))),
        "status": draw(statuses(now)),
    }
    if draw(st.integers(0, 3)) == 3:
        fields["suspend_until"] = second + timedelta(minutes=draw(st.integers(-180, 180)))
    extra: dict[str, Any] = {}
    retries = draw(st.booleans())
    if retries:
        extra["retry"] = {
            "limit": draw(st.integers(0, 3)),
            "backoff": {
                "initialSeconds": draw(st.sampled_from((1, 30, 600))),
                "factor": draw(st.sampled_from((1, 2))),
                "maxSeconds": 900,
            },
            "on": draw(st.sampled_from((["Failed"], ["Interrupted"], ["Failed", "Interrupted"]))),
        }
    if (declared := draw(st.sampled_from(PARAMETERS))) is not None:
        extra["parameters"] = declared
    if draw(st.integers(0, 3)) == 3:
        extra["suspendAfterFailures"] = draw(st.integers(1, 3))
    if draw(st.integers(0, 3)) == 3:
        extra["maxRuns"] = draw(st.integers(1, 5))
    if draw(st.integers(0, 4)) == 4:
        extra["startTime"] = rfc3339(second + timedelta(minutes=draw(st.integers(-240, 60))))
    if draw(st.integers(0, 4)) == 4:
        extra["endTime"] = rfc3339(second + timedelta(minutes=draw(st.integers(-240, 60))))
    if draw(st.integers(0, 4)) == 4:
        extra["reporting"] = {"enabled": True, "heartbeatSeconds": draw(st.sampled_from((5, 600)))}
    fields["extra"] = extra

    annotations: dict[str, str] = {}
    token = fields["token"]
    if token is not None and draw(st.booleans()):
        annotations.update({ANNOTATION_REQUESTED_BY: "alice", ANNOTATION_REQUESTED_RUN: token})
    if token is not None and draw(st.booleans()):
        annotations[ANNOTATION_PARAMETERS_FOR] = token
        annotations[f"{PARAMETER_ANNOTATION_PREFIX}TARGET"] = draw(st.sampled_from(("a", "b", "Z")))
    if draw(st.integers(0, 3)) == 3:
        annotations[ANNOTATION_RESUME] = draw(st.sampled_from(("r1", "r2")))
    if draw(st.integers(0, 2)) == 2:
        start = floor(now, HOUR) - draw(st.integers(1, 8)) * HOUR
        end = start + draw(st.integers(1, 4)) * HOUR
        annotations[ANNOTATION_BACKFILL] = range_text(start, end)
        if draw(st.booleans()):
            annotations[ANNOTATION_BACKFILL_PARALLELISM] = draw(st.sampled_from(("1", "2", "3")))
        if draw(st.booleans()):  # an earlier pass started on it
            fields["status"] = backfilling(fields["status"], start, end, draw(slots(now)))
    fields["annotations"] = annotations

    count = draw(st.sampled_from((1, 2, 3, 4, 5, 0)))  # hypothesis favours the first
    chains = draw(
        st.lists(runs(now, retries), min_size=count, max_size=count, unique_by=lambda c: c[0].name)
    )
    existing = [r for chain in chains for r in chain]
    # Executions the planner leaves alone: another job's, and one being deleted.
    others = [
        Run("backup-foreign", {"phase": "Running", "owner_uid": "uid-other"}, None),
        Run("backup-going", {"phase": "Running", "deleting": True}, {"active": 1}),
    ]
    others = [r for r in others if draw(st.integers(0, 3)) == 3]
    ahead = timedelta(seconds=draw(st.sampled_from((0, 0, 30, 60, 3600))))
    return Case(now, fields, (*existing, *others), reports=draw(st.booleans()), arm_ahead=ahead)


def backfilling(
    status: Mapping[str, Any], start: datetime, end: datetime, last: datetime
) -> dict[str, Any]:
    """`status` with a backfill of [start, end) an earlier pass started, up to `last`."""
    progress = {
        "from": start,
        "to": end,
        "parallelism": 1,
        "total": int((end - start) / MINUTE),
        "started": 1,
        "lastSlot": last,
    }
    condition = {
        "type": ConditionType.BACKFILLING,
        "status": "True",
        "reason": "InProgress",
        "lastTransitionTime": start,
    }
    conditions = [*status.get("conditions", []), condition]
    return {**status, "backfill": progress, "conditions": conditions}


# -- applying a plan, as the shell (rerunnable.controller.reconciler) does ---------------------


def stored(status: ExecutionStatus) -> ExecutionStatus:
    """A status as the API server keeps it: written and read back (times in whole seconds)."""
    return ExecutionStatus.model_validate(to_wire(status))


def created_execution(new: NewExecution, now: datetime) -> ExecutionState:
    """The Execution the API server returns for `new`'s manifest."""
    body = {**new.manifest, "metadata": dict(new.manifest["metadata"])}
    body["metadata"].update(
        uid=f"uid-{new.name}", creationTimestamp=rfc3339(now), resourceVersion="1"
    )
    return ExecutionState.from_body(body)


def created_job(r: RerunnableJobState, e: ExecutionState) -> JobState:
    """The Job the shell creates for `e`, as the API server returns it (no status yet)."""
    manifest = run_job(r, e)
    assert manifest is not None
    manifest["metadata"]["uid"] = f"uid-job-{e.name}"
    return JobState.from_body(manifest)


def apply(world: World, p: Plan) -> tuple[World, set[str]]:
    """The world once the shell applied `p` in its order; and the runs whose Job it created.

    Runs first (statuses, interrupts, Job deletes, disarms, creates, starts), then the
    bookkeeping (each started run names its Job, the history deletes, the status, arms).
    """
    executions = dict(world.executions)
    jobs = dict(world.jobs)

    def write(name: str, status: ExecutionStatus) -> None:
        # The shell writes to the Execution it read (or created): one the plan made up fails it.
        assert name in executions, f"the plan writes the status of {name}, which does not exist"
        executions[name] = replace(executions[name], status=stored(status))

    for name, status in p.execution_updates.items():
        write(name, status)
    for interrupt in p.interrupts:
        write(interrupt.execution, interrupt.status)
        jobs.pop(interrupt.execution, None)
    for name in p.job_deletes:
        jobs.pop(name, None)
    for name in p.disarms:
        executions.pop(name, None)

    def create(new: NewExecution) -> None:
        if new.name not in executions:  # else AlreadyExists: the shell reads the one there
            executions[new.name] = created_execution(new, world.now)
        waiting = new.waiting_status(executions[new.name].status)
        if waiting is not None:
            write(new.name, waiting)

    started: list[str] = []
    for new in p.creates:
        create(new)
        if new.starts_job(executions[new.name].status):
            started.append(new.name)
    started += [name for name in p.starts if name in executions]
    for name in started:
        jobs.setdefault(name, created_job(world.rjob, executions[name]))
    for name in started:
        write(name, with_job(executions[name].status, name, p.steps))
    for name in p.deletes:
        executions.pop(name, None)
        jobs.pop(name, None)  # the garbage collector follows the Execution's ownerReference
    for new in p.arms:
        create(new)
    written = RerunnableJobStatus.model_validate(to_wire(p.status))
    after = replace(
        world, rjob=replace(world.rjob, status=written), executions=executions, jobs=jobs
    )
    return after, set(started)


# -- the properties ----------------------------------------------------------------------------


def slot_of(e: ExecutionState | NewExecution) -> datetime | None:
    """The slot a scheduled or backfilled first attempt runs, in UTC (a fall-back hour
    repeats wall times: only UTC tells its two readings apart)."""
    spec = e.spec
    if spec.trigger not in (Trigger.SCHEDULE, Trigger.BACKFILL) or spec.scheduled_time is None:
        return None
    return spec.scheduled_time.astimezone(UTC)


def repeated(keys: Iterable[object]) -> list[object]:
    return [k for k, n in Counter(k for k in keys if k is not None).items() if n > 1]


def waits_armed(e: ExecutionState, jobs: Mapping[str, JobState]) -> bool:
    """Whether `e` is armed ahead of its slot and no run yet: no Job, not queued, not ended."""
    return (
        e.armed
        and e.name not in jobs
        and not e.status.job_name
        and e.status.phase not in TERMINAL_PHASES
        and e.status.reason in (None, RunReason.SCHEDULED)
    )


@given(cases())
@PROPERTY
def test_no_slot_manual_token_or_retry_attempt_ever_runs_twice(case: Case) -> None:
    world = build(case)
    p = world.plan()
    mine = {n: e for n, e in world.mine().items() if n not in p.disarms}
    every: list[ExecutionState | NewExecution] = [*mine.values(), *p.creates, *p.arms]

    assert repeated(c.name for c in p.creates) == []
    assert [c.name for c in p.creates if c.name in mine] == []
    assert repeated(slot_of(e) for e in every) == []
    assert repeated(e.spec.token for e in every if e.spec.trigger == Trigger.MANUAL) == []
    assert repeated((e.spec.retry_of, e.spec.attempt) for e in every if e.spec.retry_of) == []


@given(cases())
@PROPERTY
def test_the_status_never_leaves_a_slot_that_ran_unhandled(case: Case) -> None:
    # A slot counts as handled once its Execution exists, whatever happened to the pass that
    # made it; found by the chaos suite (a run made, its status left to a later pass, then
    # the job suspended: lastScheduleTime stayed a slot behind while suspended).
    # An Execution armed ahead of its slot is no run until its Job is made.
    world = build(case)
    p = world.plan()
    after, _ = apply(world, p)
    made = [
        e.spec.scheduled_time.astimezone(UTC)
        for e in after.mine().values()
        if not waits_armed(e, after.jobs)
        and e.spec.trigger == Trigger.SCHEDULE
        and e.spec.scheduled_time is not None
        and e.spec.scheduled_time > world.rjob.created  # no pass makes a slot before the job
        and e.spec.scheduled_time <= world.now  # an armed run cancelled before its slot
    ]
    if made:
        assert p.status.last_schedule_time is not None
        assert p.status.last_schedule_time >= max(made)


@given(cases())
@PROPERTY
def test_no_run_starts_before_its_slot_and_only_the_next_slot_is_armed(case: Case) -> None:
    world = build(case)
    p = world.plan()
    after, started = apply(world, p)
    for name in started:
        slot = after.executions[name].spec.scheduled_time
        assert slot is None or slot <= world.now, name
    armed = [e for e in after.mine().values() if waits_armed(e, after.jobs)]
    # A slot that has come is decided by the pass (started, queued, skipped or missed): none
    # waits armed after it; one at most waits for a slot to come.
    assert [e.name for e in armed if (e.spec.scheduled_time or world.now) <= world.now] == []
    assert len(armed) <= 1
    last = p.status.last_schedule_time
    assert last is None or last <= world.now
    for new in p.arms:
        assert new.scheduled_time is not None
        assert new.scheduled_time > world.now
        assert new.scheduled_time - world.now <= case.arm_ahead
        assert p.status.next_schedule_time == new.scheduled_time


def outcome(status: ExecutionStatus) -> ExecutionStatus:
    """What a run that ended ended with: all of its status but the retry that may follow it
    (its Retrying condition and nextAttemptTime, which the planner keeps on the last attempt)."""
    return status.model_copy(
        update={
            "conditions": [c for c in status.conditions if c.type != ConditionType.RETRYING],
            "next_attempt_time": None,
        }
    )


@given(cases())
@PROPERTY
def test_a_run_that_ended_stays_as_it_ended(case: Case) -> None:
    world = build(case)
    p = world.plan()
    ended = {n: e for n, e in world.mine().items() if e.status.phase in TERMINAL_PHASES}

    assert [i.execution for i in p.interrupts if i.execution in ended] == []
    assert [n for n in p.starts if n in ended] == []
    assert [c.name for c in p.creates if c.name in ended] == []
    for name, status in p.execution_updates.items():
        if name in ended:
            assert outcome(status) == outcome(ended[name].status), name


def second_pass_does_nothing_more(world: World, first: Plan) -> None:
    """Apply `first` (planned over `world`), plan again at the same instant: nothing more."""
    after, started = apply(world, first)
    second = after.plan()

    assert second.creates == ()
    assert second.disarms == ()
    assert second.arms == ()
    assert second.starts == ()
    assert second.interrupts == ()
    assert second.job_deletes == ()
    assert second.deletes == ()
    for name, status in second.execution_updates.items():
        before = after.executions[name].status
        # A run whose Job the first pass created sees that Job now, and takes its pod counts.
        assert name in started, (name, before, status)
        assert status.model_copy(update={"progress": before.progress}) == before, name
    assert to_wire(second.status) == to_wire(first.status)
    assert second.events == ()  # nothing announced twice


def refused_before(world: World) -> bool:
    """Whether the API server refused a run's Job: the Jobs the shell creates may be refused
    too, which no plan foresees (rerunnable.core.planner.following.refused); `apply` has
    every Job created."""
    return any(e.status.reason == RunReason.JOB_REJECTED for e in world.mine().values())


@given(cases())
@PROPERTY
def test_a_second_pass_at_the_same_instant_does_nothing_more(case: Case) -> None:
    world = build(case)
    first = world.plan()
    assume(not refused_before(world))
    second_pass_does_nothing_more(world, first)


# -- bugs these properties found, each at the smallest world that showed it --------------------

# Every minute; the one run spec.maxRuns allows has started; spec.startTime is now, so the
# 10:17 slot is before it: no slot. The first pass stops the schedule (Suspended, reason
# MaxRunsReached) and leaves lastScheduleTime unset.
STOPPED_BEFORE_ITS_START = Case(
    now=NOW,
    rjob={
        "schedule": "* * * * *",
        "created": NOW - MINUTE,
        "status": {"scheduledRuns": 1},
        "extra": {"maxRuns": 1, "startTime": rfc3339(NOW)},
    },
    runs=(),
    reports=False,
)


# Was: due._resume_floor took any Suspended=True condition (MaxRunsReached, EndTimeReached
# too) as a suspension that just ended when spec.suspendUntil was unset, and covered every slot
# up to now, those before spec.startTime too; so the second pass at the same instant set
# lastScheduleTime to the 10:17 slot the first pass did not count (None -> 10:17:00).
def test_a_stopped_job_with_a_start_time_keeps_its_last_schedule_time() -> None:
    world = build(STOPPED_BEFORE_ITS_START)
    second_pass_does_nothing_more(world, world.plan())


# At 10:17:30.000001 (a real clock has fractions): one run's Job completed at 10:17:30, the
# other run's Job is gone. The first pass ends that one Interrupted at `now` and records it
# alone as ended at lastCompletionTime 10:17:30 (lastCompletedExecutions), but the other
# run ended at 10:17:30 as well once written in whole seconds.
ENDED_IN_ONE_SECOND = Case(
    now=NOW + timedelta(microseconds=1),
    rjob={"extra": {"suspendAfterFailures": 1}},
    runs=(
        Run(
            "backup-29922376",
            {
                "phase": "Succeeded",
                "job_name": "backup-29922376",
                "scheduled_time": NOW - timedelta(seconds=90),
                "completion_time": NOW,
            },
            None,
        ),
        Run(
            "backup-29922377",
            {
                "phase": "Running",
                "job_name": "backup-29922377",
                "scheduled_time": NOW - timedelta(seconds=30),
            },
            None,
        ),
    ),
    reports=False,
)


# Was: a run the planner ended got completionTime `now` with its microseconds, and
# status._results compared completion times exactly, so lastCompletedExecutions left out a
# run that ended in the same whole second, and the next pass counted that run again:
# lastResult Interrupted -> Succeeded, consecutiveFailures 1 -> 0, the job suspended by
# suspendAfterFailures resumed. The planner now takes `now` in whole seconds.
def test_a_run_that_ended_is_counted_once_whatever_the_clocks_fraction() -> None:
    world = build(ENDED_IN_ONE_SECOND)
    second_pass_does_nothing_more(world, world.plan())


# Every minute, concurrencyPolicy Forbid, spec.maxRuns 1 and none started yet; a manual run
# is active, so the 10:17 slot is skipped (ConcurrencyForbidden): no scheduled run starts.
SKIPPED_UNDER_MAX_RUNS = Case(
    now=NOW,
    rjob={
        "schedule": "* * * * *",
        "policy": "Forbid",
        "created": NOW - MINUTE,
        "extra": {"maxRuns": 1},
    },
    runs=(
        Run(
            manual_execution_name(RJOB, "t1"),
            {
                "phase": "Running",
                "trigger": "Manual",
                "token": "t1",
                "job_name": manual_execution_name(RJOB, "t1"),
                "start_time": NOW - HOUR,
            },
            {"start_time": NOW - HOUR, "active": 1},
        ),
    ),
    reports=False,
)


# Was: due.find_due counted every due slot against spec.maxRuns before the concurrency
# policy decided; a slot skipped (Forbid, Queue full) or superseded (Replace) still used up
# the last run, so the first pass wrote Suspended=True MaxRunsReached with scheduledRuns 0,
# remainingRuns 1, nextScheduleTime None and wake_at None; the next pass flipped it back to
# NotSuspended, next 10:18. Only the slots that start a run count now (due.settle).
def test_a_skipped_slot_does_not_use_up_max_runs() -> None:
    world = build(SKIPPED_UNDER_MAX_RUNS)
    second_pass_does_nothing_more(world, world.plan())
