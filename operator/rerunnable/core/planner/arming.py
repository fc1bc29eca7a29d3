"""Step 9: arm the next slot. Its Execution is made some seconds ahead (Pending, reason
Scheduled), so that at the slot only its Job is written: the one write the API server
must take then (docs/design.md, "Armed runs").

An armed Execution is no run yet: it counts in no concurrency policy, no status and no
history, and its slot counts as handled only once the policy decided at the slot
(`concurrency.admit` makes its Job, queues it, or skips it and deletes it). It exists only
for the next slot the job as it is now will run: one the job will not run as it is
(suspended, stopped, edited, invalid, its schedule moved) goes in the next pass.
"""

from datetime import datetime, timedelta

from rerunnable.api.v1alpha1 import Trigger
from rerunnable.core.planner.due import Due
from rerunnable.core.planner.runs import same_run, scheduled_run
from rerunnable.core.planner.working import Pass

__all__ = ["arm"]


def arm(p: Pass, found: Due, ahead: timedelta, *, valid: bool) -> datetime | None:
    """Arm the next slot if it is at most `ahead` away; disarm every other armed Execution.

    `valid`: whether the spec is valid (an invalid job arms nothing). Returns when to look
    again to arm the next slot (`ahead` before it), or None: armed already, or no slot to
    come, or arming is off (`ahead` zero).
    """
    slot = found.next_schedule_time if valid and found.suspended is None else None
    wanted = None
    if slot is not None and ahead and slot - p.now <= ahead:
        wanted = scheduled_run(p.rjob, slot, Trigger.SCHEDULE, armed=True)
    for name in p.armed():
        made = p.executions[name].spec
        if wanted is None or name != wanted.name or not same_run(made, wanted.spec):
            p.disarm(name)
    if wanted is not None and wanted.name not in p.executions:
        # One made before an edit was just disarmed: it is deleted first, then made again.
        p.arms.append(wanted)
    if wanted is None and slot is not None and ahead:
        return slot - ahead
    return None
