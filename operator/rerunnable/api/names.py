"""Names that users type and that other tools rely on: the public contract."""

__all__ = [
    "ANNOTATION_ARMED",
    "ANNOTATION_ATTEMPT",
    "ANNOTATION_BACKFILL",
    "ANNOTATION_BACKFILL_PARALLELISM",
    "ANNOTATION_BACKFILL_REQUESTED_BY",
    "ANNOTATION_BACKFILL_REQUESTED_RANGE",
    "ANNOTATION_CANCEL",
    "ANNOTATION_CANCELLED_BY",
    "ANNOTATION_PARAMETERS_FOR",
    "ANNOTATION_REQUESTED_BY",
    "ANNOTATION_REQUESTED_RUN",
    "ANNOTATION_RESUME",
    "ANNOTATION_RUN",
    "ANNOTATION_SCHEDULED_TIME",
    "EXECUTION_KIND",
    "EXECUTION_PLURAL",
    "GROUP",
    "LABEL_EXECUTION",
    "LABEL_RERUNNABLE_JOB",
    "LABEL_TRIGGER",
    "PARAMETER_ANNOTATION_PREFIX",
    "RERUNNABLE_JOB_KIND",
    "RERUNNABLE_JOB_PLURAL",
    "VERSION",
]

GROUP = "rerunnable.dev"
VERSION = "v1alpha1"

RERUNNABLE_JOB_KIND = "RerunnableJob"
RERUNNABLE_JOB_PLURAL = "rerunnablejobs"
EXECUTION_KIND = "Execution"
EXECUTION_PLURAL = "executions"

ANNOTATION_RUN = f"{GROUP}/run"
ANNOTATION_SCHEDULED_TIME = f"{GROUP}/scheduled-time"
# Stamped together by the admission webhook when the run annotation changes: who
# asked, and for which token (so a stamp left from an earlier run never counts).
ANNOTATION_REQUESTED_BY = f"{GROUP}/requested-by"
ANNOTATION_REQUESTED_RUN = f"{GROUP}/requested-run"
# Backfill of the slots of a past range: FROM/TO (RFC 3339, FROM inclusive, TO exclusive), and
# how many of its runs at once; stamped by the mutating webhook with who asked, for which range.
ANNOTATION_BACKFILL = f"{GROUP}/backfill"
ANNOTATION_BACKFILL_PARALLELISM = f"{GROUP}/backfill-parallelism"
ANNOTATION_BACKFILL_REQUESTED_BY = f"{GROUP}/backfill-requested-by"
ANNOTATION_BACKFILL_REQUESTED_RANGE = f"{GROUP}/backfill-requested-range"
# A new token clears a suspension by spec.suspendAfterFailures (a runner's right, like a run).
ANNOTATION_RESUME = f"{GROUP}/resume"
# A run's parameters: `parameters.rerunnable.dev/<NAME>` annotations, used by the run whose
# token `rerunnable.dev/parameters-for` names (set in the same request as the token).
PARAMETER_ANNOTATION_PREFIX = f"parameters.{GROUP}/"
ANNOTATION_PARAMETERS_FOR = f"{GROUP}/parameters-for"
# On an Execution: "true" asks the operator to end the run (Interrupted, reason Cancelled);
# the mutating webhook stamps who asked.
ANNOTATION_CANCEL = f"{GROUP}/cancel"
ANNOTATION_CANCELLED_BY = f"{GROUP}/cancelled-by"
# On an Execution: "true" if the operator made it ahead of its slot (armed), to write only
# its Job at the slot. Until that Job exists the run is no run yet: the policy decides at
# the slot, and the slot counts as handled only then.
ANNOTATION_ARMED = f"{GROUP}/armed"

# On a run's Job and its pods: the attempt's number (1, then 2, 3, ... for retries).
ANNOTATION_ATTEMPT = f"{GROUP}/attempt"

LABEL_RERUNNABLE_JOB = f"{GROUP}/rerunnable-job"
LABEL_EXECUTION = f"{GROUP}/execution"
LABEL_TRIGGER = f"{GROUP}/trigger"
