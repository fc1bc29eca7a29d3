"""`kubectl rerun next`: upcoming fire times, computed locally from the spec (pure).

The schedules are validated and read, and the times computed, by the very
functions the operator uses (`rerunnable.core.schedule`): the same time zone
rules, the same `H` values for the hash key "namespace/name", the same rule for
a suspension (`suspend: true`: no scheduled runs at all; `suspendUntil` in the
future: the first run is the first slot at or after it).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from rerunnable.api.reasons import ConditionType, SuspendedReason
from rerunnable.api.v1alpha1 import RerunnableJobSpec, RerunnableJobStatus, rfc3339
from rerunnable.core.execution_status import waits_armed
from rerunnable.core.naming import scheduled_execution_name
from rerunnable.core.schedule import InvalidSpecError, upcoming_times, validate_schedule
from rerunnable.core.state import ExecutionState
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.output import human_age, read_status, render_table

__all__ = ["Upcoming", "format_local", "upcoming_json", "upcoming_runs", "upcoming_text"]


@dataclass(frozen=True)
class Upcoming:
    name: str
    namespace: str
    schedules: tuple[str, ...]
    time_zone: str
    suspended: bool  # spec.suspend: no scheduled runs until resumed
    suspend_until: datetime | None  # only if still in the future
    times: tuple[datetime, ...]  # in the job's time zone
    # Why a rule stops the schedule (suspendAfterFailures, endTime, maxRuns), as the
    # operator's Suspended condition says, or None.
    stopped: str | None = None
    # The Executions armed ahead of these times (`--arm-ahead-seconds`), by time (UTC).
    armed: Mapping[datetime, str] | None = None


_STOPS = frozenset(
    {
        SuspendedReason.CONSECUTIVE_FAILURES,
        SuspendedReason.END_TIME_REACHED,
        SuspendedReason.MAX_RUNS_REACHED,
    }
)


def upcoming_runs(
    rjob: Mapping[str, Any],
    *,
    count: int,
    now: datetime,
    executions: Iterable[Mapping[str, Any]] = (),
) -> Upcoming:
    """The next `count` scheduled runs of the RerunnableJob object `rjob` after `now`, with
    the Executions armed for them among its `executions`.

    Raises PluginError with the operator's own message for an invalid spec.
    """
    meta = rjob.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    try:
        spec = RerunnableJobSpec.model_validate(rjob.get("spec") or {})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(part) for part in ("spec", *first["loc"]))
        raise PluginError(f"rerunnablejob/{name}: {where}: {first['msg']}") from None
    try:
        schedule = validate_schedule(spec, hash_key=f"{namespace}/{name}", now=now)
    except InvalidSpecError as e:  # str(e) names the field
        raise PluginError(f"rerunnablejob/{name}: {e}") from None
    suspend_until = spec.suspend_until if spec.suspend_until and spec.suspend_until > now else None
    status = read_status(RerunnableJobStatus, rjob, "rerunnablejob")
    condition = next((c for c in status.conditions if c.type == ConditionType.SUSPENDED), None)
    stopped = (
        condition.message
        if condition is not None and condition.status == "True" and condition.reason in _STOPS
        else None
    )
    remaining = max(0, spec.max_runs - status.scheduled_runs) if spec.max_runs else None
    halted = condition is not None and condition.reason == SuspendedReason.CONSECUTIVE_FAILURES
    times = upcoming_times(
        schedule, spec, now, count=count, remaining_runs=remaining, halted=halted
    )
    return Upcoming(
        name=name,
        namespace=namespace,
        schedules=tuple(c.expression for c in schedule.crons),
        time_zone=schedule.time_zone_name,
        suspended=spec.suspend,
        suspend_until=suspend_until,
        times=tuple(times),
        stopped=stopped,
        armed=_armed(executions) or None,
    )


def _armed(executions: Iterable[Mapping[str, Any]]) -> dict[datetime, str]:
    """The Executions that wait armed for their slot, by slot."""
    armed = {}
    for body in executions:
        e = ExecutionState.from_body(body)
        if e.spec.scheduled_time is not None and waits_armed(
            e.status, armed=e.armed, has_job=False
        ):
            armed[e.spec.scheduled_time] = e.name
    return armed


def format_local(moment: datetime) -> str:
    """`Mon 2026-11-23 02:18 +01:00`: weekday, wall time and offset (unambiguous across DST)."""
    offset = moment.strftime("%z")
    return f"{moment:%a %Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def upcoming_text(up: Upcoming, *, now: datetime, wide: bool = False) -> str:
    """What `next` prints: a line about the schedule or suspension, then the table.

    `wide` (-o wide) adds EXECUTION, the name the run of each time will have, and ARMED
    (true: that Execution exists already, armed ahead of its time)."""
    subject = f"rerunnablejob/{up.name}"
    if not up.schedules:
        return f"{subject} has no schedule: it runs only on demand (kubectl rerun run {up.name}).\n"
    schedules = ", ".join(up.schedules)
    heading = f"{subject}: {schedules} ({up.time_zone})"
    if up.suspended:
        return (
            f"{heading}\n{subject} is suspended (spec.suspend is true): no scheduled runs"
            f" until it is resumed (kubectl rerun resume {up.name}).\n"
        )
    if up.stopped is not None and not up.times:
        return f"{heading}\n{subject}: no scheduled runs: {up.stopped}.\n"
    if up.suspend_until is not None:
        heading += (
            f"\nsuspended until {rfc3339(up.suspend_until)}"
            f" (in {human_age(up.suspend_until - now)}); the next runs after that:"
        )
    rows = [[format_local(t), rfc3339(t), human_age(t - now)] for t in up.times]
    headers = [f"TIME ({up.time_zone})", "UTC", "IN"]
    armed = up.armed or {}  # its Execution exists already, Pending (reason Scheduled)
    if wide:
        headers += ["EXECUTION", "ARMED"]
        for row, t in zip(rows, up.times, strict=True):
            row += [scheduled_execution_name(up.name, t), str(t in armed).lower()]
    elif armed:
        headers.append("ARMED")
        for row, t in zip(rows, up.times, strict=True):
            row.append(armed.get(t, ""))
    return f"{heading}\n" + render_table(headers, rows)


def upcoming_json(up: Upcoming) -> dict[str, Any]:
    """What `next -o json|yaml` prints."""
    return {
        "rerunnableJob": up.name,
        "namespace": up.namespace,
        "schedules": list(up.schedules),
        "timeZone": up.time_zone,
        "suspend": up.suspended,
        "suspendUntil": rfc3339(up.suspend_until) if up.suspend_until else None,
        "times": [_time_json(t, up.armed or {}) for t in up.times],
        "stopped": up.stopped,
    }


def _time_json(t: datetime, armed: Mapping[datetime, str]) -> dict[str, str]:
    found = {"time": t.isoformat(), "utc": rfc3339(t)}
    if t in armed:
        found["armedExecution"] = armed[t]
    return found
