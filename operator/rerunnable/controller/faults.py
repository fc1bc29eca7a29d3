"""Crash points: the process kills itself (SIGKILL) at a named point between two writes.

Restart safety is proven by killing the operator exactly where a crash hurts
most — between creating an Execution and its Job, say — and checking that the
next process converges. RERUNNABLE_CRASH_AT names the points, comma-separated;
unset (always, outside those tests) every call is a dictionary lookup.
"""

import os
import signal

__all__ = ["CRASH_POINTS", "crash_point"]

CRASH_POINTS = frozenset(
    {
        "after-execution-created",
        "after-job-created",
        "before-status-written",  # in a pass that created runs
        "after-interrupt-written",  # a run ended Interrupted (cancelled, replaced, stalled)
        "after-job-deleted",  # ... and its Job deleted, before the RerunnableJob's status
        "after-armed",  # the next slot's Execution made ahead, and its status written
    }
)

_armed = frozenset(p for p in os.environ.get("RERUNNABLE_CRASH_AT", "").split(",") if p)
if _armed - CRASH_POINTS:
    raise SystemExit(f"RERUNNABLE_CRASH_AT: unknown crash points {sorted(_armed - CRASH_POINTS)}")


def crash_point(name: str) -> None:
    if name in _armed:
        os.kill(os.getpid(), signal.SIGKILL)
