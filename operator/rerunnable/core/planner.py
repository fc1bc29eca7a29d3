"""The planner: one RerunnableJob, its Executions, their Jobs and `now` in; actions out.

It reads as the reconcile does, in numbered steps:

1. validate the spec (schedules, time zone) — an invalid object gets no new runs;
2. let every Execution follow its Job (and end Interrupted when the Job is gone);
3. find what is due: schedule slots (with suspension and the missed-run policy)
   and a new manual token;
4. start waiting Executions whose turn has come (they were admitted earlier);
5. apply the concurrency policy to what is due now;
6. prune finished Executions beyond the history limits;
7. rebuild the status from all of the above, and say when to look again.

Nothing here reads the clock or talks to the API server; the shell applies the
plan in the order of its fields, and writes the status last, so a crash at any
point leaves a state from which the next pass makes the same decisions (the
deterministic names turn a repeated create into AlreadyExists).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ConcurrencyPolicy,
    Condition,
    ExecutionPhase,
    ExecutionSpec,
    ExecutionStatus,
    ExecutionSummary,
    MissedRunPolicy,
    RerunnableJobSpec,
    RerunnableJobStatus,
    SkippedRun,
    Trigger,
    rfc3339,
)
from rerunnable.core.cron import (
    CronError,
    CronSchedule,
    fire_times_between,
    load_time_zone,
    never_fires,
    next_fire_time,
    parse_cron,
)
from rerunnable.core.execution_status import follow_job, interrupted
from rerunnable.core.naming import manual_execution_name, scheduled_execution_name
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState

__all__ = [
    "MAX_MISSED_RUNS",
    "RECENT_EXECUTIONS",
    "SKIP_GRACE",
    "Event",
    "Interrupt",
    "InvalidSpecError",
    "NewExecution",
    "Plan",
    "ValidSchedule",
    "execution_spec",
    "plan",
    "validate_schedule",
]

# missedRunPolicy All starts at most this many missed slots (the latest ones).
MAX_MISSED_RUNS = 100
# missedRunPolicy Skip still runs a slot seen this late (a busy or restarting operator).
SKIP_GRACE = timedelta(seconds=60)
# Length of status.recentExecutions.
RECENT_EXECUTIONS = 5

READY = "Ready"
SUSPENDED = "Suspended"


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class NewExecution:
    """An Execution to create; unless `queued`, its Job too, at once."""

    name: str
    trigger: Trigger
    scheduled_time: datetime | None
    token: str | None
    queued: bool = False
    requested_by: str | None = None


@dataclass(frozen=True)
class Interrupt:
    """End a running Execution as Interrupted and delete its Job."""

    execution: str
    status: ExecutionStatus


@dataclass(frozen=True)
class Plan:
    execution_updates: Mapping[str, ExecutionStatus] = field(default_factory=dict)
    interrupts: tuple[Interrupt, ...] = ()
    creates: tuple[NewExecution, ...] = ()
    starts: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    status: RerunnableJobStatus = field(default_factory=RerunnableJobStatus)
    events: tuple[Event, ...] = ()
    wake_at: datetime | None = None


@dataclass(frozen=True)
class ValidSchedule:
    crons: tuple[CronSchedule, ...]
    time_zone: ZoneInfo
    time_zone_name: str
    text: str


class InvalidSpecError(Exception):
    """A spec the operator cannot serve; `message` names the field, `reason` is the condition's."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# -- 1. validation ---------------------------------------------------------------------------


def validate_schedule(spec: RerunnableJobSpec, *, hash_key: str, now: datetime) -> ValidSchedule:
    """Parse the schedules and the time zone; raise InvalidSpecError naming the field."""
    try:
        tz = load_time_zone(spec.time_zone)
    except CronError as e:
        raise InvalidSpecError("InvalidTimeZone", f"spec.timeZone: {e}") from e
    fields: list[tuple[str, str]] = []
    if spec.schedule is not None:
        fields.append(("spec.schedule", spec.schedule))
    for i, expression in enumerate(spec.schedules or []):
        fields.append((f"spec.schedules[{i}]", expression))
    crons = []
    for where, expression in fields:
        try:
            cron = parse_cron(expression, hash_key=hash_key)
        except CronError as e:
            raise InvalidSpecError("InvalidSchedule", f"{where}: {e}") from e
        if never_fires(cron, tz, from_=now):
            raise InvalidSpecError("InvalidSchedule", f"{where}: {expression!r} never fires")
        crons.append(cron)
    text = ", ".join(c.expression for c in crons) if crons else "(manual only)"
    if crons and spec.time_zone:
        text += f" ({spec.time_zone})"
    return ValidSchedule(
        crons=tuple(crons), time_zone=tz, time_zone_name=spec.time_zone or "UTC", text=text
    )


# -- the pass ----------------------------------------------------------------------------------


@dataclass
class _Pass:
    """Working state of one planning pass."""

    rjob: RerunnableJobState
    now: datetime
    statuses: dict[str, ExecutionStatus]
    executions: dict[str, ExecutionState]
    has_job: dict[str, bool]
    events: list[Event] = field(default_factory=list)
    updates: dict[str, ExecutionStatus] = field(default_factory=dict)
    interrupts: list[Interrupt] = field(default_factory=list)
    creates: list[NewExecution] = field(default_factory=list)
    starts: list[str] = field(default_factory=list)
    skipped: SkippedRun | None = None

    def active(self) -> list[str]:
        return [n for n, s in self.statuses.items() if s.phase not in TERMINAL_PHASES]

    def running(self) -> list[str]:
        return [n for n in self.active() if self.has_job[n]]

    def waiting(self) -> list[str]:
        by_age = sorted(self.active(), key=lambda n: self.executions[n].created)
        return [n for n in by_age if not self.has_job[n]]

    def skip(
        self, trigger: Trigger, slot: datetime | None, token: str | None, reason: str, message: str
    ) -> None:
        self.skipped = SkippedRun(
            time=self.now,
            trigger=trigger,
            scheduled_time=slot,
            token=token,
            reason=reason,
            message=message,
        )
        self.events.append(Event("Warning", "RunSkipped", message))


def plan(
    rjob: RerunnableJobState,
    executions: Iterable[ExecutionState],
    jobs: Mapping[str, JobState],
    now: datetime,
) -> Plan:
    """Decide everything one pass over `rjob` does. See the module docstring."""
    mine = {e.name: e for e in executions if e.owner_uid == rjob.uid and not e.deleting}
    p = _Pass(
        rjob=rjob,
        now=now,
        statuses={n: e.status for n, e in mine.items()},
        executions=mine,
        has_job={n: n in jobs or bool(e.status.job_name) for n, e in mine.items()},
    )

    # 1. Validate. Invalid objects still let their Executions follow their Jobs.
    schedule: ValidSchedule | None = None
    invalid: InvalidSpecError | None = None
    if rjob.spec is None:
        invalid = InvalidSpecError("InvalidSpec", rjob.spec_error or "spec does not validate")
    else:
        try:
            schedule = validate_schedule(
                rjob.spec, hash_key=f"{rjob.namespace}/{rjob.name}", now=now
            )
        except InvalidSpecError as e:
            invalid = e

    # 2. Executions follow their Jobs.
    _follow_jobs(p, jobs)

    spec = rjob.spec
    last_schedule_time = rjob.status.last_schedule_time
    last_token = rjob.status.last_run_token
    next_time: datetime | None = None
    wake_at: datetime | None = None
    suspended: tuple[str, str] | None = None
    if invalid is None and spec is not None and schedule is not None:
        # 3. What is due.
        tz = schedule.time_zone
        suspended = _suspension(spec, now)
        due: list[tuple[datetime, Trigger]] = []
        resume_at = spec.suspend_until if spec.suspend_until and spec.suspend_until > now else None
        if schedule.crons and suspended is None:
            floor = _resume_floor(rjob, schedule, tz, now)
            if floor != (last_schedule_time or rjob.created):
                last_schedule_time = floor
            due, last_schedule_time = _due_slots(p, spec, schedule, floor, last_schedule_time)
        if schedule.crons and not spec.suspend:
            # A slot at exactly suspendUntil may run: "no scheduled runs *before* this time".
            after = resume_at - _INSTANT if resume_at else now
            upcoming = next_fire_time(schedule.crons, after, tz)
            next_time = _utc(upcoming) if upcoming is not None else None
        wake_at = _earliest(next_time, resume_at)
        manual = None
        if rjob.run_token is not None and rjob.run_token != last_token:
            manual = rjob.run_token
            last_token = manual

        # 4. Waiting Executions whose turn has come, before anything new queues behind them.
        _start_waiting(p, spec.concurrency_policy)

        # 5. Concurrency policy over what is due now.
        _admit(p, spec.concurrency_policy, due, manual)

    # 6. History limits.
    deletes = _prune(p, spec) if spec is not None else []

    # 7. Status.
    status = _status(
        p,
        schedule=schedule,
        invalid=invalid,
        suspended=suspended,
        last_schedule_time=last_schedule_time,
        last_token=last_token,
        next_time=next_time,
        deleted=set(deletes),
    )
    return Plan(
        execution_updates=p.updates,
        interrupts=tuple(p.interrupts),
        creates=tuple(p.creates),
        starts=tuple(p.starts),
        deletes=tuple(deletes),
        status=status,
        events=tuple(p.events),
        wake_at=wake_at,
    )


# -- 2. executions follow their jobs -----------------------------------------------------------


def _follow_jobs(p: _Pass, jobs: Mapping[str, JobState]) -> None:
    for name, execution in p.executions.items():
        new = follow_job(execution, jobs.get(name), now=p.now)
        if new == execution.status:
            continue
        p.updates[name] = new
        p.statuses[name] = new
        if new.phase != execution.status.phase and new.phase in TERMINAL_PHASES:
            p.events.append(_finished_event(name, new))


def _finished_event(name: str, status: ExecutionStatus) -> Event:
    if status.phase == ExecutionPhase.SUCCEEDED:
        return Event("Normal", "RunSucceeded", f"Execution {name} succeeded")
    verb = "failed" if status.phase == ExecutionPhase.FAILED else "was interrupted"
    return Event(
        "Warning",
        "RunFailed" if status.phase == ExecutionPhase.FAILED else "RunInterrupted",
        f"Execution {name} {verb}: {status.reason}: {status.message}",
    )


# -- 3. what is due ------------------------------------------------------------------------------


def _suspension(spec: RerunnableJobSpec, now: datetime) -> tuple[str, str] | None:
    """(reason, message) if no scheduled run may start now."""
    if spec.suspend:
        return ("Suspended", "spec.suspend is true")
    if spec.suspend_until is not None and spec.suspend_until > now:
        return ("SuspendedUntil", f"suspended until {rfc3339(spec.suspend_until)}")
    return None


def _resume_floor(
    rjob: RerunnableJobState, schedule: ValidSchedule, tz: ZoneInfo, now: datetime
) -> datetime:
    """Slots at or before this instant are not due: handled already, or suspended through.

    Slots before a past suspendUntil were suspended, whether or not a pass saw
    them so (the operator may have been down all along). `suspend: true` leaves
    no time in the spec, so its end is known only to a pass that saw the object
    suspended before and sees it resumed now: the slots up to now are covered.
    The latest covered slot becomes lastScheduleTime.
    """
    floor = rjob.status.last_schedule_time or rjob.created
    spec = rjob.spec
    assert spec is not None
    covered_until: datetime | None = None
    if spec.suspend_until is not None and spec.suspend_until <= now:
        covered_until = spec.suspend_until - _INSTANT
    was = _condition(rjob.status.conditions, SUSPENDED)
    if (
        was is not None
        and was.status == "True"
        and (was.reason == "Suspended" or spec.suspend_until is None)
    ):
        covered_until = now
    if covered_until is None or covered_until <= floor:
        return floor
    covered = fire_times_between(schedule.crons, floor, covered_until, tz, limit=1)
    return _utc(covered.times[-1]) if covered.times else floor


def _due_slots(
    p: _Pass,
    spec: RerunnableJobSpec,
    schedule: ValidSchedule,
    floor: datetime,
    last_schedule_time: datetime | None,
) -> tuple[list[tuple[datetime, Trigger]], datetime | None]:
    """The slots to run now, and the new lastScheduleTime (every slot up to now is handled)."""
    now = p.now
    tz = schedule.time_zone
    fired = fire_times_between(schedule.crons, floor, now, tz, limit=MAX_MISSED_RUNS)
    if not fired.times:
        return [], last_schedule_time
    times = [_utc(t) for t in fired.times]
    latest = times[-1]
    deadline = (
        now - timedelta(seconds=spec.starting_deadline_seconds)
        if spec.starting_deadline_seconds is not None
        else None
    )
    in_window = [t for t in times if deadline is None or t >= deadline]

    if spec.missed_run_policy == MissedRunPolicy.ALL:
        due = [(t, Trigger.SCHEDULE if t == latest else Trigger.BACKFILL) for t in in_window]
    elif spec.missed_run_policy == MissedRunPolicy.SKIP:
        grace = SKIP_GRACE
        if spec.starting_deadline_seconds is not None:
            grace = min(grace, timedelta(seconds=spec.starting_deadline_seconds))
        due = [(latest, Trigger.SCHEDULE)] if now - latest <= grace else []
    else:
        due = [(latest, Trigger.SCHEDULE)] if latest in in_window else []

    started = {t for t, _ in due}
    dropped = [t for t in times if t not in started]
    if fired.truncated:
        # More slots were due than were looked at; the latest of those is the most recent drop.
        earlier = fire_times_between(schedule.crons, floor, times[0] - _INSTANT, tz, limit=1)
        dropped = [_utc(t) for t in earlier.times] + dropped
    if dropped:
        policy = f"missedRunPolicy {spec.missed_run_policy.value}"
        if spec.starting_deadline_seconds is not None:
            policy += f", startingDeadlineSeconds {spec.starting_deadline_seconds}"
        if fired.truncated:
            message = (
                f"more than {len(times)} scheduled runs were due since {rfc3339(floor)}; "
                f"{len(due)} started, the others missed ({policy})"
            )
        else:
            message = (
                f"{len(dropped)} scheduled run(s) missed since {rfc3339(dropped[0])} ({policy})"
            )
        p.skipped = SkippedRun(
            time=now,
            trigger=Trigger.SCHEDULE,
            scheduled_time=max(dropped),
            reason="MissedSchedule",
            message=message,
        )
        p.events.append(Event("Warning", "MissedSchedule", message))
    return due, latest


# -- 4. concurrency ------------------------------------------------------------------------------


def _admit(
    p: _Pass,
    policy: ConcurrencyPolicy,
    due: Sequence[tuple[datetime, Trigger]],
    manual: str | None,
) -> None:
    """Turn what is due into new Executions, as the policy allows; record what is skipped."""
    rjob = p.rjob.name
    candidates = [
        NewExecution(scheduled_execution_name(rjob, t), trigger, t, None) for t, trigger in due
    ]
    if manual is not None:
        candidates.append(
            NewExecution(
                manual_execution_name(rjob, manual),
                Trigger.MANUAL,
                None,
                manual,
                requested_by=p.rjob.requested_by,
            )
        )
    # A name that exists already was handled by an earlier pass.
    candidates = [c for c in candidates if c.name not in p.executions]

    if policy == ConcurrencyPolicy.REPLACE and len(candidates) > 1:
        for c in candidates[:-1]:
            _skip_candidate(p, c, "Superseded", f"superseded by {candidates[-1].name}")
        candidates = candidates[-1:]

    for c in candidates:
        active = p.active()
        if policy == ConcurrencyPolicy.ALLOW or not active:
            _create(p, c)
        elif policy == ConcurrencyPolicy.FORBID:
            _skip_candidate(
                p,
                c,
                "ConcurrencyForbidden",
                f"{', '.join(active)} still active (concurrencyPolicy Forbid)",
            )
        elif policy == ConcurrencyPolicy.REPLACE:
            for name in active:
                _interrupt(p, name, "Replaced", f"replaced by {c.name} (concurrencyPolicy Replace)")
            _create(p, c)
        elif not p.waiting():
            _create(p, replace(c, queued=True))
        else:
            _skip_candidate(
                p, c, "QueueFull", f"{p.waiting()[0]} is already queued (concurrencyPolicy Queue)"
            )


def _describe(c: NewExecution) -> str:
    if c.trigger == Trigger.MANUAL:
        by = f" requested by {c.requested_by}" if c.requested_by else ""
        return f"manual run {c.token!r}{by}"
    assert c.scheduled_time is not None
    kind = "scheduled" if c.trigger == Trigger.SCHEDULE else c.trigger.value.lower()
    return f"{kind} run for {rfc3339(c.scheduled_time)}"


def _skip_candidate(p: _Pass, c: NewExecution, reason: str, why: str) -> None:
    p.skip(c.trigger, c.scheduled_time, c.token, reason, f"{_describe(c)} skipped: {why}")


def _create(p: _Pass, c: NewExecution) -> None:
    p.creates.append(c)
    # Seen as an Execution by the rest of this pass: active, with a Job unless queued.
    p.statuses[c.name] = ExecutionStatus()
    p.has_job[c.name] = not c.queued
    p.executions[c.name] = ExecutionState(
        name=c.name,
        uid="",
        created=p.now,
        owner_uid=p.rjob.uid,
        spec=execution_spec(p.rjob, c),
        status=ExecutionStatus(),
        deleting=False,
    )
    verb = "Queued" if c.queued else "Started"
    p.events.append(Event("Normal", f"Run{verb}", f"{verb} Execution {c.name}: {_describe(c)}"))


def execution_spec(rjob: RerunnableJobState, c: NewExecution) -> ExecutionSpec:
    """The spec of the Execution `c` creates: a queued run keeps its own copy of the template."""
    return ExecutionSpec(
        rerunnable_job=rjob.name,
        trigger=c.trigger,
        scheduled_time=c.scheduled_time,
        token=c.token,
        requested_by=c.requested_by,
        template_generation=rjob.generation,
        job_template=rjob.spec.job_template if c.queued and rjob.spec else None,
    )


def _interrupt(p: _Pass, name: str, reason: str, message: str) -> None:
    status = interrupted(p.statuses[name], reason=reason, message=message, now=p.now)
    p.statuses[name] = status
    if name in p.starts:
        # Its Job was about to be created in this very pass: it never gets one.
        p.starts.remove(name)
    p.interrupts.append(Interrupt(name, status))
    p.events.append(Event("Warning", "RunInterrupted", f"Execution {name} {message}"))


# -- 5. waiting executions --------------------------------------------------------------------


def _start_waiting(p: _Pass, policy: ConcurrencyPolicy) -> None:
    """Create the Jobs of Executions that have none yet, as the policy allows.

    They are queued runs, or runs whose Job was not created because the
    operator stopped between the two creates.
    """
    for name in p.waiting():
        if name in {c.name for c in p.creates}:
            continue
        if policy != ConcurrencyPolicy.ALLOW and p.running():
            return
        p.starts.append(name)
        p.has_job[name] = True
        p.events.append(Event("Normal", "RunStarted", f"Started queued Execution {name}"))


# -- 6. history ----------------------------------------------------------------------------------


def _prune(p: _Pass, spec: RerunnableJobSpec) -> list[str]:
    finished = sorted(
        (
            n
            for n, s in p.statuses.items()
            if s.phase in TERMINAL_PHASES and n in p.executions and p.executions[n].uid
        ),
        key=lambda n: (
            p.statuses[n].completion_time or p.executions[n].created,
            p.executions[n].created,
        ),
        reverse=True,
    )
    succeeded = [n for n in finished if p.statuses[n].phase == ExecutionPhase.SUCCEEDED]
    failed = [n for n in finished if p.statuses[n].phase != ExecutionPhase.SUCCEEDED]
    return sorted(
        succeeded[spec.successful_jobs_history_limit :] + failed[spec.failed_jobs_history_limit :]
    )


# -- 7. status ------------------------------------------------------------------------------------


def _status(
    p: _Pass,
    *,
    schedule: ValidSchedule | None,
    invalid: InvalidSpecError | None,
    suspended: tuple[str, str] | None,
    last_schedule_time: datetime | None,
    last_token: str | None,
    next_time: datetime | None,
    deleted: set[str],
) -> RerunnableJobStatus:
    previous = p.rjob.status
    by_age = sorted(p.executions, key=lambda n: p.executions[n].created)
    active = [n for n in by_age if p.statuses[n].phase not in TERMINAL_PHASES]
    finished = [n for n in by_age if p.statuses[n].phase in TERMINAL_PHASES]

    def completed(n: str) -> datetime:
        return p.statuses[n].completion_time or p.executions[n].created

    successes = [completed(n) for n in finished if p.statuses[n].phase == ExecutionPhase.SUCCEEDED]
    last_success = max([t for t in [previous.last_successful_time, *successes] if t], default=None)
    # A run that ended after the recorded result replaces it; pruning the newest run
    # (it is gone from `finished`) changes nothing.
    newer = [
        n
        for n in finished
        if previous.last_completion_time is None or completed(n) > previous.last_completion_time
    ]
    latest = max(newer, key=completed, default=None)
    last_result = p.statuses[latest].phase if latest else previous.last_result
    last_completion = completed(latest) if latest else previous.last_completion_time
    last_run = max(
        [t for t in [previous.last_run_time, *(p.executions[n].created for n in by_age)] if t],
        default=None,
    )
    recent = [
        ExecutionSummary(
            name=n,
            trigger=p.executions[n].spec.trigger,
            phase=p.statuses[n].phase,
            start_time=p.statuses[n].start_time,
            completion_time=p.statuses[n].completion_time,
        )
        for n in reversed(by_age)
        if n not in deleted
    ][:RECENT_EXECUTIONS]

    ready: tuple[ConditionStatus, str, str]
    if invalid is not None:
        held = p.rjob.run_token if p.rjob.run_token != last_token else None
        waits = f" (manual run {held!r} starts once this is fixed)" if held else ""
        ready = ("False", invalid.reason, invalid.message + waits)
    elif rejected := _rejected_template(p):
        ready = ("False", "InvalidJobTemplate", rejected)
    else:
        ready = ("True", "Ready", "schedules and manual runs are served")
    suspension: tuple[ConditionStatus, str, str] = (
        ("True", *suspended) if suspended else ("False", "NotSuspended", "")
    )
    conditions = [
        _transition(previous.conditions, READY, ready, p),
        _transition(previous.conditions, SUSPENDED, suspension, p),
    ]
    if ready[0] == "False" and _changed(previous.conditions, READY, ready):
        p.events.append(Event("Warning", ready[1], ready[2]))

    return RerunnableJobStatus(
        observed_generation=p.rjob.generation,
        conditions=conditions,
        schedule_text=schedule.text if schedule else previous.schedule_text,
        active=active,
        active_count=len(active),
        last_schedule_time=last_schedule_time,
        last_successful_time=last_success,
        last_run_time=last_run,
        last_result=last_result,
        last_completion_time=last_completion,
        next_schedule_time=next_time,
        last_run_token=last_token,
        last_skipped=p.skipped or previous.last_skipped,
        recent_executions=recent,
    )


def _rejected_template(p: _Pass) -> str | None:
    """The API server's message if the newest run of this generation had its Job refused."""
    for n in sorted(p.executions, key=lambda n: p.executions[n].created, reverse=True):
        e = p.executions[n]
        if e.spec.template_generation != p.rjob.generation:
            return None
        if p.statuses[n].reason == "JobRejected":
            return f"spec.jobTemplate: {p.statuses[n].message}"
        if p.statuses[n].job_name:
            return None
    return None


def _condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def _changed(conditions: Sequence[Condition], type_: str, value: tuple[str, str, str]) -> bool:
    old = _condition(conditions, type_)
    return old is None or (old.status, old.reason) != value[:2]


ConditionStatus = Literal["True", "False", "Unknown"]


def _transition(
    conditions: Sequence[Condition],
    type_: str,
    value: tuple[ConditionStatus, str, str],
    p: _Pass,
) -> Condition:
    status, reason, message = value
    old = _condition(conditions, type_)
    since = (
        old.last_transition_time
        if old is not None and old.status == status and old.last_transition_time
        else p.now
    )
    return Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since,
        observed_generation=p.rjob.generation,
    )


_INSTANT = timedelta(microseconds=1)


def _utc(t: datetime) -> datetime:
    """Times leave the planner in UTC: two readings of one instant then compare equal.

    (Python compares datetimes of one zone by wall time, which a DST fall-back repeats.)
    """
    return t.astimezone(UTC)


def _earliest(*times: datetime | None) -> datetime | None:
    return min((t for t in times if t is not None), default=None)
