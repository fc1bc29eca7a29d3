"""Names that users type and that other tools rely on (DESIGN.md §1)."""

__all__ = [
    "ANNOTATION_RUN",
    "ANNOTATION_SCHEDULED_TIME",
    "EXECUTION_KIND",
    "EXECUTION_PLURAL",
    "GROUP",
    "LABEL_EXECUTION",
    "LABEL_RERUNNABLE_JOB",
    "LABEL_TRIGGER",
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

LABEL_RERUNNABLE_JOB = f"{GROUP}/rerunnable-job"
LABEL_EXECUTION = f"{GROUP}/execution"
LABEL_TRIGGER = f"{GROUP}/trigger"
