"""The planner with run parameters and cancels (rerunnable.core.planner), as a user sees them.

Parameters: a manual run takes the parameters.rerunnable.dev/* annotations only when
rerunnable.dev/parameters-for names its own token, else the defaults; scheduled runs always
take the defaults. The final values go into the Execution's spec.parameters and, through
core.manifests.run_job, into every container's environment. Values that do not check out
make no Execution and no Job: the run is recorded as skipped (InvalidParameters).

Cancel: rerunnable.dev/cancel=true on an Execution ends a Pending or Running run Interrupted
(reason Cancelled), its Job deleted; a finished run is left as it is; a run that ended
Interrupted and still has its Job (a pass stopped before deleting it) gets it deleted.

Every case plans one pass at NOW (builders.py); inputs are API objects parsed by the real
parsers.
"""

import copy
import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rerunnable.api.reasons import RunReason
from rerunnable.api.v1alpha1 import ExecutionPhase, Trigger, to_wire
from rerunnable.core.execution_status import status_patch
from rerunnable.core.manifests import run_job
from rerunnable.core.planner import NewExecution, Plan, plan
from rerunnable.core.state import ExecutionState, JobState, RerunnableJobState
from tests.unit.core.builders import NOW, TEMPLATE, at, execution, job, jobs, rjob, wire

P = "parameters.rerunnable.dev/"
FOR = "rerunnable.dev/parameters-for"
BY, BY_RUN = "rerunnable.dev/requested-by", "rerunnable.dev/requested-run"
CANCEL, CANCELLED_BY = "rerunnable.dev/cancel", "rerunnable.dev/cancelled-by"
TOKEN = "release-42"
EVERY_MINUTE = "* * * * *"
DUE = {"lastScheduleTime": at("10:16")}  # every minute: 10:17 is due


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """pytest params whose id is the row's first element, the name of the case."""
    return [pytest.param(*row, id=row[0]) for row in rows]


def manual(token: str) -> str:
    """The Execution name of a manual run: `backup-m<first 8 hex of sha256(token)>`."""
    return f"backup-m{hashlib.sha256(token.encode()).hexdigest()[:8]}"


def slot(moment: datetime) -> str:
    return f"backup-{int(moment.timestamp()) // 60}"


def run(
    r: RerunnableJobState,
    executions: Iterable[ExecutionState] = (),
    world: Mapping[str, JobState] | None = None,
) -> Plan:
    return plan(r, list(executions), world or {}, NOW)


def events(p: Plan) -> list[tuple[str, str]]:
    return [(e.type, e.reason) for e in p.events]


def sent(token: str, **values: str) -> dict[str, str]:
    """The annotations that send `values` with the run of `token` (besides the token)."""
    return {FOR: token, **{P + name: value for name, value in values.items()}}


def with_parameters(declared: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"parameters": declared, **spec}


def created_execution(new: NewExecution) -> ExecutionState:
    """The Execution as the API server returns it once the shell created `new`'s manifest."""
    body = copy.deepcopy(dict(new.manifest))
    body["metadata"] |= {"uid": f"uid-{new.name}", "creationTimestamp": wire(NOW)}
    return ExecutionState.from_body(body)


def env_of(job_manifest: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Each container's (and init container's) env, by container name."""
    assert job_manifest is not None
    pod = job_manifest["spec"]["template"]["spec"]
    return {
        c["name"]: c.get("env", [])
        for key in ("initContainers", "containers")
        for c in pod.get(key) or []
    }


def template_with(pod_spec: Mapping[str, Any]) -> dict[str, Any]:
    tpl = copy.deepcopy(dict(TEMPLATE))
    tpl["spec"]["template"]["spec"] = {"restartPolicy": "Never", **pod_spec}
    return tpl


# A job run by hand: TAG must be sent; ENV and REGION have defaults; NOTE is optional.
MANUAL_PARAMETERS: list[dict[str, Any]] = [
    {"name": "ENV", "enum": ["dev", "prod"], "default": "dev"},
    {"name": "TAG", "required": True, "pattern": "^v[0-9]+$"},
    {"name": "NOTE"},
    {"name": "REGION", "default": "eu", "pattern": "^[a-z]{2}$"},
]
# The same, with every required parameter defaulted: a scheduled run can take them all.
DEFAULTED: list[dict[str, Any]] = [
    {"name": "ENV", "enum": ["dev", "prod"], "default": "dev"},
    {"name": "TAG", "required": True, "default": "v1", "pattern": "^v[0-9]+$"},
    {"name": "NOTE"},
]
# Two containers and an init container: every one gets every parameter.
POD = {
    "initContainers": [{"name": "init", "image": "busybox"}],
    "containers": [
        {"name": "main", "image": "busybox", "env": [{"name": "LOG", "value": "1"}]},
        {"name": "sidecar", "image": "busybox"},
    ],
}


# 1. A manual run's parameters -----------------------------------------------------------------

VALID = [
    (
        "required sent, defaults applied, optional left out",
        MANUAL_PARAMETERS,
        sent(TOKEN, TAG="v2"),
        {"ENV": "dev", "TAG": "v2", "REGION": "eu"},
    ),
    (
        "every value sent, in any order",
        MANUAL_PARAMETERS,
        sent(TOKEN, REGION="us", NOTE="hi", TAG="v3", ENV="prod"),
        {"ENV": "prod", "TAG": "v3", "NOTE": "hi", "REGION": "us"},
    ),
    (
        "parameters-for names another token: defaults, stale values ignored",
        DEFAULTED,
        {**sent("release-41", TAG="v9", ENV="prod", NOTE="old")},
        {"ENV": "dev", "TAG": "v1"},
    ),
    (
        "no parameters-for: defaults",
        DEFAULTED,
        {P + "TAG": "v9"},
        {"ENV": "dev", "TAG": "v1"},
    ),
    (
        "parameters-for names the token, nothing sent: defaults",
        DEFAULTED,
        sent(TOKEN),
        {
            "ENV": "dev",
            "TAG": "v1",
        },
    ),
    (
        "multi-byte value",
        DEFAULTED,
        sent(TOKEN, NOTE="grüße ☃"),
        {"ENV": "dev", "TAG": "v1", "NOTE": "grüße ☃"},
    ),
]


@pytest.mark.parametrize(("case", "declared", "annotations", "want"), cases(VALID))
def test_a_manual_run_gets_its_final_values(
    case: str, declared: list[dict[str, Any]], annotations: dict[str, str], want: dict[str, str]
) -> None:
    r = rjob(
        token=TOKEN,
        annotations=annotations,
        extra=with_parameters(declared, jobTemplate=template_with(POD)),
    )
    p = run(r)
    (new,) = p.creates
    assert (new.name, new.trigger, new.token) == (manual(TOKEN), Trigger.MANUAL, TOKEN), case
    assert new.spec.parameters == want, case
    assert list(new.spec.parameters or {}) == list(want), case  # declared order
    assert new.manifest["spec"]["parameters"] == want, case
    assert events(p) == [("Normal", "RunStarted")], case
    assert p.status.last_skipped is None, case
    assert p.status.last_run_token == TOKEN, case

    # The Job the shell makes of it: every container and init container gets every value.
    pods = env_of(run_job(r, created_execution(new)))
    params = [{"name": n, "value": v} for n, v in want.items()]
    assert pods == {
        "init": params,
        "main": [*params, {"name": "LOG", "value": "1"}],
        "sidecar": params,
    }, case


def test_a_job_without_parameters_runs_with_none() -> None:
    r = rjob(token=TOKEN, annotations=sent(TOKEN), extra={"jobTemplate": template_with(POD)})
    (new,) = run(r).creates
    assert new.spec.parameters is None
    assert new.manifest["spec"]["parameters"] is None
    assert env_of(run_job(r, created_execution(new))) == {
        "init": [],
        "main": [{"name": "LOG", "value": "1"}],
        "sidecar": [],
    }


def test_optional_parameters_none_sent_none_defaulted_means_no_parameters() -> None:
    r = rjob(token=TOKEN, extra=with_parameters([{"name": "NOTE"}]))
    (new,) = run(r).creates
    assert new.spec.parameters is None


INVALID = [
    (
        "required, not sent, no default",
        MANUAL_PARAMETERS,
        sent(TOKEN),
        "parameter TAG: required, and not sent",
    ),
    (
        "required, values sent for an earlier token",
        MANUAL_PARAMETERS,
        sent("release-41", TAG="v2"),
        "parameter TAG: required, and not sent",
    ),
    (
        "required, no parameters-for at all",
        MANUAL_PARAMETERS,
        {P + "TAG": "v2"},
        "parameter TAG: required, and not sent",
    ),
    (
        "not in the enum",
        MANUAL_PARAMETERS,
        sent(TOKEN, TAG="v2", ENV="qa"),
        "parameter ENV: 'qa' is not one of dev, prod",
    ),
    (
        "not matching the pattern",
        MANUAL_PARAMETERS,
        sent(TOKEN, TAG="latest"),
        "parameter TAG: 'latest' does not match the pattern ^v[0-9]+$",
    ),
    (
        "unknown name",
        MANUAL_PARAMETERS,
        sent(TOKEN, TAG="v2", COLOR="red"),
        "parameter COLOR: not declared in spec.parameters (declared: ENV, TAG, NOTE, REGION)",
    ),
    (
        "sent to a job that declares none",
        None,
        sent(TOKEN, COLOR="red"),
        "parameter COLOR: not declared in spec.parameters (declared: none)",
    ),
    (
        "over 4 KiB in all",
        MANUAL_PARAMETERS,
        sent(TOKEN, TAG="v2", NOTE="é" * 2046),
        "parameters: 4101 bytes in all (names and values), over the limit of 4096",
    ),
]


@pytest.mark.parametrize(("case", "declared", "annotations", "problem"), cases(INVALID))
def test_invalid_parameters_skip_the_run(
    case: str, declared: list[dict[str, Any]] | None, annotations: dict[str, str], problem: str
) -> None:
    extra = with_parameters(declared) if declared is not None else {}
    r = rjob(token=TOKEN, annotations=annotations, extra=extra)
    p = run(r)
    assert p.creates == (), case
    assert p.starts == (), case
    skipped = p.status.last_skipped
    assert skipped is not None, case
    assert (skipped.reason, skipped.trigger, skipped.token) == (
        RunReason.INVALID_PARAMETERS,
        Trigger.MANUAL,
        TOKEN,
    ), case
    assert (skipped.time, skipped.scheduled_time) == (NOW, None), case
    assert skipped.message == f"manual run {TOKEN!r} skipped: invalid parameters: {problem}", case
    (event,) = p.events
    assert (event.type, event.reason, event.message) == (
        "Warning",
        "RunSkipped",
        skipped.message,
    ), case
    assert p.status.last_run_token == TOKEN, case  # handled: not tried again
    assert p.status.active == [], case
    assert p.status.recent_executions == [], case


def test_the_skip_names_who_asked_and_every_problem() -> None:
    annotations = {**sent(TOKEN, ENV="qa", BOGUS="1"), BY: "alice", BY_RUN: TOKEN}
    r = rjob(token=TOKEN, annotations=annotations, extra=with_parameters(MANUAL_PARAMETERS))
    p = run(r)
    assert p.status.last_skipped is not None
    assert p.status.last_skipped.message == (
        f"manual run {TOKEN!r} requested by alice skipped: invalid parameters: "
        "parameter BOGUS: not declared in spec.parameters (declared: ENV, TAG, NOTE, REGION); "
        "parameter ENV: 'qa' is not one of dev, prod; "
        "parameter TAG: required, and not sent"
    )


def test_a_skipped_token_is_not_skipped_again_on_the_next_pass() -> None:
    r = rjob(token=TOKEN, annotations=sent(TOKEN), extra=with_parameters(MANUAL_PARAMETERS))
    first = run(r)
    again = rjob(
        token=TOKEN,
        annotations=sent(TOKEN),
        extra=with_parameters(MANUAL_PARAMETERS),
        status=to_wire(first.status),
    )
    second = run(again)
    assert second.creates == ()
    assert second.events == ()
    assert second.status.last_skipped == first.status.last_skipped


def test_invalid_parameters_of_a_run_that_exists_already_are_not_a_skip() -> None:
    # An earlier pass created the run (its values were good then) and stopped before the
    # status recorded the token; the annotations changed since.
    done = execution(
        manual(TOKEN),
        trigger="Manual",
        token=TOKEN,
        phase="Running",
        job_name=manual(TOKEN),
        parameters={"TAG": "v2"},
    )
    r = rjob(
        token=TOKEN,
        annotations=sent(TOKEN, TAG="bad"),
        extra=with_parameters(MANUAL_PARAMETERS),
        status={"lastRunToken": "release-41"},
    )
    p = run(r, [done], jobs(job(manual(TOKEN), active=1, start_time=at("10:00"))))
    assert p.creates == ()
    assert p.status.last_skipped is None
    assert "RunSkipped" not in [e.reason for e in p.events]
    assert p.status.last_run_token == TOKEN


def test_invalid_parameters_skip_only_the_manual_run() -> None:
    r = rjob(
        schedule=EVERY_MINUTE,
        token=TOKEN,
        annotations=sent(TOKEN, ENV="qa"),
        extra=with_parameters(DEFAULTED),
        status=DUE,
    )
    p = run(r)
    assert [(c.name, c.spec.parameters) for c in p.creates] == [
        (slot(at("10:17")), {"ENV": "dev", "TAG": "v1"})
    ]
    assert p.status.last_skipped is not None
    assert p.status.last_skipped.reason == RunReason.INVALID_PARAMETERS


# 2. Scheduled runs take the defaults ------------------------------------------------------------


def test_a_scheduled_run_takes_the_defaults() -> None:
    r = rjob(
        schedule=EVERY_MINUTE,
        status=DUE,
        extra=with_parameters(DEFAULTED, jobTemplate=template_with(POD)),
    )
    (new,) = run(r).creates
    assert (new.name, new.trigger) == (slot(at("10:17")), Trigger.SCHEDULE)
    assert new.spec.parameters == {"ENV": "dev", "TAG": "v1"}
    params = [{"name": "ENV", "value": "dev"}, {"name": "TAG", "value": "v1"}]
    assert env_of(run_job(r, created_execution(new)))["sidecar"] == params


def test_a_scheduled_run_next_to_a_manual_one_takes_the_defaults_not_its_values() -> None:
    r = rjob(
        schedule=EVERY_MINUTE,
        status=DUE,
        token=TOKEN,
        annotations=sent(TOKEN, ENV="prod", TAG="v7", NOTE="mine"),
        extra=with_parameters(DEFAULTED),
    )
    p = run(r)
    assert [(c.trigger, c.spec.parameters) for c in p.creates] == [
        (Trigger.SCHEDULE, {"ENV": "dev", "TAG": "v1"}),
        (Trigger.MANUAL, {"ENV": "prod", "TAG": "v7", "NOTE": "mine"}),
    ]


def test_backfilled_runs_take_the_defaults() -> None:
    r = rjob(
        schedule=EVERY_MINUTE,
        missed="All",
        status={"lastScheduleTime": at("10:14")},
        extra=with_parameters(DEFAULTED),
    )
    p = run(r)
    assert [(c.trigger, c.spec.parameters) for c in p.creates] == [
        (Trigger.BACKFILL, {"ENV": "dev", "TAG": "v1"}),
        (Trigger.BACKFILL, {"ENV": "dev", "TAG": "v1"}),
        (Trigger.SCHEDULE, {"ENV": "dev", "TAG": "v1"}),
    ]


def test_a_scheduled_job_with_a_required_parameter_without_default_runs_nothing() -> None:
    r = rjob(schedule=EVERY_MINUTE, status=DUE, extra=with_parameters(MANUAL_PARAMETERS))
    p = run(r)
    assert p.creates == ()
    ready = next(c for c in p.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "InvalidSpec")
    assert ready.message.startswith("spec.parameters: TAG: required without a default")


def test_a_bad_pattern_makes_the_job_invalid() -> None:
    declared = [{"name": "A", "pattern": "(?=x)"}]
    p = run(rjob(token=TOKEN, extra=with_parameters(declared)))
    assert p.creates == ()
    ready = next(c for c in p.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason) == ("False", "InvalidSpec")
    assert ready.message.startswith("spec.parameters[0].pattern: '(?=x)' is not an RE2")


# 3. A queued run keeps its values ---------------------------------------------------------------

ACTIVE = execution(
    "backup-29922300",
    phase="Running",
    job_name="backup-29922300",
    created=at("09:00:01"),
    start_time=at("09:00:02"),
)
ACTIVE_JOB = job("backup-29922300", start_time=at("09:00:02"), active=1)


def test_a_queued_run_keeps_its_values_and_gets_them_when_it_starts() -> None:
    r = rjob(
        policy="Queue",
        token=TOKEN,
        annotations=sent(TOKEN, TAG="v5"),
        extra=with_parameters(MANUAL_PARAMETERS),
    )
    (new,) = run(r, [ACTIVE], jobs(ACTIVE_JOB)).creates
    assert new.queued
    assert new.spec.parameters == {"ENV": "dev", "TAG": "v5", "REGION": "eu"}
    # It starts later, after the job's parameters were edited and the annotations changed.
    later = rjob(
        policy="Queue",
        annotations=sent("other", TAG="v6"),
        extra=with_parameters([{"name": "ENV", "default": "prod"}]),
    )
    env = env_of(run_job(later, created_execution(new)))["main"]
    assert env == [
        {"name": "ENV", "value": "dev"},
        {"name": "TAG", "value": "v5"},
        {"name": "REGION", "value": "eu"},
    ]


# 4. The environment: a template's own entry of a parameter's name ---------------------------------

ENVIRONMENTS = [
    (
        "no env: parameters only",
        [],
        {"A": "1", "B": "2"},
        [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    ),
    (
        "others first, the template's after",
        [{"name": "LOG", "value": "x"}],
        {"A": "1"},
        [{"name": "A", "value": "1"}, {"name": "LOG", "value": "x"}],
    ),
    (
        "same name replaced where it stands",
        [{"name": "LOG", "value": "x"}, {"name": "A", "value": "template"}, {"name": "Z"}],
        {"A": "1"},
        [{"name": "LOG", "value": "x"}, {"name": "A", "value": "1"}, {"name": "Z"}],
    ),
    (
        "a valueFrom of the same name is replaced too",
        [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        {"A": "1"},
        [{"name": "A", "value": "1"}],
    ),
    (
        "a name the template has twice: one entry, at the first",
        [{"name": "A", "value": "t1"}, {"name": "LOG", "value": "x"}, {"name": "A", "value": "t2"}],
        {"A": "1"},
        [{"name": "A", "value": "1"}, {"name": "LOG", "value": "x"}],
    ),
    (
        "some replaced, some first",
        [{"name": "LOG", "value": "x"}, {"name": "B", "value": "t"}],
        {"A": "1", "B": "2", "C": "3"},
        [
            {"name": "A", "value": "1"},
            {"name": "C", "value": "3"},
            {"name": "LOG", "value": "x"},
            {"name": "B", "value": "2"},
        ],
    ),
    (
        "names are case-sensitive",
        [{"name": "a", "value": "t"}],
        {"A": "1"},
        [{"name": "A", "value": "1"}, {"name": "a", "value": "t"}],
    ),
]


@pytest.mark.parametrize(("case", "template_env", "values", "want"), cases(ENVIRONMENTS))
def test_parameters_in_every_container_environment(
    case: str,
    template_env: list[dict[str, Any]],
    values: dict[str, str],
    want: list[dict[str, Any]],
) -> None:
    pod = {
        "initContainers": [{"name": "init", "image": "busybox", "env": template_env}],
        "containers": [
            {"name": "main", "image": "busybox", "env": template_env},
            {"name": "other", "image": "busybox", "env": template_env},
        ],
    }
    r = rjob(extra={"jobTemplate": template_with(pod)})
    run_ = execution(manual(TOKEN), trigger="Manual", token=TOKEN, parameters=values)
    assert env_of(run_job(r, run_)) == {"init": want, "main": want, "other": want}, case
    # The job's own template is left as it was.
    assert r.spec is not None
    containers = r.spec.job_template.spec["template"]["spec"]["containers"]
    assert [c["env"] for c in containers] == [template_env, template_env], case


env_names = st.sampled_from(["A", "B", "C", "LOG", "PATH"])


@given(
    template_env=st.lists(
        st.tuples(env_names, st.text(max_size=3)).map(lambda t: {"name": t[0], "value": t[1]}),
        max_size=6,
    ),
    values=st.dictionaries(env_names, st.text(max_size=3), max_size=4),
)
def test_every_parameter_once_and_the_templates_others_in_their_order(
    template_env: list[dict[str, Any]], values: dict[str, str]
) -> None:
    pod = {
        "initContainers": [{"name": "init", "image": "busybox", "env": template_env}],
        "containers": [{"name": "main", "image": "busybox", "env": template_env}],
    }
    r = rjob(extra={"jobTemplate": template_with(pod)})
    got = env_of(run_job(r, execution(manual(TOKEN), trigger="Manual", parameters=values)))
    for env in got.values():
        names_ = [e["name"] for e in env]
        for name, value in values.items():
            assert names_.count(name) == 1
            # $ is escaped, so that Kubernetes' $(VAR) expansion leaves the value as sent.
            assert {"name": name, "value": value.replace("$", "$$")} in env
        assert [e for e in env if e["name"] not in values] == [
            e for e in template_env if e["name"] not in values
        ]


# 5. Cancel ------------------------------------------------------------------------------------

RUN = "backup-29922300"
STARTED = at("09:00:02")


def cancel(by: str | None = "alice") -> dict[str, str]:
    return {CANCEL: "true", **({CANCELLED_BY: by} if by is not None else {})}


def running(annotations: Mapping[str, str] | None = None, **fields: Any) -> ExecutionState:
    return execution(
        RUN,
        phase="Running",
        job_name=RUN,
        created=at("09:00:01"),
        start_time=STARTED,
        progress={"succeeded": 0, "failed": 0, "active": 1, "total": 1},
        annotations=annotations,
        **fields,
    )


RUNNING_JOB = job(RUN, start_time=STARTED, active=1)
QUEUED = "backup-mqueued1"

CANCELLED = [
    (
        "Running, stamped",
        running(cancel("alice")),
        [RUNNING_JOB],
        "cancelled by alice; its Job is deleted",
        "alice",
    ),
    (
        "Running, no stamp (the webhook was down)",
        running(cancel(None)),
        [RUNNING_JOB],
        "cancelled (rerunnable.dev/cancel); its Job is deleted",
        None,
    ),
    (
        "Running, empty stamp",
        running(cancel("")),
        [RUNNING_JOB],
        "cancelled (rerunnable.dev/cancel); its Job is deleted",
        None,
    ),
    (
        "Pending, its Job created but not started",
        execution(RUN, phase="Pending", job_name=RUN, annotations=cancel("bob")),
        [job(RUN, no_status=True)],
        "cancelled by bob; its Job is deleted",
        "bob",
    ),
    (
        "queued: Pending, not started, no Job",
        execution(
            RUN,
            trigger="Manual",
            phase="Pending",
            reason="Queued",
            queued=True,
            annotations=cancel("bob"),
        ),
        [],
        "cancelled by bob before it started",
        "bob",
    ),
    (
        "created by a pass that stopped before its Job",
        execution(RUN, trigger="Manual", annotations=cancel(None)),
        [],
        "cancelled (rerunnable.dev/cancel) before it started",
        None,
    ),
]


@pytest.mark.parametrize(("case", "e", "world", "message", "by"), cases(CANCELLED))
def test_cancel_ends_the_run_interrupted(
    case: str, e: ExecutionState, world: list[JobState], message: str, by: str | None
) -> None:
    p = run(rjob(), [e], jobs(*world))
    (interrupt,) = p.interrupts  # the shell writes its status, then deletes its Job
    assert interrupt.execution == RUN, case
    status = interrupt.status
    assert (status.phase, status.reason, status.message) == (
        ExecutionPhase.INTERRUPTED,
        RunReason.CANCELLED,
        message,
    ), case
    assert status.cancelled_by == by, case
    assert status.completion_time == NOW, case
    assert p.events[-1].type == "Normal", case
    assert (p.events[-1].reason, p.events[-1].message) == (
        "RunCancelled",
        f"Execution {RUN} {message}",
    ), case
    assert "RunCancelled" not in [ev.reason for ev in p.events[:-1]], case
    assert p.starts == (), case
    assert p.job_deletes == (), case  # deleted with the interrupt, not reaped
    assert p.status.active == [], case
    assert p.status.last_result == ExecutionPhase.INTERRUPTED, case
    assert RUN not in p.deletes, case  # kept, under the default history limits


NOT_CANCELLED = [
    (
        "Succeeded",
        execution(
            RUN, phase="Succeeded", job_name=RUN, completion_time=at("10:00"), annotations=cancel()
        ),
        [job(RUN, complete=True, finished_at=at("10:00"), start_time=STARTED)],
    ),
    (
        "Failed",
        execution(
            RUN, phase="Failed", job_name=RUN, completion_time=at("10:00"), annotations=cancel()
        ),
        [job(RUN, failed="BackoffLimitExceeded", finished_at=at("10:00"), start_time=STARTED)],
    ),
    (
        "Interrupted already, its Job being deleted (a second cancel)",
        execution(
            RUN,
            phase="Interrupted",
            job_name=RUN,
            reason="Cancelled",
            message="cancelled by alice; its Job is deleted",
            completion_time=at("10:00"),
            annotations=cancel(),
            status_extra={"cancelledBy": "alice"},
        ),
        [job(RUN, start_time=STARTED, active=1, deleting=True)],
    ),
    (
        "Interrupted already, its Job gone",
        execution(
            RUN,
            phase="Interrupted",
            job_name=RUN,
            reason="Replaced",
            completion_time=at("10:00"),
            annotations=cancel(),
        ),
        [],
    ),
    ('Running, cancel is not "true"', running({CANCEL: "True"}), [RUNNING_JOB]),
    ('Running, cancel is "false"', running({CANCEL: "false", CANCELLED_BY: "x"}), [RUNNING_JOB]),
    ("Running, only a cancelled-by", running({CANCELLED_BY: "alice"}), [RUNNING_JOB]),
]


@pytest.mark.parametrize(("case", "e", "world"), cases(NOT_CANCELLED))
def test_cancel_changes_nothing(case: str, e: ExecutionState, world: list[JobState]) -> None:
    p = run(rjob(), [e], jobs(*world))
    assert p.interrupts == (), case
    assert p.execution_updates == {}, case
    assert p.job_deletes == (), case
    assert p.events == (), case


def test_a_run_that_finishes_in_the_pass_that_sees_the_cancel_is_not_cancelled() -> None:
    done = job(RUN, start_time=STARTED, complete=True, finished_at=at("10:17"), succeeded=1)
    p = run(rjob(), [running(cancel())], jobs(done))
    assert p.interrupts == ()
    assert p.execution_updates[RUN].phase == ExecutionPhase.SUCCEEDED
    assert events(p) == [("Normal", "RunSucceeded")]


def test_a_cancelled_queued_run_never_gets_a_job_even_when_its_turn_comes() -> None:
    queued = execution(
        QUEUED,
        trigger="Manual",
        phase="Pending",
        reason="Queued",
        queued=True,
        created=at("09:30"),
        annotations=cancel(),
    )
    done = job(RUN, start_time=STARTED, complete=True, finished_at=at("10:10"), succeeded=1)
    p = run(rjob(policy="Queue"), [running(), queued], jobs(done))
    assert p.starts == ()
    assert [(i.execution, i.status.message) for i in p.interrupts] == [
        (QUEUED, "cancelled by alice before it started")
    ]
    # The next pass: it ended Interrupted, without a Job; nothing starts it.
    ended = execution(
        QUEUED,
        trigger="Manual",
        phase="Interrupted",
        reason="Cancelled",
        queued=True,
        created=at("09:30"),
        completion_time=NOW,
        annotations=cancel(),
    )
    again = run(rjob(policy="Queue"), [ended])
    assert (again.starts, again.creates, again.interrupts, again.job_deletes) == ((), (), (), ())


def test_cancelling_the_active_run_lets_the_queued_one_start_in_the_same_pass() -> None:
    queued = execution(
        QUEUED,
        trigger="Manual",
        phase="Pending",
        reason="Queued",
        queued=True,
        created=at("09:30"),
    )
    p = run(rjob(policy="Queue"), [running(cancel()), queued], jobs(RUNNING_JOB))
    assert [i.execution for i in p.interrupts] == [RUN]
    assert p.starts == (QUEUED,)
    assert events(p) == [("Normal", "RunCancelled"), ("Normal", "RunStarted")]


def test_a_cancelled_run_is_not_also_replaced() -> None:
    p = run(rjob(policy="Replace", token=TOKEN), [running(cancel())], jobs(RUNNING_JOB))
    assert [(i.execution, i.status.reason) for i in p.interrupts] == [(RUN, RunReason.CANCELLED)]
    assert [c.name for c in p.creates] == [manual(TOKEN)]


def test_forbid_lets_a_new_run_in_once_the_active_one_is_cancelled() -> None:
    p = run(rjob(policy="Forbid", token=TOKEN), [running(cancel())], jobs(RUNNING_JOB))
    assert [c.name for c in p.creates] == [manual(TOKEN)]
    assert p.status.last_skipped is None


def test_a_cancelled_run_does_not_also_stall() -> None:
    reporting = {"reporting": {"enabled": True, "heartbeatSeconds": 60}}
    late = running(cancel(), status_extra={"report": {"updatedAt": NOW - timedelta(seconds=600)}})
    p = plan(rjob(extra=reporting), [late], jobs(RUNNING_JOB), NOW, reports=True)
    assert [i.status.reason for i in p.interrupts] == [RunReason.CANCELLED]
    assert p.stalled == 0


def test_the_cancel_of_an_execution_being_deleted_is_ignored() -> None:
    e = execution(RUN, phase="Running", job_name=RUN, annotations=cancel(), deleting=True)
    p = run(rjob(), [e], jobs(RUNNING_JOB))
    assert p.interrupts == ()


# 6. Reap: a run that ended Interrupted keeps no Job ---------------------------------------------


def interrupted(reason: str = "Cancelled") -> ExecutionState:
    return execution(
        RUN,
        phase="Interrupted",
        job_name=RUN,
        reason=reason,
        completion_time=at("10:00"),
        annotations=cancel() if reason == "Cancelled" else None,
    )


REAPED = [
    ("cancelled, its Job still there", interrupted(), [RUNNING_JOB], (RUN,)),
    ("replaced, its Job still there", interrupted("Replaced"), [RUNNING_JOB], (RUN,)),
    (
        "stalled, its finished Job still there",
        interrupted("Stalled"),
        [job(RUN, start_time=STARTED, complete=True, finished_at=at("10:01"))],
        (RUN,),
    ),
    (
        "cancelled, its Job being deleted",
        interrupted(),
        [job(RUN, start_time=STARTED, active=1, deleting=True)],
        (),
    ),
    ("cancelled, its Job gone", interrupted(), [], ()),
    (
        "succeeded: a finished run keeps its Job",
        execution(RUN, phase="Succeeded", job_name=RUN, completion_time=at("10:00")),
        [job(RUN, start_time=STARTED, complete=True, finished_at=at("10:00"))],
        (),
    ),
    ("running: not reaped", running(), [RUNNING_JOB], ()),
]


@pytest.mark.parametrize(("case", "e", "world", "want"), cases(REAPED))
def test_reap(case: str, e: ExecutionState, world: list[JobState], want: tuple[str, ...]) -> None:
    p = run(rjob(), [e], jobs(*world))
    assert p.job_deletes == want, case
    assert p.interrupts == (), case
    assert p.events == (), case


def test_reap_then_the_job_is_being_deleted_no_second_delete() -> None:
    first = run(rjob(), [interrupted()], jobs(RUNNING_JOB))
    assert first.job_deletes == (RUN,)
    deleting = job(RUN, start_time=STARTED, active=1, deleting=True)
    assert run(rjob(), [interrupted()], jobs(deleting)).job_deletes == ()


def test_cancel_then_the_next_pass_reaps_a_job_left_behind() -> None:
    # Pass 1 cancels; the shell wrote the status and stopped before deleting the Job.
    first = run(rjob(), [running(cancel())], jobs(RUNNING_JOB))
    (interrupt,) = first.interrupts
    after = execution(
        RUN,
        phase=interrupt.status.phase.value,
        job_name=RUN,
        reason=interrupt.status.reason,
        message=interrupt.status.message,
        completion_time=interrupt.status.completion_time,
        start_time=STARTED,
        annotations=cancel(),
        status_extra={"cancelledBy": interrupt.status.cancelled_by},
    )
    second = run(rjob(), [after], jobs(RUNNING_JOB))
    assert second.job_deletes == (RUN,)
    assert second.interrupts == ()
    assert second.events == ()


def test_an_invalid_objects_runs_are_still_cancelled() -> None:
    r = rjob(extra={"concurrencyPolicy": "Sometimes"})
    assert r.spec is None  # the spec does not validate
    p = run(r, [running(cancel())], jobs(RUNNING_JOB))
    assert [(i.execution, i.status.reason) for i in p.interrupts] == [(RUN, RunReason.CANCELLED)]


def test_the_cancel_is_written_with_who_cancelled() -> None:
    before = running(cancel("alice"))
    (interrupt,) = run(rjob(), [before], jobs(RUNNING_JOB)).interrupts
    patch = status_patch(before.status, interrupt.status)
    assert {k: patch.get(k) for k in ("phase", "reason", "message", "completionTime")} == {
        "phase": "Interrupted",
        "reason": "Cancelled",
        "message": "cancelled by alice; its Job is deleted",
        "completionTime": "2026-11-22T10:17:30Z",
    }
    assert patch["cancelledBy"] == "alice"


# The skip of a manual run is what `kubectl rerun run --wait` reads (plugin.follow.refusal:
# status.lastSkipped naming the token); a run skipped for its parameters must stay the
# recorded skip when a scheduled run is skipped in the same pass, as a manual run skipped for
# concurrency does (it comes last).
SKIPPED_TOGETHER = [
    (
        "Forbid, a slot due while a run is active",
        rjob(
            schedule=EVERY_MINUTE,
            policy="Forbid",
            status=DUE,
            token=TOKEN,
            annotations=sent(TOKEN, ENV="qa"),
            extra=with_parameters(DEFAULTED),
        ),
        [ACTIVE],
        [ACTIVE_JOB],
    ),
    (
        "Replace, two missed slots: the older superseded",
        rjob(
            schedule=EVERY_MINUTE,
            policy="Replace",
            missed="All",
            status={"lastScheduleTime": at("10:15")},
            token=TOKEN,
            annotations=sent(TOKEN, ENV="qa"),
            extra=with_parameters(DEFAULTED),
        ),
        [],
        [],
    ),
]


@pytest.mark.parametrize(("case", "r", "executions", "world"), cases(SKIPPED_TOGETHER))
def test_an_invalid_manual_run_stays_the_recorded_skip(
    case: str, r: RerunnableJobState, executions: list[ExecutionState], world: list[JobState]
) -> None:
    p = run(r, executions, jobs(*world))
    assert p.creates == () or all(c.trigger != Trigger.MANUAL for c in p.creates), case
    skipped = p.status.last_skipped
    assert skipped is not None, case
    assert (skipped.reason, skipped.token) == (RunReason.INVALID_PARAMETERS, TOKEN), case


def test_concurrency_skips_of_a_slot_and_a_manual_run_record_the_manual_one() -> None:
    # The same pass with good parameters: the manual run's skip is the one recorded.
    r = rjob(
        schedule=EVERY_MINUTE,
        policy="Forbid",
        status=DUE,
        token=TOKEN,
        annotations=sent(TOKEN, ENV="prod"),
        extra=with_parameters(DEFAULTED),
    )
    skipped = run(r, [ACTIVE], jobs(ACTIVE_JOB)).status.last_skipped
    assert skipped is not None
    assert (skipped.reason, skipped.token) == (RunReason.CONCURRENCY_FORBIDDEN, TOKEN)


@pytest.mark.parametrize(
    ("case", "value", "env_value"),
    [
        ("plain", "2026-11-30", "2026-11-30"),
        ("a reference stays literal", "$(HOME)", "$$(HOME)"),
        ("an escape stays literal", "a$$b", "a$$$$b"),
    ],
)
def test_values_reach_the_container_as_sent(case: str, value: str, env_value: str) -> None:
    pod = {"containers": [{"name": "main", "image": "busybox"}]}
    r = rjob(extra={"jobTemplate": template_with(pod)})
    got = env_of(run_job(r, execution(manual(TOKEN), trigger="Manual", parameters={"V": value})))
    assert got["main"] == [{"name": "V", "value": env_value}], case
