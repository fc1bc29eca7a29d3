"""The promises a chaos scenario checks, as pure functions of what was seen.

Two kinds of input: every version of every object the recorder saw during the
scenario (`transition`, checked one step at a time), and the end state with
what the scenario's own client did (`check`). Nothing here talks to a cluster,
so each rule has a table test in tests/unit/test_chaos_invariants.py.

Objects are plain dicts as the API server sends them.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rerunnable.api.names import LABEL_EXECUTION
from rerunnable.api.reasons import EventReason
from rerunnable.core import execution_status
from rerunnable.core.state import ExecutionState

__all__ = [
    "ACTIVE",
    "TERMINAL",
    "Expected",
    "Findings",
    "Window",
    "check",
    "every_execution",
    "parse_time",
    "token_went_back",
    "transition",
    "unaccounted_tokens",
    "waits_armed",
]

Obj = Mapping[str, Any]

TERMINAL = frozenset({"Succeeded", "Failed", "Interrupted"})
ACTIVE = frozenset({"Pending", "Running"})
# A phase may only move forward along this order; a finished one never changes.
_RANK = {None: 0, "Pending": 0, "Running": 1, "Succeeded": 2, "Failed": 2, "Interrupted": 2}
# Events that account for a slot without an Execution.
# The planner's words (core/planner/concurrency.py, due.py) for what it skipped or missed.
_SKIPPED_TOKEN = re.compile(r"^manual run '([^']*)'.* skipped")
_SKIPPED_SLOT = re.compile(r"^scheduled run for (\S+) skipped")
_SINCE = re.compile(r"missed since (\S+)")


@dataclass(frozen=True)
class Window:
    """The slots a scheduled job must account for: start < slot <= end."""

    start: datetime
    end: datetime
    slots: tuple[datetime, ...]


@dataclass
class Expected:
    """What the scenario's client did, by RerunnableJob name.

    - tokens: tokens whose PATCH the API server acknowledged: exactly one run each.
    - uncertain: tokens whose PATCH failed without an answer (the connection broke):
      at most one run each, and exactly one if the annotation is on the object.
    - windows: the slots each scheduled job must run or report missed.
    - parameters: the parameters sent with a token, by (job, token): its run has them.
    - backfills: the slots of a backfill asked for: one Backfill run each.
    - results: the result a run's workload reported and the operator acknowledged (204),
      by Execution: the run keeps it, whatever became of it.
    """

    tokens: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    uncertain: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    windows: dict[str, Window] = field(default_factory=dict)
    parameters: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    backfills: dict[str, tuple[datetime, ...]] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Findings:
    """Broken promises, each a line a person can act on."""

    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    backward: list[str] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(v) for v in self.as_dict().values())

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "duplicates": self.duplicates,
            "lost": self.lost,
            "stuck": self.stuck,
            "orphans": self.orphans,
            "disagreements": self.disagreements,
            "backward": self.backward,
        }


def transition(kind: str, before: Obj, after: Obj) -> list[str]:
    """What moved backwards between two versions of one object (empty when nothing did).

    Execution: its phase (Pending, Running, then a finished phase that never changes).
    RerunnableJob: `lastScheduleTime` never decreases, `lastRunToken` never returns
    to a token it had left, `lastSuccessfulTime` never decreases.
    """
    name = before.get("metadata", {}).get("name", "?")
    was, now = before.get("status") or {}, after.get("status") or {}
    found = []
    if kind == "Execution":
        a, b = was.get("phase"), now.get("phase")
        if a in TERMINAL and b != a:
            found.append(f"Execution {name}: finished phase {a} became {b}")
        elif _RANK.get(b, 0) < _RANK.get(a, 0):
            found.append(f"Execution {name}: phase {a} went back to {b}")
    elif kind == "RerunnableJob":
        for key in ("lastScheduleTime", "lastSuccessfulTime"):
            a, b = parse_time(was.get(key)), parse_time(now.get(key))
            if a is not None and (b is None or b < a):
                found.append(
                    f"RerunnableJob {name}: {key} {was.get(key)} went back to {now.get(key)}"
                )
    return found


def token_went_back(name: str, history: Sequence[str | None]) -> list[str]:
    """`lastRunToken` values of one RerunnableJob in the order seen: a token left must never
    come back (a late write from a deposed leader would bring it back)."""
    left: set[str] = set()
    found = []
    previous: str | None = None
    for token in history:
        if token == previous:
            continue
        if token is None or token in left:
            found.append(f"RerunnableJob {name}: lastRunToken went back from {previous} to {token}")
        if previous is not None:
            left.add(previous)
        previous = token
    return found


def every_execution(executions: Iterable[Obj], ever_seen: Iterable[Obj]) -> dict[str, Obj]:
    """Every Execution by name: the ones seen during the run (some pruned since by the
    history limits, which still count as runs), overridden by the ones left at the end.
    One armed ahead of its slot and gone before it got its Job was no run (its slot was
    skipped, or will not come): it counts for nothing."""
    every = {e["metadata"]["name"]: e for e in ever_seen if not waits_armed(e)}
    every.update({e["metadata"]["name"]: e for e in executions})
    return every


def waits_armed(e: Obj) -> bool:
    """Whether `e` was made ahead of its slot and is no run yet (the operator's rule)."""
    state = ExecutionState.from_body(e)
    return execution_status.waits_armed(state.status, armed=state.armed, has_job=False)


def check(
    rjobs: Iterable[Obj],
    executions: Iterable[Obj],
    jobs: Iterable[Obj],
    events: Iterable[Obj],
    expected: Expected,
    ever_seen: Iterable[Obj] = (),
) -> Findings:
    """Check the end state against the promises.

    `executions` are the ones that exist at the end; `ever_seen` adds the ones seen
    during the run and pruned since (by history limits), which still count as runs.
    """
    f = Findings()
    final = {e["metadata"]["name"]: e for e in executions}
    every = every_execution(final.values(), ever_seen)
    by_job: dict[str, list[Obj]] = defaultdict(list)
    for e in every.values():
        by_job[e["spec"]["rerunnableJob"]].append(e)
    excuses = _excuses(events)

    for rjob in rjobs:
        name = rjob["metadata"]["name"]
        runs = by_job.get(name, [])
        excused = excuses.get(name, _Excuses())
        _check_tokens(f, rjob, runs, expected, excused)
        if (window := expected.windows.get(name)) is not None:
            _check_slots(f, name, runs, window, excused)
        uid = rjob["metadata"].get("uid")
        _check_status(
            f, rjob, [e for e in runs if e["metadata"]["name"] in final and _owned(e, uid)]
        )

    for e in final.values():
        phase = (e.get("status") or {}).get("phase")
        if phase is None or phase in ACTIVE:
            f.stuck.append(f"Execution {e['metadata']['name']} is {phase or 'without a phase'}")
        if e.get("status", {}).get("nextAttemptTime") and not _has_next_attempt(e, every):
            f.stuck.append(f"Execution {e['metadata']['name']}: its retry never came")

    for name, result in sorted(expected.results.items()):
        got = (every.get(name, {}).get("status") or {}).get("result")
        if got != result:
            f.lost.append(f"Execution {name}: its acknowledged result {result} is {got}")

    seen_jobs: dict[str, str] = {}
    for job in jobs:
        jname = job["metadata"]["name"]
        owner = (job["metadata"].get("labels") or {}).get(LABEL_EXECUTION, jname)
        if owner not in final:
            f.orphans.append(f"Job {jname} has no Execution {owner}")
        if owner in seen_jobs:
            f.duplicates.append(f"Execution {owner} has two Jobs: {seen_jobs[owner]}, {jname}")
        seen_jobs[owner] = jname
    return f


def unaccounted_tokens(
    executions: Iterable[Obj], events: Iterable[Obj], expected: Expected
) -> list[tuple[str, str]]:
    """Acknowledged tokens with neither a run nor a RunSkipped event (yet)."""
    ran = {(e["spec"]["rerunnableJob"], e["spec"].get("token")) for e in executions}
    excuses = _excuses(events)
    return sorted(
        (job, t)
        for job, tokens in expected.tokens.items()
        for t in tokens
        if (job, t) not in ran and t not in excuses.get(job, _Excuses()).tokens
    )


def _check_tokens(
    f: Findings, rjob: Obj, runs: list[Obj], expected: Expected, excused: "_Excuses"
) -> None:
    name = rjob["metadata"]["name"]
    first_attempts: dict[str, list[str]] = defaultdict(list)
    for e in runs:
        spec = e["spec"]
        if spec.get("trigger") == "Manual" and spec.get("token") is not None:
            first_attempts[spec["token"]].append(e["metadata"]["name"])
    for token, names in first_attempts.items():
        if len(names) > 1:
            f.duplicates.append(f"{name}: token {token} ran {len(names)} times: {sorted(names)}")
    current = (rjob["metadata"].get("annotations") or {}).get("rerunnable.dev/run")
    for token in sorted(expected.tokens.get(name, set())):
        if token not in first_attempts and token not in excused.tokens:
            f.lost.append(f"{name}: token {token} was accepted and never ran nor was skipped")
    for token in sorted(expected.uncertain.get(name, set())):
        if token == current and token not in first_attempts:
            f.lost.append(f"{name}: token {token} is on the object and never ran")
    for e in runs:
        spec = e["spec"]
        sent = expected.parameters.get((name, spec.get("token") or ""))
        if sent is not None and spec.get("trigger") == "Manual":
            got = {k: v for k, v in (spec.get("parameters") or {}).items() if k in sent}
            if got != sent:
                f.disagreements.append(
                    f"{name}: token {spec['token']} was sent {sent} and ran with {got}"
                )
    _check_attempts(f, name, runs)
    _check_backfill(f, name, runs, expected.backfills.get(name, ()))


def _check_backfill(f: Findings, name: str, runs: list[Obj], slots: tuple[datetime, ...]) -> None:
    if not slots:
        return
    by_slot: dict[datetime, int] = defaultdict(int)
    for e in runs:
        slot = parse_time(e["spec"].get("scheduledTime"))
        if e["spec"].get("trigger") == "Backfill" and slot is not None:
            by_slot[slot] += 1
    for slot in slots:
        if by_slot[slot] == 0:
            f.lost.append(f"{name}: backfill slot {slot.isoformat()} never ran")
        elif by_slot[slot] > 1:
            f.duplicates.append(
                f"{name}: backfill slot {slot.isoformat()} ran {by_slot[slot]} times"
            )


def _check_attempts(f: Findings, name: str, runs: list[Obj]) -> None:
    attempts: dict[tuple[str, int], list[str]] = defaultdict(list)
    for e in runs:
        spec = e["spec"]
        if spec.get("retryOf"):
            attempts[(spec["retryOf"], int(spec.get("attempt") or 0))].append(e["metadata"]["name"])
    for (first, n), names in attempts.items():
        if len(names) > 1:
            f.duplicates.append(f"{name}: attempt {n} of {first} ran {len(names)} times")


def _check_slots(
    f: Findings,
    name: str,
    runs: list[Obj],
    window: Window,
    excused: "_Excuses",
) -> None:
    by_slot: dict[datetime, list[str]] = defaultdict(list)
    for e in runs:
        spec = e["spec"]
        slot = parse_time(spec.get("scheduledTime"))
        if slot is not None and spec.get("trigger") == "Schedule":
            by_slot[slot].append(e["metadata"]["name"])
    for slot, names in sorted(by_slot.items()):
        if len(names) > 1:
            f.duplicates.append(f"{name}: slot {slot.isoformat()} ran {len(names)} times")
    for slot in window.slots:
        if slot not in by_slot and not excused.covers(slot):
            f.lost.append(f"{name}: slot {slot.isoformat()} neither ran nor was reported missed")


def _check_status(f: Findings, rjob: Obj, runs: list[Obj]) -> None:
    """The status agrees with the Executions that exist: active runs, last slot, last token,
    last result."""
    name = rjob["metadata"]["name"]
    status = rjob.get("status") or {}
    active = sorted(
        e["metadata"]["name"] for e in runs if (e.get("status") or {}).get("phase") in ACTIVE
    )
    if int(status.get("activeCount") or 0) != len(active):
        f.disagreements.append(
            f"{name}: activeCount {status.get('activeCount')} but {len(active)} active {active}"
        )
    slots = [
        t
        for e in runs
        if e["spec"].get("trigger") == "Schedule"
        and (t := parse_time(e["spec"].get("scheduledTime"))) is not None
    ]
    recorded = parse_time(status.get("lastScheduleTime"))
    if slots and (recorded is None or recorded < max(slots)):
        f.disagreements.append(
            f"{name}: lastScheduleTime {status.get('lastScheduleTime')} is before the run of "
            f"slot {max(slots).isoformat()}"
        )
    token = (rjob["metadata"].get("annotations") or {}).get("rerunnable.dev/run")
    tokens = {e["spec"].get("token") for e in runs if e["spec"].get("trigger") == "Manual"}
    if token in tokens and status.get("lastRunToken") != token:
        f.disagreements.append(
            f"{name}: token {token} ran but lastRunToken is {status.get('lastRunToken')}"
        )
    ends = _run_ends(runs)
    if ends:
        latest = max(at for at, _ in ends)
        phases = {phase for at, phase in ends if at == latest}
        if status.get("lastResult") not in phases:
            f.disagreements.append(
                f"{name}: lastResult {status.get('lastResult')} but the last run to end "
                f"({latest.isoformat()}) ended {sorted(phases)}"
            )


def _owned(e: Obj, uid: str | None) -> bool:
    """Whether `e` is a run of this incarnation of its job (a job deleted and made again
    under its name is another job)."""
    owners = e["metadata"].get("ownerReferences") or []
    return uid is None or not owners or any(o.get("uid") == uid for o in owners)


def _run_ends(runs: list[Obj]) -> list[tuple[datetime, str]]:
    """(completion, phase) of each run's last attempt, once no retry is to come."""
    attempt_of: dict[str, int] = {}
    for e in runs:
        first = e["spec"].get("retryOf") or e["metadata"]["name"]
        attempt_of[first] = max(attempt_of.get(first, 0), int(e["spec"].get("attempt") or 1))
    ends = []
    for e in runs:
        status = e.get("status") or {}
        first = e["spec"].get("retryOf") or e["metadata"]["name"]
        last_attempt = int(e["spec"].get("attempt") or 1) == attempt_of[first]
        if (
            status.get("phase") in TERMINAL
            and last_attempt
            and not status.get("nextAttemptTime")
            and (at := parse_time(status.get("completionTime"))) is not None
        ):
            ends.append((at, status["phase"]))
    return ends


def _has_next_attempt(e: Obj, every: Mapping[str, Obj]) -> bool:
    first = e["spec"].get("retryOf") or e["metadata"]["name"]
    n = int(e["spec"].get("attempt") or 1)
    return any(
        (o["spec"].get("retryOf") == first and int(o["spec"].get("attempt") or 0) == n + 1)
        for o in every.values()
    )


@dataclass
class _Excuses:
    """What a job's events account for: slots and tokens skipped by its concurrency policy
    (the RunSkipped message names them), and spans of slots missed while no replica worked
    (the MissedSchedule message names the first; the event's time is after the last)."""

    tokens: set[str] = field(default_factory=set)
    slots: set[datetime] = field(default_factory=set)
    spans: list[tuple[datetime, datetime]] = field(default_factory=list)

    def covers(self, slot: datetime) -> bool:
        return slot in self.slots or any(a <= slot <= b for a, b in self.spans)


def _excuses(events: Iterable[Obj]) -> dict[str, _Excuses]:
    found: dict[str, _Excuses] = defaultdict(_Excuses)
    for ev in events:
        obj = ev.get("involvedObject") or ev.get("regarding") or {}
        if obj.get("kind") != "RerunnableJob":
            continue
        message = ev.get("message") or ""
        excuses = found[obj.get("name", "")]
        if ev.get("reason") == EventReason.RUN_SKIPPED.value:
            if m := _SKIPPED_TOKEN.search(message):
                excuses.tokens.add(m.group(1))
            elif (m := _SKIPPED_SLOT.search(message)) and (at := parse_time(m.group(1))):
                excuses.slots.add(at)
        elif ev.get("reason") == EventReason.MISSED_SCHEDULE.value:
            since = _SINCE.search(message)
            last = parse_time(ev.get("lastTimestamp") or ev.get("eventTime"))
            first = parse_time(since.group(1)) if since else None
            if first is not None and last is not None:
                excuses.spans.append((first, last))
    return found


def parse_time(value: object) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
