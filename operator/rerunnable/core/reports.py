"""What a run reports of itself, and how it lands in its Execution's status (pure).

A report is a small JSON object a workload POSTs (every field optional):

    {"progress": {"completed": 42, "total": 100}, "message": "loading shard 7",
     "step": {"name": "load", "phase": "Running", "message": "..."},
     "result": {"location": "s3://backups/2026-12-02"}}

`parse_report` checks its shape; `apply_report` merges it into a status, or
says (ReportError, naming the field) why it cannot be; `apply_reports` lands the
reports a sink took, in order, on whatever the run has become meanwhile. Steps only move forward
(Pending, Running, then one end); the result merges key by key and stays under
4 KiB. When the run ends, `close_steps` closes what is left open. A Running run
whose last report is older than its heartbeat is stalled (`stall_deadline`).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from rerunnable.api.v1alpha1 import (
    TERMINAL_PHASES,
    ExecutionPhase,
    ExecutionStatus,
    RunReport,
    StepDeclaration,
    StepPhase,
    StepStatus,
)

__all__ = [
    "MAX_BODY",
    "MAX_RESULT",
    "Report",
    "ReportError",
    "StepReport",
    "apply_report",
    "apply_reports",
    "close_steps",
    "initial_steps",
    "parse_report",
    "result_size",
    "stall_deadline",
    "termination_messages",
    "termination_report",
    "with_termination_messages",
]

MAX_BODY = 16 * 1024  # bytes of one report
MAX_RESULT = 4 * 1024  # bytes of a run's result, keys and values, in all

_REPORTED_PHASES = (StepPhase.RUNNING, StepPhase.SUCCEEDED, StepPhase.FAILED, StepPhase.SKIPPED)
_ENDS = frozenset({StepPhase.SUCCEEDED, StepPhase.FAILED, StepPhase.SKIPPED})
_RANK = {StepPhase.PENDING: 0, StepPhase.RUNNING: 1}  # an end ranks 2


class ReportError(ValueError):
    """A report that cannot be taken; the message names the field (HTTP 400)."""


@dataclass(frozen=True)
class StepReport:
    name: str
    phase: StepPhase
    message: str | None = None


@dataclass(frozen=True)
class Report:
    completed: int | None = None
    total: int | None = None
    message: str | None = None
    step: StepReport | None = None
    result: Mapping[str, str] | None = None


def _fields(obj: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise ReportError(f"{where or 'the body'}: must be a JSON object")
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ReportError(f"{prefix}{unknown[0]}: unknown field (known: {', '.join(allowed)})")
    return obj


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReportError(f"{where}: must be a whole number, 0 or more")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ReportError(f"{where}: must be a string")


def parse_report(body: Any) -> Report:
    """The report in a decoded JSON body; ReportError naming the field if it is not one."""
    fields = _fields(body, "", ("progress", "message", "step", "result"))
    completed = total = None
    if fields.get("progress") is not None:
        progress = _fields(fields["progress"], "progress", ("completed", "total"))
        completed = _count(progress.get("completed"), "progress.completed")
        total = _count(progress.get("total"), "progress.total")
        if completed is not None and total is not None and completed > total:
            raise ReportError(f"progress.completed: {completed} is more than the total {total}")
    step = None
    if fields.get("step") is not None:
        raw = _fields(fields["step"], "step", ("name", "phase", "message"))
        name = _text(raw.get("name"), "step.name")
        if not name:
            raise ReportError("step.name: required")
        phase = raw.get("phase", StepPhase.RUNNING.value)
        if phase not in {p.value for p in _REPORTED_PHASES}:
            known = ", ".join(p.value for p in _REPORTED_PHASES)
            raise ReportError(f"step.phase: {phase!r} is not one of {known}")
        step = StepReport(name, StepPhase(phase), _text(raw.get("message"), "step.message"))
    result = None
    if fields.get("result") is not None:
        raw_result = _fields(fields["result"], "result", list(fields["result"] or {}))
        for key, value in raw_result.items():
            _text(value, f"result.{key}")
        result = dict(raw_result)
    return Report(completed, total, _text(fields.get("message"), "message"), step, result)


def result_size(result: Mapping[str, str]) -> int:
    """Bytes of a result: every key and value, UTF-8."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in result.items())


def initial_steps(declared: Sequence[StepDeclaration] | None) -> list[StepStatus]:
    """A new run's steps: every declared one, Pending."""
    return [StepStatus(name=d.name) for d in declared or ()]


def apply_report(
    status: ExecutionStatus,
    report: Report,
    *,
    declared: Sequence[str],
    now: datetime,
) -> ExecutionStatus:
    """`status` with `report` merged in; ReportError if a step or the result refuses it.

    `declared` names the job's steps (none: steps are added as they are reported).
    """
    previous = status.report or RunReport()
    completed = report.completed if report.completed is not None else previous.completed
    total = report.total if report.total is not None else previous.total
    steps = _with_step(status.steps, report.step, declared, now) if report.step else status.steps
    result = status.result
    if report.result:
        result = {**(status.result or {}), **report.result}
        size = result_size(result)
        if size > MAX_RESULT:
            raise ReportError(f"result: {size} bytes in all with this report; at most {MAX_RESULT}")
    running = next((s.name for s in steps if s.phase == StepPhase.RUNNING), None)
    summary = RunReport(
        completed=completed,
        total=total,
        progress=_progress_text(completed, total),
        step=running,
        message=report.message if report.message is not None else previous.message,
        updated_at=now,
    )
    return status.model_copy(update={"report": summary, "steps": steps, "result": result})


def apply_reports(
    status: ExecutionStatus,
    reports: Sequence[tuple[datetime, Report]],
    *,
    declared: Sequence[str],
) -> ExecutionStatus:
    """`status` with accepted `reports` (each with the time it was taken) merged in, in order.

    The workload was told yes to each (204), so each lands even on a run that has ended
    since: its result outlives the run. What no longer applies is left out (a step the
    run's end has closed stays closed, the rest of that report still counts), and a
    finished run's steps are closed again, so no report reopens one.
    """
    for at, report in reports:
        try:
            status = apply_report(status, report, declared=declared, now=at)
        except ReportError:
            if report.step is None:
                continue
            try:
                status = apply_report(status, replace(report, step=None), declared=declared, now=at)
            except ReportError:
                continue
    if status.phase in TERMINAL_PHASES and reports:
        ended = status.completion_time or reports[-1][0]
        status = status.model_copy(update={"steps": close_steps(status.steps, status.phase, ended)})
    return status


def _progress_text(completed: int | None, total: int | None) -> str | None:
    if completed is None and total is None:
        return None
    return f"{completed if completed is not None else '?'}/{total if total is not None else '?'}"


def _with_step(
    steps: Sequence[StepStatus], step: StepReport, declared: Sequence[str], now: datetime
) -> list[StepStatus]:
    if declared and step.name not in declared:
        raise ReportError(
            f"step.name: {step.name!r} is not one of the job's steps ({', '.join(declared)})"
        )
    known = list(steps) or [StepStatus(name=n) for n in declared]
    found = next((i for i, s in enumerate(known) if s.name == step.name), None)
    if found is None:
        known.append(StepStatus(name=step.name))
        found = len(known) - 1
    current = known[found]
    if not _forward(current.phase, step.phase):
        raise ReportError(
            f"step.phase: step {step.name!r} is {current.phase.value}; "
            f"it cannot become {step.phase.value}"
        )
    start = current.start_time
    if step.phase == StepPhase.RUNNING and start is None:
        start = now
    end = current.completion_time
    if step.phase in _ENDS and end is None:
        end = now
    message = step.message if step.message is not None else current.message
    known[found] = current.model_copy(
        update={
            "phase": step.phase,
            "message": message,
            "start_time": start,
            "completion_time": end,
        }
    )
    return known


def _forward(current: StepPhase, new: StepPhase) -> bool:
    """Pending → Running → one end, or Pending straight to an end; a phase again is no move."""
    if current == new:
        return True
    if current in _ENDS:
        return False
    return _RANK.get(new, 2) > _RANK[current]


def close_steps(
    steps: Sequence[StepStatus], run_phase: ExecutionPhase, now: datetime
) -> list[StepStatus]:
    """The steps of a run that ended in `run_phase`: a step still Running takes the run's end
    (Interrupted counts as Failed), one still Pending is Skipped."""
    end = StepPhase.SUCCEEDED if run_phase == ExecutionPhase.SUCCEEDED else StepPhase.FAILED
    closed = []
    for s in steps:
        if s.phase == StepPhase.RUNNING:
            s = s.model_copy(update={"phase": end, "completion_time": s.completion_time or now})
        elif s.phase == StepPhase.PENDING:
            s = s.model_copy(update={"phase": StepPhase.SKIPPED})
        closed.append(s)
    return closed


def stall_deadline(status: ExecutionStatus, heartbeat_seconds: int | None) -> datetime | None:
    """When a Running run without a newer report is stalled; None if it cannot stall.

    The heartbeat counts from the last report, or before any from its Job's start.
    """
    if heartbeat_seconds is None or status.phase != ExecutionPhase.RUNNING:
        return None
    last = (status.report.updated_at if status.report else None) or status.start_time
    return last + timedelta(seconds=heartbeat_seconds) if last is not None else None


def termination_report(messages: Sequence[str]) -> tuple[dict[str, str], str | None]:
    """The result and message that pods left in their termination messages, in order (later
    keys win): each a JSON object `{"result": {...}, "message": "..."}`; others are ignored."""
    result: dict[str, str] = {}
    message = None
    for text in messages:
        try:
            found = json.loads(text)
        except ValueError:
            continue
        if not isinstance(found, dict):
            continue
        values = found.get("result")
        if isinstance(values, dict):
            result.update({str(k): str(v) for k, v in values.items()})
        if isinstance(found.get("message"), str):
            message = found["message"]
    return result, message


def termination_messages(pods: Sequence[Mapping[str, Any]]) -> list[str]:
    """The termination messages of a Job's pods (API objects): pods in creation order, their
    containers in order."""

    def created(pod: Mapping[str, Any]) -> str:
        meta = pod.get("metadata") or {}
        return f"{meta.get('creationTimestamp', '')}/{meta.get('name', '')}"

    messages = []
    for pod in sorted(pods, key=created):
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (container.get("state") or {}).get("terminated") or {}
            if terminated.get("message"):
                messages.append(str(terminated["message"]))
    return messages


def with_termination_messages(status: ExecutionStatus, messages: Sequence[str]) -> ExecutionStatus:
    """A finished run's status with what its pods left: result keys merged in (the pods'
    win), and their message as the report's message."""
    result, message = termination_report(messages)
    if not result and message is None:
        return status
    report = status.report or RunReport()
    if message is not None:
        report = report.model_copy(update={"message": message})
    merged = {**(status.result or {}), **result} if result else status.result
    return status.model_copy(update={"result": merged, "report": report})
