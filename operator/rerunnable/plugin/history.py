"""`kubectl rerun history`: a RerunnableJob's Executions as a table, newest first (pure)."""

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rerunnable.api.v1alpha1 import ExecutionStatus, parse_time
from rerunnable.plugin.output import (
    NONE,
    human_age,
    read_status,
    render_table,
    section,
    short_duration,
)

__all__ = ["HEADERS", "WIDE_HEADERS", "history_row", "history_table", "newest_first"]

HEADERS = (
    "NAME",
    "TRIGGER",
    "BY",
    "PHASE",
    "SCHEDULED",
    "STARTED",
    "DURATION",
    "PROGRESS",
    "REASON",
)
# -o wide adds, as kubectl's wide does: the run's Job, its token (manual runs), when it ended
# (an age), and the message.
WIDE_HEADERS = (*HEADERS, "JOB", "TOKEN", "COMPLETED", "MESSAGE")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def newest_first(executions: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """By creation time, newest first; ties (timestamps have whole seconds) by slot, then name."""

    def key(e: Mapping[str, Any]) -> tuple[datetime, datetime, str]:
        meta, spec = section(e, "metadata"), section(e, "spec")
        created = parse_time(meta.get("creationTimestamp")) or _EPOCH
        slot = parse_time(spec.get("scheduledTime")) or _EPOCH
        return (created, slot, str(meta.get("name", "")))

    return sorted(executions, key=key, reverse=True)


def _ago(moment: datetime | None, now: datetime) -> str:
    return human_age(now - moment) if moment else NONE


def history_row(execution: Mapping[str, Any], now: datetime, *, wide: bool = False) -> list[str]:
    meta = section(execution, "metadata")
    spec = section(execution, "spec")
    status = read_status(ExecutionStatus, execution, "execution")
    started, completed = status.start_time, status.completion_time
    duration = NONE if started is None else short_duration((completed or now) - started)
    progress = status.progress
    row = [
        str(meta.get("name", NONE)),
        _trigger(spec),
        str(spec.get("requestedBy") or NONE),
        status.phase.value,
        _ago(parse_time(spec.get("scheduledTime")), now),
        _ago(started, now),
        duration,
        f"{progress.succeeded}/{progress.total}" if progress is not None else NONE,
        status.reason or NONE,
    ]
    if wide:
        row += [
            status.job_name or NONE,
            str(spec.get("token") or NONE),
            _ago(completed, now),
            status.message or NONE,
        ]
    return row


def _trigger(spec: Mapping[str, Any]) -> str:
    """`Schedule`, `Manual`, ...; a retry with its attempt's number: `Retry #2`."""
    trigger = str(spec.get("trigger") or NONE)
    attempt = spec.get("attempt")
    return f"{trigger} #{attempt}" if isinstance(attempt, int) and attempt > 1 else trigger


def history_table(
    executions: Sequence[Mapping[str, Any]], now: datetime, *, wide: bool = False
) -> str:
    """The table, rows in the order given (see `newest_first`); `wide`: -o wide's columns."""
    rows = [history_row(e, now, wide=wide) for e in executions]
    return render_table(WIDE_HEADERS if wide else HEADERS, rows)
