"""The rerunnable.dev/v1alpha1 API: RerunnableJob and Execution.

These pydantic models are the single source of truth for both kinds: the
operator reads and writes objects through them, and `rerunnable.crdgen` turns
them into the CRDs under `crds/` (descriptions, defaults, enums, CEL rules).
Field descriptions are what `kubectl explain` shows.
"""

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

__all__ = [
    "MAX_RETRIES",
    "TERMINAL_PHASES",
    "BackfillStatus",
    "Backoff",
    "ConcurrencyPolicy",
    "Condition",
    "ExecutionPhase",
    "ExecutionProgress",
    "ExecutionSpec",
    "ExecutionStatus",
    "ExecutionSummary",
    "JobTemplate",
    "JobTemplateMetadata",
    "MissedRunPolicy",
    "ParameterDeclaration",
    "Reporting",
    "RerunnableJobSpec",
    "RerunnableJobStatus",
    "Retry",
    "RetryOn",
    "RunReport",
    "SkippedRun",
    "StepDeclaration",
    "StepPhase",
    "StepStatus",
    "Trigger",
    "parse_time",
    "rfc3339",
    "to_wire",
]

# Marks a field whose schema crdgen takes from the Kubernetes OpenAPI document.
KUBERNETES_SCHEMA = "x-rerunnable-kubernetes-schema"
CEL = "x-kubernetes-validations"


def _rules(*rules: tuple[str, str] | dict[str, str]) -> dict[str, Any]:
    """CEL validation rules for the model's schema: (rule, message), or a rule as the CRD
    writes it (with a messageExpression, to name the offending value)."""
    return {CEL: [r if isinstance(r, dict) else {"rule": r[0], "message": r[1]} for r in rules]}


def rfc3339(t: datetime) -> str:
    """`2026-11-22T03:00:00Z`: UTC, whole seconds, as Kubernetes writes times."""
    return t.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


# The longest span in seconds a spec may name (100 years).
MAX_SECONDS = 100 * 365 * 24 * 3600
# The times a spec may name: wide enough for any schedule, narrow enough that the time maths
# (a zone's offset, a deadline before a slot) never leaves the calendar.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(t: datetime) -> datetime:
    if t.tzinfo is None or not EARLIEST <= t < LATEST:
        raise ValueError(
            f"must be a time with a zone from {rfc3339(EARLIEST)} to before {rfc3339(LATEST)}"
        )
    return t


SpecTime = Annotated[datetime, AfterValidator(_in_range)]


def _time_rule(field: str) -> tuple[str, str]:
    return (
        f"!has(self.{field}) || (timestamp(self.{field}) >= timestamp('{rfc3339(EARLIEST)}')"
        f" && timestamp(self.{field}) < timestamp('{rfc3339(LATEST)}'))",
        f"spec.{field} must be from {rfc3339(EARLIEST)} to before {rfc3339(LATEST)}",
    )


def parse_time(value: object) -> datetime | None:
    """A Kubernetes timestamp (`2026-11-22T08:03:04Z`) as an aware datetime; None if there is
    none, or it is not one (the reverse of `rfc3339`)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_value(v) for v in value]
    return value


def to_wire(model: BaseModel) -> dict[str, Any]:
    """The model as the API server takes it: camelCase, UTC times in whole seconds.

    Unset optional fields are sent as null, so that a merge patch clears them.
    """
    result: dict[str, Any] = _wire_value(model.model_dump(by_alias=True, mode="python"))
    return result


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class ConcurrencyPolicy(StrEnum):
    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"
    QUEUE = "Queue"


class MissedRunPolicy(StrEnum):
    LATEST = "Latest"
    ALL = "All"
    SKIP = "Skip"


class Trigger(StrEnum):
    SCHEDULE = "Schedule"
    MANUAL = "Manual"
    RETRY = "Retry"
    BACKFILL = "Backfill"


class ExecutionPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    INTERRUPTED = "Interrupted"


class StepPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"


TERMINAL_PHASES = frozenset(
    {ExecutionPhase.SUCCEEDED, ExecutionPhase.FAILED, ExecutionPhase.INTERRUPTED}
)


class Condition(_Model):
    """A status condition, shaped like metav1.Condition."""

    type: str = Field(description="Type of the condition, e.g. Ready or Suspended.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(description="One CamelCase word saying why, e.g. InvalidSchedule.")
    message: str = Field(default="", description="What a person needs to know, in a sentence.")
    last_transition_time: datetime | None = Field(
        default=None, description="When the status last changed."
    )
    observed_generation: int | None = Field(
        default=None, description="The .metadata.generation the condition was computed from."
    )


class JobTemplateMetadata(_Model):
    """Labels and annotations copied onto every Job this RerunnableJob creates."""

    labels: dict[str, str] | None = Field(default=None, description="Labels for the Job.")
    annotations: dict[str, str] | None = Field(default=None, description="Annotations for the Job.")
    # CronJob manifests carry it (`kubectl create cronjob` writes one); accepted, never used.
    name: str | None = Field(
        default=None,
        description="Ignored, as in CronJob: each run's Job is named <rerunnable job>-<suffix>.",
    )


class JobTemplate(_Model):
    """The Job to create for every run, exactly as in a CronJob's jobTemplate."""

    metadata: JobTemplateMetadata | None = Field(
        default=None, description="Labels and annotations of the Job."
    )
    spec: dict[str, Any] = Field(
        description="Specification of the Job (batch/v1 JobSpec), copied into each run's Job.",
        json_schema_extra={KUBERNETES_SCHEMA: "io.k8s.api.batch.v1.JobSpec"},
    )


DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class Reporting(_Model):
    """The report channel of a job's runs (see the README's "Runs that report back")."""

    enabled: bool = Field(
        default=False,
        description=(
            "Give each run's containers what they need to report progress, steps and a result "
            "to the operator (RERUNNABLE_REPORT_URL, a pod-bound token, the CA): no RBAC needed."
        ),
    )
    heartbeat_seconds: int | None = Field(
        default=None,
        ge=10,
        le=MAX_SECONDS,
        description=(
            "End a Running run as Interrupted (reason Stalled), and delete its Job, when its last "
            "report (or, before any, its Job's start) is older than this."
        ),
    )


class StepDeclaration(_Model):
    """One step of the operation a run performs; every run starts with all of them Pending."""

    name: str = Field(
        max_length=63, pattern=DNS_LABEL, description="A DNS label, unique in the job's steps."
    )
    description: str | None = Field(default=None, description="What the step does, for people.")


class RetryOn(StrEnum):
    FAILED = "Failed"
    INTERRUPTED = "Interrupted"


MAX_RETRIES = 10


class Backoff(_Model):
    """The wait before each retry: initialSeconds * factor^(n-2) before attempt n, capped."""

    initial_seconds: int = Field(
        default=10, ge=1, le=86400, description="Seconds before the second attempt."
    )
    factor: float = Field(
        default=2, ge=1, le=10, description="Each wait is this many times the one before."
    )
    max_seconds: int = Field(
        default=600, ge=1, le=86400, description="No wait is longer than this many seconds."
    )


class Retry(_Model):
    """Retries of a whole run, each a new Execution and Job (a Job's backoffLimit retries pods
    inside one run; this retries the run)."""

    limit: int = Field(
        default=0,
        ge=0,
        le=MAX_RETRIES,
        description="Retries after the first attempt (0 to 10): at most limit+1 attempts a run.",
    )
    backoff: Backoff = Field(
        default_factory=Backoff,
        description="The wait before each retry, counted from the previous attempt's end.",
    )
    on: list[RetryOn] = Field(
        default_factory=lambda: [RetryOn.FAILED],
        min_length=1,
        max_length=2,
        description=(
            "The phases an attempt ends in that are retried: Failed, Interrupted (default "
            "[Failed]). A run cancelled or replaced, or whose Job the API server refused, is "
            "never retried."
        ),
    )


PARAMETER_NAME = r"^[A-Za-z]([A-Za-z0-9_]*[A-Za-z0-9])?$"
# The variables the operator gives a run's containers itself (the report channel's).
RESERVED_PARAMETER_PREFIX = "RERUNNABLE_"
MAX_PARAMETERS = 50


class ParameterDeclaration(_Model):
    """One input of a run, set by whoever runs the job (see the README's "Runs with
    parameters"); each run's containers get it as an environment variable of the same name."""

    model_config = ConfigDict(
        json_schema_extra=_rules(
            {
                "rule": f"!self.name.startsWith('{RESERVED_PARAMETER_PREFIX}')",
                "messageExpression": (
                    f"'parameter ' + self.name + ': names starting with {RESERVED_PARAMETER_PREFIX}"
                    " are reserved: the operator sets those variables itself'"
                ),
            },
            {
                "rule": "!has(self.default) || !has(self.enum) || self.default in self.enum",
                "messageExpression": (
                    "'parameter ' + self.name + ': default ' + self.default"
                    " + ' is not one of its enum'"
                ),
            },
            {
                "rule": (
                    "!has(self.default) || !has(self.pattern) || self.default.matches(self.pattern)"
                ),
                "messageExpression": (
                    "'parameter ' + self.name + ': default ' + self.default"
                    " + ' does not match its pattern ' + self.pattern"
                ),
            },
        )
    )

    name: str = Field(
        max_length=63,
        pattern=PARAMETER_NAME,
        description=(
            "The environment variable the run's containers get, and the key of its annotation "
            "parameters.rerunnable.dev/<name>: letters, digits and _, starting with a letter."
        ),
    )
    description: str | None = Field(
        default=None, max_length=1024, description="What it is for, for people."
    )
    required: bool = Field(
        default=False,
        description=(
            "A manual run must send it (or it has a default). A job with a schedule cannot have "
            "a required parameter without a default: a scheduled run could never supply it."
        ),
    )
    default: str | None = Field(
        default=None,
        max_length=1024,
        description=(
            "The value when a run does not send one: scheduled, retried and backfilled runs "
            "always take it. Without one, an optional parameter not sent is absent (no variable)."
        ),
    )
    enum: list[Annotated[str, StringConstraints(max_length=1024)]] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The only values allowed, if set.",
    )
    pattern: str | None = Field(
        default=None,
        max_length=256,
        description=(
            "An RE2 regular expression a value must match (anywhere in it, as CEL's matches(): "
            "anchor it with ^ and $ to match the whole value)."
        ),
    )


class RerunnableJobSpec(_Model):
    """Configuration of a job that runs on schedules and on demand; a superset of CronJob's spec."""

    model_config = ConfigDict(
        json_schema_extra=_rules(
            (
                "!(has(self.schedule) && has(self.schedules))",
                "set either schedule or schedules, not both",
            ),
            (
                "!has(self.startTime) || !has(self.endTime)"
                " || timestamp(self.endTime) > timestamp(self.startTime)",
                "spec.endTime must be after spec.startTime",
            ),
            _time_rule("startTime"),
            _time_rule("endTime"),
            _time_rule("suspendUntil"),
            (
                "!has(self.steps) || self.steps.all(s, self.steps.exists_one(t, t.name == s.name))",
                "spec.steps: step names must be unique",
            ),
            (
                "!has(self.parameters)"
                " || self.parameters.all(p, self.parameters.exists_one(q, q.name == p.name))",
                "spec.parameters: parameter names must be unique",
            ),
            (
                "!(has(self.schedule) || has(self.schedules)) || !has(self.parameters)"
                " || self.parameters.all(p, !p.?required.orValue(false) || has(p.default))",
                # A messageExpression naming the parameter is over the API server's CEL cost
                # budget at 50 parameters; the webhook and the planner name it.
                "spec.parameters: a required parameter needs a default on a job with a schedule "
                "(a scheduled run could never supply it): give it a default, or make it optional",
            ),
        )
    )

    schedule: str | None = Field(
        default=None,
        description=(
            "Cron schedule: 5 fields, @hourly-style macros, or Jenkins-style H (a stable "
            "per-object value, e.g. 'H 3 * * *'). Leave out (with schedules) for a job that "
            "only runs on demand."
        ),
    )
    schedules: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="Several cron schedules; runs at every slot of each. Excludes schedule.",
    )
    time_zone: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description=(
            "IANA time zone the schedules are read in (default UTC). A local time skipped by a "
            "DST change runs once at the next valid instant; a repeated one runs once."
        ),
    )
    concurrency_policy: ConcurrencyPolicy = Field(
        default=ConcurrencyPolicy.ALLOW,
        description=(
            "What to do when a run is due while another is active: Allow (run both), Forbid "
            "(skip the new run, with a Warning event), Replace (interrupt the active run), "
            "Queue (hold at most one pending run and start it when the active one ends)."
        ),
    )
    starting_deadline_seconds: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SECONDS,
        description="A scheduled run that cannot start within this many seconds of its time is "
        "missed, as in CronJob.",
    )
    missed_run_policy: MissedRunPolicy = Field(
        default=MissedRunPolicy.LATEST,
        description=(
            "Slots missed while the operator was down: Latest (run the most recent one, as "
            "CronJob), All (run each one inside the starting deadline window, at most 100), "
            "Skip (run none)."
        ),
    )
    suspend: bool = Field(default=False, description="Start no scheduled runs while true.")
    suspend_until: SpecTime | None = Field(
        default=None,
        description="Start no scheduled runs before this time (RFC 3339); resumes by itself.",
    )
    successful_jobs_history_limit: int = Field(
        default=3, ge=0, description="Succeeded Executions (with their Jobs) to keep."
    )
    failed_jobs_history_limit: int = Field(
        default=1, ge=0, description="Failed and interrupted Executions (with their Jobs) to keep."
    )
    job_template: JobTemplate = Field(
        description="The Job to create for each run; copied at trigger time."
    )
    reporting: Reporting | None = Field(
        default=None, description="Runs report progress, steps and a result, with a heartbeat."
    )
    steps: list[StepDeclaration] | None = Field(
        default=None,
        max_length=30,
        description="The ordered steps of each run, reported by the workload (at most 30).",
    )
    parameters: list[ParameterDeclaration] | None = Field(
        default=None,
        max_length=MAX_PARAMETERS,
        description=(
            "Inputs of each run (at most 50): set by whoever runs it with the "
            "parameters.rerunnable.dev/<name> annotations (kubectl rerun run NAME -p KEY=VALUE), "
            "recorded on the Execution, given to its containers as environment variables. "
            "Visible to anyone who can read the job: not for secrets."
        ),
    )

    suspend_after_failures: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Stop scheduled runs after this many consecutive scheduled runs failed or were "
            "interrupted (by their last attempt; cancelled and replaced runs do not count, a "
            "success resets): condition Suspended, reason ConsecutiveFailures. The spec is not "
            "changed; a new token in the rerunnable.dev/resume annotation (kubectl rerun resume) "
            "or any successful run clears it."
        ),
    )
    start_time: SpecTime | None = Field(
        default=None,
        description="No scheduled runs before this time (RFC 3339, inclusive).",
    )
    end_time: SpecTime | None = Field(
        default=None,
        description=(
            "No scheduled runs at or after this time (RFC 3339, exclusive): then condition "
            "Suspended, reason EndTimeReached. Manual runs are not limited."
        ),
    )
    max_runs: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Scheduled runs stop after this many (a run with retries counts once): then "
            "condition Suspended, reason MaxRunsReached. status.remainingRuns counts down."
        ),
    )
    retry: Retry | None = Field(
        default=None,
        description=(
            "Retry a run that fails, as a new attempt (an Execution with trigger Retry) after a "
            "backoff. A chain of attempts counts as one run for history limits and lastResult."
        ),
    )


class ExecutionSummary(_Model):
    """One line of run history, newest first."""

    name: str = Field(description="Name of the Execution (and of its Job).")
    trigger: Trigger = Field(description="What started the run.")
    phase: ExecutionPhase = Field(description="Phase of the Execution.")
    start_time: datetime | None = Field(default=None, description="When the Job started.")
    completion_time: datetime | None = Field(default=None, description="When the run ended.")


class SkippedRun(_Model):
    """The most recent run that was due but not started."""

    time: datetime = Field(description="When it was skipped.")
    trigger: Trigger = Field(description="Schedule or Manual.")
    scheduled_time: datetime | None = Field(default=None, description="The slot, if scheduled.")
    token: str | None = Field(default=None, description="The token, if manual.")
    reason: str = Field(description="Why, e.g. ConcurrencyForbidden, QueueFull, MissedDeadline.")
    message: str = Field(default="", description="Details.")


class BackfillStatus(_Model):
    """The backfill asked for by the rerunnable.dev/backfill annotation, and how far it got."""

    start: datetime = Field(alias="from", description="FROM, inclusive.")
    end: datetime = Field(alias="to", description="TO, exclusive.")
    parallelism: int = Field(default=1, description="Backfill runs at most at once.")
    total: int = Field(default=0, description="Slots in the range.")
    skipped: int = Field(
        default=0, description="Slots that had an Execution already (live or backfilled)."
    )
    started: int = Field(default=0, description="Backfill runs started.")
    succeeded: int = Field(default=0, description="Backfill runs that succeeded.")
    failed: int = Field(default=0, description="Backfill runs that failed or were interrupted.")
    last_slot: datetime | None = Field(
        default=None, description="The latest slot handled (started or skipped), oldest first."
    )


class RerunnableJobStatus(_Model):
    """Current state, rebuilt from the world on every pass; the history lives in Executions."""

    observed_generation: int | None = Field(default=None, description="Last generation handled.")
    conditions: list[Condition] = Field(
        default_factory=list, description="Ready and Suspended, with reasons."
    )
    schedule_text: str | None = Field(
        default=None, description="The schedules as shown by kubectl get."
    )
    active: list[str] = Field(
        default_factory=list, description="Executions pending or running, oldest first."
    )
    active_count: int = Field(default=0, description="Number of active Executions.")
    last_schedule_time: datetime | None = Field(
        default=None, description="The latest schedule slot handled (run or skipped)."
    )
    last_successful_time: datetime | None = Field(
        default=None, description="When the latest successful run completed."
    )
    last_run_time: datetime | None = Field(
        default=None, description="When the latest Execution was created, by any trigger."
    )
    last_result: ExecutionPhase | None = Field(
        default=None, description="Phase of the latest finished Execution."
    )
    last_completion_time: datetime | None = Field(
        default=None, description="When the latest finished Execution ended (its lastResult)."
    )
    next_schedule_time: datetime | None = Field(
        default=None, description="When the next scheduled run is due; empty if none is."
    )
    last_run_token: str | None = Field(
        default=None, description="The last rerunnable.dev/run token handled."
    )
    last_skipped: SkippedRun | None = Field(
        default=None, description="The most recent run that was due but not started."
    )
    consecutive_failures: int = Field(
        default=0,
        description="Scheduled runs that failed or were interrupted in a row.",
    )
    scheduled_runs: int = Field(
        default=0, description="Scheduled runs started so far (a run with retries counts once)."
    )
    remaining_runs: int | None = Field(
        default=None, description="Scheduled runs left before spec.maxRuns is reached."
    )
    last_resume_token: str | None = Field(
        default=None, description="The last rerunnable.dev/resume token handled."
    )
    last_completed_executions: list[str] = Field(
        default_factory=list,
        description="The runs that ended at lastCompletionTime, counted already (times have "
        "whole seconds: several runs can end in one).",
    )
    backfill: BackfillStatus | None = Field(
        default=None, description="The last backfill asked for (rerunnable.dev/backfill)."
    )
    recent_executions: list[ExecutionSummary] = Field(
        default_factory=list, description="The most recent Executions, newest first (at most 5)."
    )


class ExecutionSpec(_Model):
    """What was run and why; set once by the operator and immutable."""

    model_config = ConfigDict(json_schema_extra=_rules(("self == oldSelf", "spec is immutable")))

    rerunnable_job: str = Field(description="Name of the RerunnableJob this is a run of.")
    trigger: Trigger = Field(description="Schedule, Manual, Retry or Backfill.")
    scheduled_time: datetime | None = Field(
        default=None, description="The schedule slot, for Schedule and Backfill runs."
    )
    token: str | None = Field(default=None, description="The rerunnable.dev/run token, if manual.")
    requested_by: str | None = Field(
        default=None,
        description=(
            "Who asked for a manual run: the user the API server authenticated, as stamped by "
            "the admission webhook. Unset when the webhook did not run."
        ),
    )
    template_generation: int = Field(
        description="metadata.generation of the RerunnableJob whose jobTemplate this run copied."
    )
    parameters: dict[str, str] | None = Field(
        default=None,
        description=(
            "Every parameter's value for this run (defaults applied), as its containers get "
            "them in their environment."
        ),
    )
    attempt: int | None = Field(
        default=None,
        ge=1,
        description="1 for a run's first attempt; 2, 3, ... for its retries (spec.retry).",
    )
    retry_of: str | None = Field(
        default=None,
        description="On a retry: the name of the run's first attempt, which its chain is named by.",
    )
    job_template: JobTemplate | None = Field(
        default=None,
        description=(
            "The jobTemplate as it was when the run was triggered, on a queued run and on each "
            "attempt of a job with retries: its Job is made from this copy, so edits made while "
            "it waits, or between attempts, do not change it."
        ),
        # Copied from the RerunnableJob, whose schema validated it already.
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )


class ExecutionProgress(_Model):
    """Pod counts of the Job."""

    succeeded: int = Field(default=0, description="Pods that succeeded.")
    failed: int = Field(default=0, description="Pods that failed.")
    active: int = Field(default=0, description="Pods running or pending.")
    total: int = Field(default=1, description="Completions the Job needs.")


class RunReport(_Model):
    """What the workload last reported of itself."""

    completed: int | None = Field(default=None, ge=0, description="Units of work done.")
    total: int | None = Field(default=None, ge=0, description="Units of work in all.")
    progress: str | None = Field(
        default=None, description="completed/total, as kubectl get shows it (e.g. 42/100)."
    )
    step: str | None = Field(default=None, description="The step running now, if any.")
    message: str | None = Field(default=None, description="The workload's own words.")
    updated_at: datetime | None = Field(
        default=None, description="When the last report arrived (it is also the heartbeat)."
    )


class StepStatus(_Model):
    """One step of the run, as the workload reported it."""

    name: str = Field(description="Name of the step.")
    phase: StepPhase = Field(default=StepPhase.PENDING, description="Phase of the step.")
    message: str | None = Field(default=None, description="The workload's words about it.")
    start_time: datetime | None = Field(default=None, description="When it started running.")
    completion_time: datetime | None = Field(default=None, description="When it ended.")


class ExecutionStatus(_Model):
    """State of one run, following its Job."""

    model_config = ConfigDict(
        json_schema_extra=_rules(
            (
                "!has(oldSelf.phase) || !(oldSelf.phase in ['Succeeded', 'Failed', 'Interrupted'])"
                " || self.phase == oldSelf.phase",
                "a finished Execution's phase never changes",
            ),
        )
    )

    phase: ExecutionPhase = Field(default=ExecutionPhase.PENDING, description="Phase of the run.")
    reason: str | None = Field(
        default=None,
        description="Why the run waits (Queued; Scheduled: armed ahead of its slot) or ended "
        "as it did (e.g. BackoffLimitExceeded).",
    )
    message: str | None = Field(default=None, description="Details for people.")
    job_name: str | None = Field(default=None, description="Name of the Job, once created.")
    start_time: datetime | None = Field(default=None, description="When the Job started.")
    completion_time: datetime | None = Field(default=None, description="When the run ended.")
    progress: ExecutionProgress | None = Field(default=None, description="Pod counts of the Job.")
    conditions: list[Condition] = Field(default_factory=list, description="Conditions.")
    report: RunReport | None = Field(
        default=None, description="What the workload last reported (reporting.enabled)."
    )
    steps: list[StepStatus] = Field(
        default_factory=list, description="The run's steps, in their declared order."
    )
    result: dict[str, str] | None = Field(
        default=None,
        description="What the run leaves behind (e.g. a backup's location); at most 4 KiB in all.",
    )
    next_attempt_time: datetime | None = Field(
        default=None,
        description=(
            "On an attempt that ended and will be retried (spec.retry): when the next attempt "
            "starts. The Retrying condition says what became of it."
        ),
    )
    cancelled_by: str | None = Field(
        default=None,
        description=(
            "Who cancelled the run (the rerunnable.dev/cancel annotation), as stamped by the "
            "admission webhook. Unset when nobody did, or the webhook did not run."
        ),
    )
