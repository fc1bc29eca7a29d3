"""Step 6: finished Executions beyond the history limits go, oldest first."""

from rerunnable.api.v1alpha1 import TERMINAL_PHASES, ExecutionPhase, RerunnableJobSpec
from rerunnable.core.planner.working import Pass

__all__ = ["prune"]


def prune(p: Pass, spec: RerunnableJobSpec) -> list[str]:
    """The finished Executions to delete, sorted by name.

    Newest first by completion (creation for ties); an Execution created in this
    pass (no uid yet) is never pruned.
    """
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
