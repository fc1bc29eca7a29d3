"""The jobs of a chaos scenario and the user who keeps running them.

`make_jobs` creates N minutely RerunnableJobs that use every feature there is:
the four concurrency policies in turn, runs of different lengths, parameters,
retries of a run that fails its first attempt, runs that report back (their
workload is chaos/reporter.py), and a backfill of the last minutes. `Runner`
is a user in a loop: a new token every interval, round robin over the jobs,
with parameters on the jobs that declare them, and now and then a cancel of a
running run. It records what the API server acknowledged, which is what the
invariants hold the operator to.

A job gets its next token only once its previous token has an Execution: the
run annotation holds one token, so a token overwritten before any replica saw it
is overwritten by the user, not lost by the operator (a user of `kubectl rerun
run --wait` behaves the same).
"""

import itertools
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2 as httpx
from lightkube import ApiError, Client
from lightkube.types import PatchType
from tests.e2e.rjobs import ExecutionResource, RerunnableJobResource, manual_name, rjob_body

from chaos.invariants import Expected, Window
from chaos.recorder import Recorder
from rerunnable.api.names import (
    ANNOTATION_BACKFILL,
    ANNOTATION_CANCEL,
    ANNOTATION_PARAMETERS_FOR,
    ANNOTATION_RUN,
    PARAMETER_ANNOTATION_PREFIX,
)

__all__ = [
    "ALL_RUNS",
    "JobSpec",
    "Runner",
    "backfill",
    "make_jobs",
    "minute_slots",
    "suspend_all",
]

POLICIES = ("Allow", "Forbid", "Replace", "Queue")
# Long enough that runs overlap under Forbid, Replace and Queue, short enough to settle.
DURATIONS = ("1s", "3s", "20s", "5s")
# History limits that keep every run of a scenario visible to the checks (pruned runs
# still count, from the recorder's memory, but an end state with all of them says more).
ALL_RUNS = 1000
BACKFILL_MINUTES = 5


@dataclass(frozen=True)
class JobSpec:
    name: str
    policy: str
    parameters: bool = False
    retries: bool = False
    reporting: bool = False
    body: dict[str, Any] = field(default_factory=dict, compare=False)


def job_specs(
    namespace: str, count: int, prefix: str = "c", history: int = ALL_RUNS
) -> list[JobSpec]:
    """`count` minutely jobs, each feature on every fourth one or so, keeping `history`
    runs of each end."""
    specs = []
    for i in range(count):
        name = f"{prefix}{i:03d}"
        policy = POLICIES[i % len(POLICIES)]
        parameters = i % 3 == 1
        retries = i % 5 == 2
        reporting = i % 6 == 3
        spec: dict[str, Any] = {
            "schedule": "* * * * *",
            "concurrencyPolicy": policy,
            "successfulJobsHistoryLimit": history,
            "failedJobsHistoryLimit": history,
        }
        if parameters:
            spec["parameters"] = [{"name": "DAY", "default": "today", "pattern": "[a-z0-9-]+"}]
        if retries:
            spec["retry"] = {"limit": 2, "backoff": {"initialSeconds": 1, "maxSeconds": 2}}
        if reporting:  # long enough for the workload to report while it runs
            spec["reporting"] = {"enabled": True}
            spec["steps"] = [{"name": "fetch"}, {"name": "load"}]
        duration = "20s" if reporting else DURATIONS[i % len(DURATIONS)]
        body = rjob_body(namespace, name, duration=duration, **spec)
        if retries:
            annotations = body["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"]
            annotations["sim.rerunnable.dev/exit-code-attempt-1"] = "1"
        specs.append(JobSpec(name, policy, parameters, retries, reporting, body))
    return specs


def make_jobs(
    client: Client, namespace: str, count: int, prefix: str = "c", history: int = ALL_RUNS
) -> list[JobSpec]:
    specs = job_specs(namespace, count, prefix, history)
    for s in specs:
        client.create(RerunnableJobResource.from_dict(s.body))
    return specs


def minute_slots(start: datetime, end: datetime) -> Window:
    """The minute boundaries t with start < t <= end."""
    first = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    slots = []
    t = first
    while t <= end:
        slots.append(t)
        t += timedelta(minutes=1)
    return Window(start, end, tuple(slots))


def backfill(client: Client, namespace: str, name: str, now: datetime) -> tuple[datetime, ...]:
    """Ask for a backfill of the last minutes of `name`; return its slots."""
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(minutes=BACKFILL_MINUTES)
    value = f"{start.isoformat().replace('+00:00', 'Z')}/{end.isoformat().replace('+00:00', 'Z')}"
    _patch(client, namespace, name, {ANNOTATION_BACKFILL: value})
    return tuple(start + timedelta(minutes=i) for i in range(BACKFILL_MINUTES))


def suspend_all(client: Client, namespace: str, specs: list[JobSpec]) -> None:
    """Stop new slots so the runs can settle (with retries: the API server may be back late)."""
    for s in specs:
        for attempt in itertools.count():
            try:
                client.patch(
                    RerunnableJobResource,
                    s.name,
                    {"spec": {"suspend": True}},
                    namespace=namespace,
                    patch_type=PatchType.MERGE,
                )
                break
            except (ApiError, httpx.HTTPError):
                if attempt > 60:
                    raise
                time.sleep(1)


class Runner:
    """A user running the jobs by token, in a thread, until stopped."""

    def __init__(
        self,
        client: Client,
        namespace: str,
        specs: list[JobSpec],
        recorder: Recorder,
        expected: Expected,
        *,
        interval: float = 1.0,
        cancel_every: int = 7,
        seed: int = 0,
    ) -> None:
        self._client = client
        self._namespace = namespace
        self._specs = specs
        self._recorder = recorder
        self._expected = expected
        self._interval = interval
        self._cancel_every = cancel_every
        self._random = random.Random(seed)
        self._stop = threading.Event()
        self._outstanding: dict[str, str] = {}  # job -> its last token, until it ran
        self.sent = 0
        self.refused = 0
        self.cancels = 0
        # (when the API server acknowledged the token, job, token), for recovery times.
        self.acknowledged: list[tuple[float, str, str]] = []
        self._thread = threading.Thread(target=self._run, daemon=True, name="runner")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        jobs = itertools.cycle(self._specs)
        for n in itertools.count(1):
            if self._stop.wait(self._interval):
                return
            spec = next(jobs)
            if not self._ready(spec.name):
                continue
            token = f"t{n}"
            self._send(spec, token)
            if self._cancel_every and n % self._cancel_every == 0:
                self._cancel_one()

    def _ready(self, job: str) -> bool:
        token = self._outstanding.get(job)
        if (
            token is None
            or self._recorder.seen("Execution", manual_name(job, token))
            or self._recorder.last_run_token(job) == token  # handled: skipped by its policy
        ):
            self._outstanding.pop(job, None)
            return True
        return False

    def _send(self, spec: JobSpec, token: str) -> None:
        annotations = {ANNOTATION_RUN: token}
        if spec.parameters:
            day = f"d{self._random.randrange(1000)}"
            annotations |= {
                ANNOTATION_PARAMETERS_FOR: token,
                f"{PARAMETER_ANNOTATION_PREFIX}DAY": day,
            }
            self._expected.parameters[(spec.name, token)] = {"DAY": day}
        self.sent += 1
        self._outstanding[spec.name] = token
        try:
            _patch(self._client, self._namespace, spec.name, annotations)
        except (ApiError, httpx.HTTPError) as e:
            # No answer, or 5xx: the write may have happened (etcd timed out after the commit).
            # The token must run if it is on the object at the end; the job is not held for it.
            self._outstanding.pop(spec.name, None)
            code = e.status.code if isinstance(e, ApiError) else None
            if code is not None and code < 500:
                self.refused += 1
            else:
                self._expected.uncertain[spec.name].add(token)
            return
        self._expected.tokens[spec.name].add(token)
        self.acknowledged.append((time.monotonic(), spec.name, token))

    def _cancel_one(self) -> None:
        running = self._recorder.in_phase("Running")
        if not running:
            return
        name = self._random.choice(sorted(running))
        try:
            self._client.patch(
                ExecutionResource,
                name,
                {"metadata": {"annotations": {ANNOTATION_CANCEL: "true"}}},
                namespace=self._namespace,
                patch_type=PatchType.MERGE,
            )
            self.cancels += 1
        except (ApiError, httpx.HTTPError):
            pass


def _patch(client: Client, namespace: str, name: str, annotations: dict[str, str]) -> None:
    client.patch(
        RerunnableJobResource,
        name,
        {"metadata": {"annotations": annotations}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
