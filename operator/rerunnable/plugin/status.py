"""`kubectl rerun status EXECUTION`, and the live view of `run --wait`: one run as people read it
(pure: the objects and `now` in, text out)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rerunnable.api.names import ANNOTATION_CANCEL, ANNOTATION_CANCELLED_BY
from rerunnable.api.reasons import ConditionType
from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionStatus, RunReport, StepStatus
from rerunnable.plugin.output import (
    NONE,
    human_age,
    read_status,
    render_table,
    section,
    short_duration,
)

__all__ = ["BAR_WIDTH", "progress_bar", "status_text", "steps_table"]

BAR_WIDTH = 20


def progress_bar(report: RunReport | None) -> str:
    """`[########------------] 42/100  loading shard 7`; empty without reported progress."""
    if report is None:
        return ""
    parts = []
    if report.completed is not None and report.total:
        filled = min(BAR_WIDTH, BAR_WIDTH * report.completed // report.total)
        parts.append(f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {report.progress}")
    elif report.progress:
        parts.append(report.progress)
    if report.message:
        parts.append(report.message)
    return "  ".join(parts)


def steps_table(steps: Sequence[StepStatus], now: datetime) -> str:
    rows = []
    for s in steps:
        took = NONE
        if s.start_time is not None:
            took = short_duration((s.completion_time or now) - s.start_time)
        started = human_age(now - s.start_time) + " ago" if s.start_time else NONE
        rows.append([s.name, s.phase.value, started, took, s.message or ""])
    return render_table(["STEP", "PHASE", "STARTED", "DURATION", "MESSAGE"], rows)


def _pods_line(pods: Sequence[Mapping[str, Any]]) -> str:
    if not pods:
        return NONE
    counts: dict[str, int] = {}
    for pod in pods:
        phase = str(section(pod, "status").get("phase") or "Pending")
        counts[phase] = counts.get(phase, 0) + 1
    names = ", ".join(str(section(p, "metadata").get("name", "")) for p in pods)
    summary = ", ".join(f"{n} {phase}" for phase, n in sorted(counts.items()))
    return f"{summary} ({names})"


def _named(title: str, values: Mapping[str, Any], *, sort: bool) -> list[str]:
    """`title:` and a line per name and value, aligned; nothing when there are none."""
    if not values:
        return []
    width = max(len(k) for k in values)
    items = sorted(values.items()) if sort else list(values.items())
    return [f"{title}:", *(f"  {k.ljust(width)}  {v}" for k, v in items)]


def status_text(
    execution: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime
) -> str:
    """Everything about one run: what started it, its phase (and a cancel being carried out),
    progress, pods, steps, parameters and result."""
    meta, spec = section(execution, "metadata"), section(execution, "spec")
    status: ExecutionStatus = read_status(ExecutionStatus, execution, "execution")
    name = meta.get("name", "")
    by = f" by {spec['requestedBy']}" if spec.get("requestedBy") else ""
    lines = [
        f"execution.rerunnable.dev/{name}  (rerunnablejob/{spec.get('rerunnableJob', '')}, "
        f"{spec.get('trigger', '')}{by})"
    ]
    phase = status.phase.value
    if status.start_time is not None:
        took = short_duration((status.completion_time or now) - status.start_time)
        phase += f" after {took}" if status.completion_time else f" for {took}"
    if status.reason:
        phase += f": {status.reason}" + (f": {status.message}" if status.message else "")
    lines.append(f"phase:     {phase}")
    attempt = spec.get("attempt")
    if isinstance(attempt, int) and attempt > 1:
        lines.append(f"attempt:   {attempt} (a retry of {spec.get('retryOf', NONE)})")
    retrying = next((c for c in status.conditions if c.type == ConditionType.RETRYING), None)
    if retrying is not None:
        lines.append(f"retry:     {retrying.message} ({retrying.reason})")
    annotations = meta.get("annotations") or {}
    if annotations.get(ANNOTATION_CANCEL) == "true" and status.phase not in TERMINAL_PHASES:
        asker = annotations.get(ANNOTATION_CANCELLED_BY)
        lines.append(f"cancel:    requested{f' by {asker}' if asker else ''}, being carried out")
    if status.report is not None:
        heard = human_age(now - status.report.updated_at) if status.report.updated_at else NONE
        lines.append(f"progress:  {progress_bar(status.report) or NONE}  (last report {heard} ago)")
    if status.progress is not None:
        p = status.progress
        lines.append(
            f"pods:      {_pods_line(pods)}; {p.succeeded}/{p.total} succeeded, {p.failed} failed"
        )
    else:
        lines.append(f"pods:      {_pods_line(pods)}")
    if status.steps:
        lines.append("steps:")
        lines.extend("  " + row for row in steps_table(status.steps, now).splitlines())
    lines.extend(_named("parameters", spec.get("parameters") or {}, sort=False))
    lines.extend(_named("result", status.result or {}, sort=True))
    return "\n".join(lines) + "\n"
