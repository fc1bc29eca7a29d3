"""Step 7: finished runs beyond the history limits go, oldest first, each with all its
attempts (a retry never points at a pruned Execution)."""

from rerunnable.api.v1alpha1 import ExecutionPhase, RerunnableJobSpec
from rerunnable.core.planner.working import Pass

__all__ = ["prune"]


def prune(p: Pass, spec: RerunnableJobSpec) -> list[str]:
    """The Executions to delete, sorted by name.

    A run is over when its last attempt ended with no retry to come; it counts
    as succeeded or failed by that attempt. Newest first by completion
    (creation for ties); a run with an attempt created in this pass (no uid
    yet) is never pruned.
    """
    chains = p.chains()
    ends = [n for n in p.run_ends() if all(p.executions[a].uid for a in chains[_first(p, n)])]
    ends.sort(
        key=lambda n: (
            p.statuses[n].completion_time or p.executions[n].created,
            p.executions[n].created,
        ),
        reverse=True,
    )
    succeeded = [n for n in ends if p.statuses[n].phase == ExecutionPhase.SUCCEEDED]
    failed = [n for n in ends if p.statuses[n].phase != ExecutionPhase.SUCCEEDED]
    pruned = (
        succeeded[spec.successful_jobs_history_limit :] + failed[spec.failed_jobs_history_limit :]
    )
    return sorted(a for n in pruned for a in chains[_first(p, n)])


def _first(p: Pass, name: str) -> str:
    return p.executions[name].spec.retry_of or name
