"""Bad input for the chaos suite: invalid and hostile RerunnableJobs.

`corpus(seed)` returns at least 200 of them. The chaos scenario applies them
while good jobs run; each must be refused at apply with a message
(`expect="refused"`: the CRD's schema or CEL rules, or the API server's own
checks of names and metadata), or be accepted and then reported by the operator
with condition Ready=False and a Warning event (`expect="not-ready"`), and no
bad object may crash, stall or slow the operator.

Every `expect` was measured against a real API server and operator (without the
admission webhooks, as the chaos scenario runs). Cases whose outcome depends on
the client are left out: no body has a field the schema does not know (kubectl
refuses those, other clients drop them), and no accepted body is near the 256 KiB
annotation limit (`kubectl apply` copies the body into an annotation).

A case whose defect only shows when a Job is made (a jobTemplate the Job API
refuses) asks for a manual run in its own annotations, so that the run, its
refused Job and the Ready=False condition come without waiting for a schedule.

The fixed cases come first; then the random ones, drawn from `random.Random(seed)`,
each invalid by construction (a value out of its field's range, a wrong number of
cron fields, characters no cron field accepts, an unknown time zone, a number
below its minimum), so that their `expect` holds for every seed.
"""

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Expect", "Hostile", "corpus"]

Expect = Literal["refused", "not-ready"]

API_VERSION = "rerunnable.dev/v1alpha1"
KIND = "RerunnableJob"
RUN_ANNOTATION = "rerunnable.dev/run"
# A schedule that is valid and fires once a year: a hostile job that got in by mistake
# does not run during a scenario.
YEARLY = "0 0 1 1 *"
MAX_NAME = 52  # RerunnableJob names: the CRD's CEL rule (each run's Job is <name>-<suffix>)
KIB = 1024
MIB = 1024 * KIB
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@dataclass(frozen=True)
class Hostile:
    case: str  # short unique id saying what is hostile, e.g. "cron-minute-60"
    body: dict[str, Any]  # the RerunnableJob manifest, without metadata.namespace
    expect: Expect  # refused at apply, or accepted and reported Ready=False


def _pod_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "busybox:1.36"}],
    }
    spec.update(overrides)
    return spec


def _job_template(pod: dict[str, Any] | None = None, **job: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": pod if pod is not None else _pod_spec()}, **job}}


def _spec(**fields: Any) -> dict[str, Any]:
    """A valid spec (yearly schedule), with `fields` set over it; a value of `_DROP` removes
    the key."""
    spec: dict[str, Any] = {"schedule": YEARLY, "jobTemplate": _job_template()}
    for key, value in fields.items():
        if value is _DROP:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


class _Drop:
    def __repr__(self) -> str:
        return "_DROP"


_DROP: Any = _Drop()


def _slug(case: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", case.lower())).strip("-")


@dataclass(frozen=True)
class _Draft:
    case: str
    spec: Any  # the whole spec, or _DROP for a body without one
    expect: Expect
    name: str | None = None  # None: derived from the case
    metadata: dict[str, Any] | None = None  # more metadata (labels, annotations)
    run: bool = False  # ask for a manual run, so that the Job is made at once


def _build(drafts: list[_Draft]) -> list[Hostile]:
    result = []
    for i, d in enumerate(drafts):
        name = d.name if d.name is not None else f"h{i:03d}-{_slug(d.case)}"[:MAX_NAME].rstrip("-")
        metadata: dict[str, Any] = {"name": name}
        if d.metadata:
            metadata.update(d.metadata)
        if d.run:
            annotations = dict(metadata.get("annotations") or {})
            annotations[RUN_ANNOTATION] = f"hostile-{i}"
            metadata["annotations"] = annotations
        body: dict[str, Any] = {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata}
        if d.spec is not _DROP:
            body["spec"] = d.spec
        result.append(Hostile(d.case, body, d.expect))
    return result


# -- cron strings ---------------------------------------------------------------------------

# Each is accepted by the CRD (schedule is any string) and refused by the operator
# (Ready=False, reason InvalidSchedule).
_BAD_CRONS: dict[str, str] = {
    "empty": "",
    "space": " ",
    "whitespace": "\t\n \r\v\f",
    "minute-60": "60 * * * *",
    "minute-negative": "-1 * * * *",
    "minute-huge": "99999999999999999999 * * * *",
    "hour-24": "0 24 * * *",
    "day-of-month-0": "0 0 0 * *",
    "day-of-month-32": "0 0 32 * *",
    "month-0": "0 0 1 0 *",
    "month-13": "0 0 1 13 *",
    "day-of-week-8": "0 0 * * 8",
    "range-reversed": "30-10 * * * *",
    "range-names-reversed": "0 0 * * FRI-MON",
    "range-open": "5- * * * *",
    "dash-only": "- * * * *",
    "unknown-month-name": "0 0 1 JAM *",
    "unknown-weekday-name": "0 0 * * FUN",
    "comma-empty-item": "0,,1 * * * *",
    "comma-trailing": "0, * * * *",
    "six-fields-seconds": "0 0 0 * * *",
    "seven-fields-year": "0 0 0 1 1 * 2030",
    "four-fields": "0 0 * *",
    "one-field": "*",
    "two-lines": "0 * * * *\n0 1 * * *",
    "macro-minutely": "@minutely",
    "macro-reboot": "@reboot",
    "macro-every": "@every 5m",
    "macro-bare-at": "@",
    "macro-typo": "@hourlyy",
    "macro-with-argument": "@daily 0",
    "step-zero": "*/0 * * * *",
    "step-negative": "*/-5 * * * *",
    "step-fraction": "*/1.5 * * * *",
    "step-empty": "*/ * * * *",
    "step-slash-only": "/ * * * *",
    "step-double": "*/2/2 * * * *",
    "tz-prefix": "TZ=UTC 0 * * * *",
    "cron-tz-prefix": "CRON_TZ=Europe/Berlin 0 3 * * *",
    "quartz-last-day": "0 0 L * *",
    "quartz-weekday": "0 0 15W * *",
    "quartz-nth-weekday": "0 0 * * 5#3",
    "hash-reversed-range": "H(50-10) * * * *",
    "hash-out-of-range": "H(0-99) * * * *",
    "hash-step-zero": "H/0 * * * *",
    "hash-doubled": "HH * * * *",
    "hash-bad-range": "H(a-b) * * * *",
    "never-fires-feb-31": "0 0 31 2 *",
    "never-fires-feb-30": "0 0 30 2 *",
    "never-fires-feb-30-31": "0 0 30,31 2 *",
    "never-fires-short-months": "0 0 31 4,6,9,11 *",
    "unicode-arabic-indic-digit": "\u0660 * * * *",
    "unicode-fullwidth-digits": "\uff10 \uff10 * * *",
    "unicode-superscript-digit": "\u00b9 * * * *",
    "unicode-devanagari-digit": "\u096b * * * *",
    "unicode-math-bold-digit": "\U0001d7ce * * * *",
    "unicode-zero-width-space": "0\u200b * * * *",
    "unicode-cyrillic-o": "\u041e * * * *",
    "unicode-emoji": "\u23f0 * * * *",
    "unicode-rtl-override": "\u202e* * * * 0",
    "nul-byte": "0 * * * *\x00",
    "control-char": "0\x01 * * * *",
    "shell-injection": "$(reboot) * * * *",
    "sql-injection": "0 0 * * *; DROP TABLE jobs",
    "json-in-string": '{"minute": 0}',
    "very-long-garbage": "x" * (64 * KIB),
    "very-long-field-count": "0 " * (8 * KIB),
    "very-long-out-of-range-list": ",".join(str(i) for i in range(5000)) + " * * * *",
}

# Finding: the operator serves these (Ready=True, fires at minute 0) although CronJob
# (robfig/cron) refuses a step that does not fit an int; kept with the outcome a user expects.
_BAD_CRONS_FINDINGS: dict[str, str] = {
    "step-huge": "*/99999999999999999999999 * * * *",
    "step-int64-overflow": "*/9223372036854775808 * * * *",
}


def _cron_drafts() -> Iterator[_Draft]:
    for label, cron in {**_BAD_CRONS, **_BAD_CRONS_FINDINGS}.items():
        yield _Draft(f"cron-{label}", _spec(schedule=cron), "not-ready")
    many = [f"{m} {h} * * *" for h in range(24) for m in range(0, 60, 5)][:5000]
    yield _Draft("schedules-empty-list", _spec(schedule=_DROP, schedules=[]), "refused")
    yield _Draft("schedules-21", _spec(schedule=_DROP, schedules=many[:21]), "refused")
    yield _Draft(
        "schedules-thousands",
        _spec(schedule=_DROP, schedules=[f"{i % 60} * * * *" for i in range(5000)]),
        "refused",
    )
    yield _Draft("schedules-and-schedule", _spec(schedules=["0 1 * * *", "0 2 * * *"]), "refused")
    yield _Draft("schedules-not-a-list", _spec(schedule=_DROP, schedules="0 * * * *"), "refused")
    yield _Draft("schedules-numbers", _spec(schedule=_DROP, schedules=[0, 5]), "refused")
    yield _Draft(
        "schedules-one-bad-of-twenty",
        _spec(schedule=_DROP, schedules=[*many[:19], "61 * * * *"]),
        "not-ready",
    )
    yield _Draft("schedules-empty-string", _spec(schedule=_DROP, schedules=[""]), "not-ready")
    yield _Draft(
        "schedules-never-fires",
        _spec(schedule=_DROP, schedules=["0 0 * * *", "0 0 31 2 *"]),
        "not-ready",
    )


# -- time zones -----------------------------------------------------------------------------

_BAD_TIME_ZONES: dict[str, str] = {
    "unknown": "Mars/Olympus_Mons",
    "path-traversal": "../etc/passwd",
    "path-traversal-deep": "../../../../../../../../etc/passwd",
    "path-traversal-inside": "Europe/../../../etc/shadow",
    "absolute-path": "/etc/localtime",
    "absolute-zoneinfo-path": "/usr/share/zoneinfo/UTC",
    "dot": ".",
    "dot-dot": "..",
    "directory": "Europe",
    "trailing-slash": "Europe/Berlin/",
    "double-slash": "Europe//Berlin",
    "lowercase": "europe/berlin",
    "trailing-space": "UTC ",
    "nul-byte": "UTC\x00",
    "local": "Local",
    "offset": "+01:00",
    "posix-rule": "EST5EDT,M3.2.0,M11.1.0",
    "tzdata-index-file": "zone.tab",
    "tzdata-source-file": "tzdata.zi",
    "leap-seconds-file": "leap-seconds.list",
    "unicode-cyrillic": "\u0415\u0432\u0440\u043e\u043f\u0430/\u041c\u043e\u0441\u043a\u0432\u0430",
    "unicode-emoji": "\U0001f30d/\U0001f550",
    "unicode-rtl-override": "\u202eUTC",
    "very-long": "Europe/" + "x" * (64 * KIB),
}


def _time_zone_drafts() -> Iterator[_Draft]:
    for label, tz in _BAD_TIME_ZONES.items():
        yield _Draft(f"tz-{label}", _spec(timeZone=tz), "not-ready")
    # Finding: the operator reads "" as UTC (Ready=True); CronJob refuses an empty timeZone
    # ("must be nil or non-empty string"), and "" is no IANA name. Kept as a user expects it.
    yield _Draft("tz-empty", _spec(timeZone=""), "not-ready")
    yield _Draft("tz-number", _spec(timeZone=1), "refused")
    yield _Draft("tz-list", _spec(timeZone=["UTC"]), "refused")


# -- numbers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    label: str
    path: tuple[str, ...]  # inside spec
    minimum: int
    maximum: int | None
    integer: bool = True


_NUMBERS = (
    _Number("starting-deadline", ("startingDeadlineSeconds",), 0, None),
    _Number("successful-history", ("successfulJobsHistoryLimit",), 0, None),
    _Number("failed-history", ("failedJobsHistoryLimit",), 0, None),
    _Number("heartbeat", ("reporting", "heartbeatSeconds"), 10, None),
    _Number("retry-limit", ("retry", "limit"), 0, 10),
    _Number("backoff-initial", ("retry", "backoff", "initialSeconds"), 1, 86400),
    _Number("backoff-factor", ("retry", "backoff", "factor"), 1, 10, integer=False),
    _Number("backoff-max", ("retry", "backoff", "maxSeconds"), 1, 86400),
    _Number("suspend-after-failures", ("suspendAfterFailures",), 1, None),
    _Number("max-runs", ("maxRuns",), 1, None),
)


def _with_path(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    spec = _spec()
    node = spec
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return spec


def _number_drafts() -> Iterator[_Draft]:
    for n in _NUMBERS:
        below = n.minimum - 1
        yield _Draft(f"num-{n.label}-minimum-minus-1", _with_path(n.path, below), "refused")
        if below != -1:
            yield _Draft(f"num-{n.label}-negative", _with_path(n.path, -1), "refused")
        yield _Draft(f"num-{n.label}-int64-min", _with_path(n.path, INT64_MIN), "refused")
        if n.maximum is not None:
            above = n.maximum + 1
            yield _Draft(f"num-{n.label}-above-maximum", _with_path(n.path, above), "refused")
            yield _Draft(f"num-{n.label}-int64-max", _with_path(n.path, INT64_MAX), "refused")
        # Past int64: the API server reads it as a float, not an integer.
        yield _Draft(f"num-{n.label}-past-int64", _with_path(n.path, 2**64), "refused")
        yield _Draft(f"num-{n.label}-huge-float", _with_path(n.path, 1e308), "refused")
        if n.integer:
            yield _Draft(f"num-{n.label}-fraction", _with_path(n.path, 1.5), "refused")
        yield _Draft(f"num-{n.label}-string", _with_path(n.path, "3"), "refused")


# -- wrong types ----------------------------------------------------------------------------


def _type_drafts() -> Iterator[_Draft]:
    refused: dict[str, Any] = {
        "schedule-number": _spec(schedule=5),
        "schedule-list": _spec(schedule=["0 * * * *"]),
        "schedule-object": _spec(schedule={"minute": 0}),
        "schedule-bool": _spec(schedule=True),
        "suspend-string": _spec(suspend="true"),
        "suspend-number": _spec(suspend=1),
        "concurrency-lowercase": _spec(concurrencyPolicy="forbid"),
        "concurrency-unknown": _spec(concurrencyPolicy="Never"),
        "concurrency-empty": _spec(concurrencyPolicy=""),
        "concurrency-unicode": _spec(concurrencyPolicy="All\u00f6w"),
        "missed-run-unknown": _spec(missedRunPolicy="Some"),
        "missed-run-number": _spec(missedRunPolicy=1),
        "job-template-missing": _spec(jobTemplate=_DROP),
        "job-template-null": _spec(jobTemplate=None),
        "job-template-string": _spec(jobTemplate="busybox"),
        "job-template-list": _spec(jobTemplate=[_job_template()]),
        "job-template-empty": _spec(jobTemplate={}),
        "job-template-spec-list": _spec(jobTemplate={"spec": []}),
        "job-template-labels-number": _spec(
            jobTemplate={**_job_template(), "metadata": {"labels": {"a": 1}}}
        ),
        "job-template-annotations-list": _spec(
            jobTemplate={**_job_template(), "metadata": {"annotations": ["a"]}}
        ),
        "job-template-containers-object": _spec(
            jobTemplate=_job_template(_pod_spec(containers={"name": "main", "image": "x"}))
        ),
        "job-template-backoff-limit-string": _spec(jobTemplate=_job_template(backoffLimit="6")),
        "reporting-enabled-string": _spec(reporting={"enabled": "yes"}),
        "reporting-list": _spec(reporting=[{"enabled": False}]),
        "retry-string": _spec(retry="3"),
        "retry-on-unknown": _spec(retry={"on": ["Succeeded"]}),
        "retry-on-empty": _spec(retry={"on": []}),
        "retry-on-three": _spec(retry={"on": ["Failed", "Interrupted", "Failed"]}),
        "retry-on-string": _spec(retry={"on": "Failed"}),
        "steps-object": _spec(steps={"name": "a"}),
        "steps-strings": _spec(steps=["a", "b"]),
        "parameters-object": _spec(parameters={"name": "A"}),
        "parameters-strings": _spec(parameters=["A"]),
        "spec-missing": _DROP,
        "spec-null": None,
        "spec-empty": {},
        "spec-list": [_spec()],
        "spec-string": "schedule: '* * * * *'",
    }
    for label, spec in refused.items():
        yield _Draft(f"type-{label}", spec, "refused")


# -- times ----------------------------------------------------------------------------------


def _time_drafts() -> Iterator[_Draft]:
    refused: dict[str, dict[str, Any]] = {
        "start-after-end": _spec(startTime="2031-01-01T00:00:00Z", endTime="2030-01-01T00:00:00Z"),
        "start-equals-end": _spec(startTime="2030-01-01T00:00:00Z", endTime="2030-01-01T00:00:00Z"),
        "start-after-end-by-offset": _spec(
            startTime="2030-01-01T00:00:00-01:00", endTime="2030-01-01T00:30:00Z"
        ),
        "start-garbage": _spec(startTime="tomorrow"),
        "end-date-only": _spec(endTime="2030-01-01"),
        "end-number": _spec(endTime=1893456000),
        "suspend-until-feb-30": _spec(suspendUntil="2030-02-30T00:00:00Z"),
        "suspend-until-no-zone": _spec(suspendUntil="2030-01-01T00:00:00"),
        "suspend-until-leap-second": _spec(suspendUntil="2016-12-31T23:59:60Z"),
        "start-hour-25": _spec(startTime="2030-01-01T25:00:00Z"),
        "start-year-10000": _spec(startTime="10000-01-01T00:00:00Z"),
        "end-unicode-digits": _spec(endTime="\u0662\u0660\u0663\u0660-01-01T00:00:00Z"),
    }
    for label, spec in refused.items():
        yield _Draft(f"time-{label}", spec, "refused")
    # Accepted by the API server's date-time format, but no datetime a program can hold:
    # year 0, or (with the offset applied) year 0 or 10000 in UTC. Finding: the offset ones
    # make every pass raise OverflowError (no status, no event, a traceback each retry).
    not_ready: dict[str, dict[str, Any]] = {
        "start-year-zero": _spec(startTime="0000-01-01T00:00:00Z"),
        "suspend-until-year-zero": _spec(suspendUntil="0000-01-01T00:00:00Z"),
        "end-year-zero": _spec(endTime="0000-01-01T00:00:00Z"),
        "start-year-1-east-of-utc": _spec(startTime="0001-01-01T00:00:00+01:00"),
        "end-year-1-east-of-utc": _spec(endTime="0001-01-01T00:00:00+01:00"),
        "start-year-9999-west-of-utc": _spec(startTime="9999-12-31T23:59:59-01:00"),
        "suspend-until-year-9999-west-of-utc": _spec(suspendUntil="9999-12-31T23:59:59-01:00"),
    }
    for label, spec in not_ready.items():
        yield _Draft(f"time-{label}", spec, "not-ready")


# -- parameters and steps -------------------------------------------------------------------


def _parameter_drafts() -> Iterator[_Draft]:
    def params(*declared: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return _spec(parameters=list(declared), **fields)

    refused: dict[str, dict[str, Any]] = {
        "name-digit-first": params({"name": "1ABC"}),
        "name-dash": params({"name": "A-B"}),
        "name-empty": params({"name": ""}),
        "name-trailing-underscore": params({"name": "A_"}),
        "name-64": params({"name": "A" * 64}),
        "name-unicode": params({"name": "\u00c4B"}),
        "name-missing": params({"default": "x"}),
        "reserved-prefix": params({"name": "RERUNNABLE_TOKEN"}),
        "duplicate": params({"name": "A"}, {"name": "A"}),
        "default-not-in-enum": params({"name": "A", "enum": ["x", "y"], "default": "z"}),
        "default-not-matching": params({"name": "A", "pattern": "^[0-9]+$", "default": "abc"}),
        "default-with-invalid-pattern": params({"name": "A", "pattern": "(", "default": "x"}),
        "pattern-257": params({"name": "A", "pattern": "a" * 257}),
        "enum-empty": params({"name": "A", "enum": []}),
        "enum-101": params({"name": "A", "enum": [str(i) for i in range(101)]}),
        "description-1025": params({"name": "A", "description": "d" * 1025}),
        "default-1025": params({"name": "A", "default": "d" * 1025}),
        "51-parameters": params(*({"name": f"P{i}"} for i in range(51))),
        "required-without-default-scheduled": params({"name": "A", "required": True}),
        "required-without-default-schedules": params(
            {"name": "A", "required": True}, schedule=_DROP, schedules=[YEARLY]
        ),
        "required-string": params({"name": "A", "required": "yes"}),
    }
    for label, spec in refused.items():
        yield _Draft(f"params-{label}", spec, "refused")
    # The CRD cannot compile a pattern without a default to match; the operator can.
    for label, pattern in {
        "pattern-unbalanced": "(",
        "pattern-lookahead": "(?=x)",
        "pattern-backreference": r"(a)\1",
        "pattern-repeat-1001": "a{1001}",
        "pattern-double-star": "a**",
    }.items():
        yield _Draft(f"params-{label}", params({"name": "A", "pattern": pattern}), "not-ready")


def _step_drafts() -> Iterator[_Draft]:
    def steps(*declared: dict[str, Any]) -> dict[str, Any]:
        return _spec(steps=list(declared))

    refused: dict[str, dict[str, Any]] = {
        "name-uppercase": steps({"name": "Fetch"}),
        "name-underscore": steps({"name": "fetch_all"}),
        "name-empty": steps({"name": ""}),
        "name-64": steps({"name": "s" * 64}),
        "name-unicode": steps({"name": "\u0161tep"}),
        "name-missing": steps({"description": "no name"}),
        "duplicate": steps({"name": "fetch"}, {"name": "fetch"}),
        "31-steps": steps(*({"name": f"s{i}"} for i in range(31))),
    }
    for label, spec in refused.items():
        yield _Draft(f"steps-{label}", spec, "refused")


# -- names and metadata ---------------------------------------------------------------------


def _name_drafts() -> Iterator[_Draft]:
    refused = {
        "53-chars": "n" * 53,
        "63-chars": "n" * 63,
        "64-chars": "n" * 64,
        "253-chars": "n" * 253,
        "254-chars": "n" * 254,
        "uppercase": "Hostile-Upper",
        "underscore": "hostile_name",
        "leading-dash": "-hostile",
        "trailing-dash": "hostile-",
        "space": "hostile name",
        "unicode": "h\u00f6stile",
        "emoji": "hostile-\U0001f525",
        "dot-only": ".",
        "dot-dot": "..",
        "slash": "hostile/name",
        "percent": "hostile%2Fname",
        "colon": "hostile:name",
        "empty": "",
    }
    for label, name in refused.items():
        yield _Draft(f"name-{label}", _spec(), "refused", name=name)
    # At the limit: 52 characters, so <name>-m<8 hex> is 62; the bad part is elsewhere.
    yield _Draft(
        "name-52-chars-invalid-schedule",
        _spec(schedule="61 * * * *"),
        "not-ready",
        name="n52-invalid-schedule-" + "x" * 31,
    )
    yield _Draft(
        "name-52-chars-refused-job",
        _spec(jobTemplate=_job_template(_pod_spec(restartPolicy="Always"))),
        "not-ready",
        name="n52-refused-job-" + "y" * 36,
        run=True,
    )


def _metadata_drafts() -> Iterator[_Draft]:
    refused: dict[str, dict[str, Any]] = {
        "annotation-1mib": {"annotations": {"hostile.example/big": "a" * MIB}},
        "annotations-over-256kib": {
            "annotations": {f"hostile.example/part-{i}": "a" * (100 * KIB) for i in range(3)}
        },
        "annotation-key-invalid": {"annotations": {"bad key!": "v"}},
        "annotation-value-number": {"annotations": {"hostile.example/n": 1}},
        "label-value-64": {"labels": {"hostile.example/v": "v" * 64}},
        "label-value-invalid": {"labels": {"hostile.example/v": "bad value!"}},
        "label-key-unicode": {"labels": {"h\u00f6stile": "v"}},
        "labels-list": {"labels": ["a"]},
        "finalizer-invalid": {"finalizers": ["not a finalizer!"]},
    }
    for label, metadata in refused.items():
        yield _Draft(f"meta-{label}", _spec(), "refused", metadata=metadata)


# -- job templates the Job API refuses ------------------------------------------------------


def _template_drafts() -> Iterator[_Draft]:
    main = {"name": "main", "image": "busybox:1.36"}
    # Accepted by the CRD (the JobSpec schema checks types), refused by the API server
    # when the operator creates the run's Job: Ready=False, reason InvalidJobTemplate.
    not_ready: dict[str, dict[str, Any]] = {
        "restart-policy-always": _job_template(_pod_spec(restartPolicy="Always")),
        "restart-policy-unknown": _job_template(_pod_spec(restartPolicy="Sometimes")),
        "no-containers": _job_template(_pod_spec(containers=[])),
        "pod-spec-empty": {"spec": {"template": {}}},
        "container-name-invalid": _job_template(
            _pod_spec(containers=[{"name": "Main_1", "image": "busybox"}])
        ),
        "container-name-64": _job_template(
            _pod_spec(containers=[{"name": "c" * 64, "image": "busybox"}])
        ),
        "container-name-unicode": _job_template(
            _pod_spec(containers=[{"name": "\u043a\u043e\u043d\u0442", "image": "busybox"}])
        ),
        "container-image-missing": _job_template(_pod_spec(containers=[{"name": "main"}])),
        "backoff-limit-negative": _job_template(backoffLimit=-1),
        "parallelism-negative": _job_template(parallelism=-1),
        "completions-negative": _job_template(completions=-1),
        "active-deadline-negative": _job_template(activeDeadlineSeconds=-1),
        "ttl-negative": _job_template(ttlSecondsAfterFinished=-1),
        "completion-mode-unknown": _job_template(completionMode="Sometimes"),
        "selector-without-manual-selector": _job_template(
            selector={"matchLabels": {"hostile": "true"}}
        ),
        "backoff-per-index-not-indexed": _job_template(backoffLimitPerIndex=1),
        "max-failed-indexes-alone": _job_template(maxFailedIndexes=1),
        "port-out-of-range": _job_template(
            _pod_spec(containers=[{**main, "ports": [{"containerPort": 70000}]}])
        ),
        # The Job API cannot even decode these (400 BadRequest, not 422 Invalid). Finding: the
        # operator retries the create forever (up to every 300 s) and never writes a status.
        "memory-not-a-quantity": _job_template(
            _pod_spec(containers=[{**main, "resources": {"limits": {"memory": "lots"}}}])
        ),
        "cpu-not-a-quantity": _job_template(
            _pod_spec(containers=[{**main, "resources": {"requests": {"cpu": "1.5.5"}}}])
        ),
        "limits-below-requests": _job_template(
            _pod_spec(
                containers=[
                    {**main, "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}
                ]
            )
        ),
        "volume-mount-without-volume": _job_template(
            _pod_spec(containers=[{**main, "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}])
        ),
        "env-name-with-equals": _job_template(
            _pod_spec(containers=[{**main, "env": [{"name": "A=B", "value": "x"}]}])
        ),
        "pod-label-invalid": {
            "spec": {
                "template": {
                    "metadata": {"labels": {"hostile.example/v": "bad value!"}},
                    "spec": _pod_spec(),
                }
            }
        },
        "job-label-key-invalid": {**_job_template(), "metadata": {"labels": {"bad key!": "v"}}},
        "job-label-value-64": {
            **_job_template(),
            "metadata": {"labels": {"hostile.example/v": "v" * 64}},
        },
        "job-annotation-key-invalid": {
            **_job_template(),
            "metadata": {"annotations": {"bad key!": "v"}},
        },
    }
    for label, template in not_ready.items():
        yield _Draft(f"template-{label}", _spec(jobTemplate=template), "not-ready", run=True)
    # The CRD's JobSpec schema refuses these already.
    refused: dict[str, dict[str, Any]] = {
        "containers-missing": _job_template({"restartPolicy": "Never"}),
        "container-names-duplicate": _job_template(_pod_spec(containers=[main, main])),
    }
    for label, template in refused.items():
        yield _Draft(f"template-{label}", _spec(jobTemplate=template), "refused", run=True)


# -- sizes ----------------------------------------------------------------------------------


def _size_drafts() -> Iterator[_Draft]:
    # Large but accepted (under the annotation limit even as kubectl apply's copy): the
    # operator must report it without choking on it.
    yield _Draft(
        "size-90kib-of-steps-invalid-schedule",
        _spec(
            schedule="0 0 31 2 *",
            steps=[{"name": f"step-{i}", "description": "d" * (3 * KIB)} for i in range(30)],
        ),
        "not-ready",
    )
    # Over etcd's limit of about 1.5 MiB an object (under the API server's 3 MiB a request).
    yield _Draft(
        "size-2mib-object",
        _spec(steps=[{"name": f"step-{i}", "description": "d" * (70 * KIB)} for i in range(30)]),
        "refused",
    )
    yield _Draft(
        "size-50-parameters-one-bad-pattern",
        _spec(
            parameters=[
                *({"name": f"P{i}", "default": "v" * 1000} for i in range(49)),
                {"name": "LAST", "pattern": "(?<=x)"},
            ]
        ),
        "not-ready",
    )


# -- random ---------------------------------------------------------------------------------

# (name, lowest, highest) of each cron field.
_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("dom", 1, 31), ("month", 1, 12), ("dow", 0, 7))
# No cron field accepts any of these characters.
_NOT_CRON = "!$%&+;<=>[]^{|}~\"'`\\\u00e9\u00df\u0416\u03bb\u4e2d\u2603\U0001f600\u00a7"
# Digits outside ASCII, which int() reads but cron does not.
_FOREIGN_DIGITS = "\u0660\u0661\u06f5\u0967\u09e8\u0e51\uff13\u00b2\u2463\U0001d7d9"


def _valid_token(rng: random.Random, low: int, high: int) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return "*"
    if kind == 1:
        return str(rng.randint(low, high))
    if kind == 2:
        a = rng.randint(low, high)
        return f"{a}-{rng.randint(a, high)}"
    return f"*/{rng.randint(1, high - low + 1)}"


def _random_cron_out_of_range(rng: random.Random, i: int) -> _Draft:
    bad = rng.randrange(5)
    fields = []
    where = ""
    for j, (name, low, high) in enumerate(_CRON_FIELDS):
        if j != bad:
            fields.append(_valid_token(rng, low, high))
            continue
        if low > 0 and rng.random() < 0.3:
            value = rng.randint(-(10 ** rng.randint(0, 6)), low - 1)
        else:
            value = rng.randint(high + 1, 10 ** rng.randint(len(str(high + 1)), 25))
        token = str(value)
        shape = rng.randrange(3)
        if shape == 1:
            token = f"{low}-{value}" if value > high else f"{value}-{high}"
        elif shape == 2:
            token = f"{_valid_token(rng, low, high)},{value}"
        fields.append(token)
        where = f"{name}-{value}"
    return _Draft(f"random-cron-{i:02d}-{where}", _spec(schedule=" ".join(fields)), "not-ready")


def _random_cron_field_count(rng: random.Random, i: int) -> _Draft:
    count = rng.choice([1, 2, 3, 4, 6, 7, 8, 12, 40])
    fields = []
    for j in range(count):
        _, low, high = _CRON_FIELDS[j % 5]
        fields.append(_valid_token(rng, low, high))
    cron = rng.choice([" ", "  ", "\t"]).join(fields)
    return _Draft(f"random-cron-{i:02d}-{count}-fields", _spec(schedule=cron), "not-ready")


def _random_cron_garbage(rng: random.Random, i: int) -> _Draft:
    bad = rng.randrange(5)
    fields = []
    for j, (_, low, high) in enumerate(_CRON_FIELDS):
        if j == bad:
            alphabet = _NOT_CRON if rng.random() < 0.6 else _FOREIGN_DIGITS
            junk = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            token = rng.choice([junk, f"{junk}{low}", f"{low}{junk}", f"*/{junk}"])
            fields.append(token)
        else:
            fields.append(_valid_token(rng, low, high))
    return _Draft(f"random-cron-{i:02d}-garbage", _spec(schedule=" ".join(fields)), "not-ready")


def _random_time_zone(rng: random.Random, i: int) -> _Draft:
    letters = "abcdefghijklmnopqrstuvwxyz_\u00e9\u00fc\u0416\u4e2d"
    parts = [
        "".join(rng.choice(letters) for _ in range(rng.randint(1, 20)))
        for _ in range(rng.randint(1, 4))
    ]
    # "Nowhere" is no area of the tz database, so no such file exists.
    tz = "Nowhere/" + "/".join(parts)
    return _Draft(f"random-tz-{i:02d}", _spec(timeZone=tz), "not-ready")


def _random_number(rng: random.Random, i: int) -> _Draft:
    n = rng.choice(_NUMBERS)
    if n.maximum is not None and rng.random() < 0.5:
        value: int | float = rng.randint(n.maximum + 1, 10 ** rng.randint(6, 18))
    else:
        value = rng.randint(-(10 ** rng.randint(1, 18)), n.minimum - 1)
    if not n.integer and rng.random() < 0.5:
        value = value + rng.random() if value > 0 else value - rng.random()
    shown = f"{value}" if value >= 0 else f"minus{-value}"
    return _Draft(f"random-num-{i:02d}-{n.label}-{shown}", _with_path(n.path, value), "refused")


_RANDOM: tuple[tuple[int, Callable[[random.Random, int], _Draft]], ...] = (
    (30, _random_cron_out_of_range),
    (10, _random_cron_field_count),
    (15, _random_cron_garbage),
    (10, _random_time_zone),
    (20, _random_number),
)


def _random_drafts(rng: random.Random) -> Iterator[_Draft]:
    i = 0
    for count, make in _RANDOM:
        for _ in range(count):
            yield make(rng, i)
            i += 1


def corpus(seed: int = 0) -> list[Hostile]:
    """At least 200 invalid or hostile RerunnableJobs, the same ones for the same seed."""
    rng = random.Random(seed)
    drafts = [
        *_cron_drafts(),
        *_time_zone_drafts(),
        *_number_drafts(),
        *_type_drafts(),
        *_time_drafts(),
        *_parameter_drafts(),
        *_step_drafts(),
        *_name_drafts(),
        *_metadata_drafts(),
        *_template_drafts(),
        *_size_drafts(),
        *_random_drafts(rng),
    ]
    return _build(drafts)
