"""`kubectl rerun status EXECUTION`, and the live view of `run --wait`: one run as people read it
(pure: the objects and `now` in, text out)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rerunnable.api.v1alpha1 import ExecutionStatus, RunReport, StepStatus
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


def status_text(
    execution: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: datetime
) -> str:
    """Everything about one run: what started it, its phase, progress, steps, result, pods."""
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
    if status.result:
        lines.append("result:")
        width = max(len(k) for k in status.result)
        lines.extend(f"  {k.ljust(width)}  {v}" for k, v in sorted(status.result.items()))
    return "\n".join(lines) + "\n"
