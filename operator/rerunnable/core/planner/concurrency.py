"""Steps 4 and 5: the concurrency policy. Waiting runs whose turn has come start; what is due
now becomes new Executions, is skipped, or replaces what runs, as the policy says."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from rerunnable.api.reasons import EventReason, RetryingReason, RunReason
from rerunnable.api.v1alpha1 import ConcurrencyPolicy, Trigger, rfc3339
from rerunnable.core import execution_status
from rerunnable.core.naming import manual_execution_name
from rerunnable.core.parameters import ParameterError, resolve
from rerunnable.core.planner.due import Due
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.runs import new_execution, same_run, scheduled_run
from rerunnable.core.planner.working import Pass
from rerunnable.core.reports import initial_steps

__all__ = ["admit", "start_waiting"]


def start_waiting(p: Pass, policy: ConcurrencyPolicy) -> None:
    """Step 4: create the Jobs of Executions that have none yet, as the policy allows.

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
        p.events.append(
            Event("Normal", EventReason.RUN_STARTED, f"Started queued Execution {name}")
        )


@dataclass(frozen=True)
class _Candidate:
    """A run that is due; it becomes a NewExecution only if the policy admits it."""

    name: str
    trigger: Trigger
    slot: datetime | None = None
    token: str | None = None
    requested_by: str | None = None
    parameters: dict[str, str] | None = None


def admit(p: Pass, policy: ConcurrencyPolicy, due: Due) -> None:
    """Step 5: turn what is due into new Executions, as the policy allows; record what is
    skipped. A slot armed ahead (`arming`) is decided now, as if it had no Execution: its
    Job is made, it is queued, or it is skipped and its Execution goes."""
    rjob = p.rjob
    declared = rjob.spec.parameters if rjob.spec is not None else None
    armed = set(p.armed())
    candidates = []
    for t, trigger in due.slots:
        run = scheduled_run(rjob, t, trigger)
        if run.name in armed and not same_run(p.executions[run.name].spec, run.spec):
            p.disarm(run.name)  # armed before an edit: made again, as the job is now
        candidates.append(_Candidate(run.name, trigger, slot=t, parameters=run.spec.parameters))
    refused: tuple[_Candidate, str] | None = None
    if due.token is not None:
        name = manual_execution_name(rjob.name, due.token)
        manual = _Candidate(name, Trigger.MANUAL, token=due.token, requested_by=rjob.requested_by)
        try:
            values = resolve(declared, rjob.sent_parameters or {})
        except ParameterError as e:
            if name not in p.executions:
                refused = (manual, f"invalid parameters: {e.message}")
        else:
            candidates.append(dataclasses.replace(manual, parameters=values))
    # A name that exists already was handled by an earlier pass, unless it is armed.
    armed = set(p.armed())
    candidates = [c for c in candidates if c.name not in p.executions or c.name in armed]

    if policy == ConcurrencyPolicy.REPLACE and len(candidates) > 1:
        for c in candidates[:-1]:
            _skip(p, c, RunReason.SUPERSEDED, f"superseded by {candidates[-1].name}")
        candidates = candidates[-1:]

    for c in candidates:
        active = p.active()
        if policy == ConcurrencyPolicy.ALLOW or not active:
            _create(p, c)
        elif policy == ConcurrencyPolicy.FORBID:
            why = f"{', '.join(active)} still active (concurrencyPolicy Forbid)"
            _skip(p, c, RunReason.CONCURRENCY_FORBIDDEN, why)
        elif policy == ConcurrencyPolicy.REPLACE:
            for name in active:
                _replace(p, name, c.name)
            _create(p, c)
        elif not p.waiting():
            _create(p, c, queued=True)
        else:
            why = f"{p.waiting()[0]} is already queued (concurrencyPolicy Queue)"
            _skip(p, c, RunReason.QUEUE_FULL, why)
    # Last, so that lastSkipped names the token (as it does when the manual run is skipped
    # for the policy): the requester's `kubectl rerun run --wait` reads its refusal there.
    if refused is not None:
        _skip(p, refused[0], RunReason.INVALID_PARAMETERS, refused[1])


def _describe(c: _Candidate) -> str:
    if c.trigger == Trigger.MANUAL:
        by = f" requested by {c.requested_by}" if c.requested_by else ""
        return f"manual run {c.token!r}{by}"
    assert c.slot is not None
    kind = "scheduled" if c.trigger == Trigger.SCHEDULE else c.trigger.value.lower()
    return f"{kind} run for {rfc3339(c.slot)}"


def _skip(p: Pass, c: _Candidate, reason: str, why: str) -> None:
    if c.name in p.armed():
        p.disarm(c.name)
    p.skip(c.trigger, c.slot, c.token, reason, f"{_describe(c)} skipped: {why}")


def _create(p: Pass, candidate: _Candidate, *, queued: bool = False) -> None:
    name = candidate.name
    if name not in p.armed():
        p.add(
            new_execution(
                p.rjob,
                name,
                candidate.trigger,
                slot=candidate.slot,
                token=candidate.token,
                requested_by=candidate.requested_by,
                parameters=candidate.parameters,
                queued=queued,
            )
        )
    elif queued:
        # An armed run whose slot has come queues as it is (it has its template's copy).
        steps = initial_steps(p.rjob.spec.steps if p.rjob.spec else None)
        p.amend(name, execution_status.queued(steps))
    else:
        p.start_armed(name)
    reason, verb = (
        (EventReason.RUN_QUEUED, "Queued") if queued else (EventReason.RUN_STARTED, "Started")
    )
    p.events.append(Event("Normal", reason, f"{verb} Execution {name}: {_describe(candidate)}"))


def _replace(p: Pass, name: str, by: str) -> None:
    """End what runs (Interrupted, Replaced); a run waiting for its retry gets none."""
    message = f"replaced by {by} (concurrencyPolicy Replace)"
    if p.planned(name):
        # A retry that came due in this very pass: the run is replaced before its attempt
        # exists, so the attempt is never made and the run's retry is called off.
        new = p.withdraw(name)
        assert new.spec.retry_of is not None, "only a retry is created before the admission"
        p.stop_retry(p.chains()[new.spec.retry_of][-1], RetryingReason.REPLACED, message)
    elif name in p.retry_waiting:
        p.stop_retry(name, RetryingReason.REPLACED, message)
    else:
        p.interrupt(name, RunReason.REPLACED, message)
