"""Step 3: a run whose attempt ended in a phase spec.retry lists goes on with its next attempt
after the backoff; until then it waits, active, and its ended attempt says when."""

from datetime import datetime

from rerunnable.api.reasons import EventReason, RetryingReason
from rerunnable.api.v1alpha1 import TERMINAL_PHASES, RerunnableJobSpec, Trigger, rfc3339
from rerunnable.core.naming import attempt_execution_name
from rerunnable.core.planner.model import Event
from rerunnable.core.planner.runs import new_execution
from rerunnable.core.planner.working import Pass
from rerunnable.core.retries import attempts_allowed, next_attempt_time, retryable, stopped

__all__ = ["retry"]


def retry(p: Pass, spec: RerunnableJobSpec) -> datetime | None:
    """Start the attempts that are due, mark the ones that wait; return when the next waiting
    one is due, to look again then."""
    upcoming = []
    allowed = attempts_allowed(spec.retry)
    for first, names in p.chains().items():
        last = names[-1]
        status = p.statuses[last]
        if status.phase not in TERMINAL_PHASES:
            continue
        execution = p.executions[last]
        attempt = execution.spec.attempt or 1
        due = next_attempt_time(status, attempt, spec.retry)
        if due is None:
            _no_retry(p, last, attempt, allowed, spec)
        elif execution.cancel_requested:
            by = f" by {execution.cancelled_by}" if execution.cancelled_by else ""
            p.stop_retry(
                last, RetryingReason.CANCELLED, f"cancelled{by} before attempt {attempt + 1}"
            )
        elif due > p.now:
            p.retry_waiting.add(last)
            if status.next_attempt_time != due:
                p.events.append(
                    Event(
                        "Warning",
                        EventReason.RUN_RETRYING,
                        f"Execution {last} {status.phase.value.lower()} (attempt {attempt} of "
                        f"{allowed}); attempt {attempt + 1} starts at {rfc3339(due)}",
                    )
                )
            p.retrying(
                last,
                "True",
                RetryingReason.WAITING,
                f"attempt {attempt + 1} of {allowed} starts at {rfc3339(due)}",
                next_attempt_time=due,
            )
            upcoming.append(due)
        else:
            _next_attempt(p, first, last, attempt + 1, allowed, spec)
    return min(upcoming, default=None)


def _next_attempt(
    p: Pass, first: str, last: str, attempt: int, allowed: int, spec: RerunnableJobSpec
) -> None:
    """Create attempt `attempt`: the same run again, with the template copy and the parameters
    of the attempt before."""
    previous = p.executions[last].spec
    name = attempt_execution_name(p.rjob.name, first, attempt)
    new = new_execution(
        p.rjob,
        name,
        Trigger.RETRY,
        slot=previous.scheduled_time,
        token=previous.token,
        requested_by=previous.requested_by,
        parameters=previous.parameters,
        attempt=attempt,
        retry_of=first,
        template=(previous.template_generation, previous.job_template or spec.job_template),
    )
    p.add(new)
    p.retrying(
        last,
        "False",
        RetryingReason.RETRIED,
        f"attempt {attempt} is Execution {name}",
        next_attempt_time=None,
    )
    p.events.append(
        Event(
            "Normal",
            EventReason.RUN_STARTED,
            f"Started Execution {name}: attempt {attempt} of {allowed} of {first}",
        )
    )


def _no_retry(p: Pass, last: str, attempt: int, allowed: int, spec: RerunnableJobSpec) -> None:
    """An ended attempt with no retry to come: say so where retries were to be expected."""
    status = p.statuses[last]
    if spec.retry is None or spec.retry.limit == 0 or stopped(status) is not None:
        if status.next_attempt_time is not None:
            p.amend(last, status.model_copy(update={"next_attempt_time": None}))
        return
    if retryable(status, spec.retry.on) and attempt >= allowed:
        p.retrying(
            last,
            "False",
            RetryingReason.RETRIES_EXHAUSTED,
            f"attempt {attempt} of {allowed} was the last (retry.limit {spec.retry.limit})",
            next_attempt_time=None,
        )
