"""The admission webhooks' decisions: what is refused, and who is stamped as the requester."""

from datetime import UTC, datetime
from typing import Any

import pytest

from rerunnable.api.v1alpha1 import RerunnableJobSpec
from rerunnable.core.admission import canceller_stamp, check_run, check_spec, requester_stamp
from rerunnable.core.parameters import ParameterError
from rerunnable.core.schedule import InvalidSpecError

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TEMPLATE = {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}
RUN, BY, FOR = "rerunnable.dev/run", "rerunnable.dev/requested-by", "rerunnable.dev/requested-run"


def spec(**fields: Any) -> dict[str, Any]:
    return {"jobTemplate": TEMPLATE, **fields}


ACCEPTED = [
    ("manual only", spec()),
    ("every minute", spec(schedule="* * * * *")),
    ("macro in a zone", spec(schedule="@daily", timeZone="Europe/Berlin")),
    ("Jenkins H", spec(schedule="H H * * *")),
    ("29 February fires in leap years", spec(schedule="0 0 29 2 *")),
    ("several schedules", spec(schedules=["0 9 * * 1-5", "0 12 * * 6,0"])),
]


@pytest.mark.parametrize(("case", "raw"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted(case: str, raw: dict[str, Any]) -> None:
    check_spec(raw, namespace="team-a", name="backup", now=NOW)


REFUSED = [
    ("minute out of range", spec(schedule="61 * * * *"), "spec.schedule: ", "61"),
    ("six fields", spec(schedule="0 0 * * * *"), "spec.schedule: ", "5 fields"),
    ("@every is not cron", spec(schedule="@every 5m"), "spec.schedule: ", "@every"),
    ("unknown time zone", spec(schedule="@daily", timeZone="Mars/Olympus"), "spec.timeZone: ", ""),
    ("30 February never fires", spec(schedule="0 0 30 2 *"), "spec.schedule: ", "never fires"),
    (
        "second schedule is bad",
        spec(schedules=["@hourly", "0 0 31 4 *"]),
        "spec.schedules[1]: ",
        "never fires",
    ),
    (
        "unknown policy",
        spec(concurrencyPolicy="Sometimes"),
        "spec.concurrencyPolicy: ",
        "",
    ),
]


@pytest.mark.parametrize(("case", "raw", "field", "detail"), REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_naming_the_field(case: str, raw: dict[str, Any], field: str, detail: str) -> None:
    with pytest.raises(InvalidSpecError) as refused:
        check_spec(raw, namespace="team-a", name="backup", now=NOW)
    assert refused.value.message.startswith(field), (case, refused.value.message)
    assert detail in refused.value.message, (case, refused.value.message)


STAMPS = [
    ("create with a token", None, {RUN: "t1"}, {BY: "alice", FOR: "t1"}),
    ("create without a token", None, {}, {}),
    ("new token", {RUN: "t1"}, {RUN: "t2"}, {BY: "alice", FOR: "t2"}),
    ("first token on an existing object", {}, {RUN: "t1"}, {BY: "alice", FOR: "t1"}),
    ("same token again (another edit)", {RUN: "t1"}, {RUN: "t1", "team": "x"}, {}),
    ("token removed", {RUN: "t1"}, {}, {}),
    ("token emptied", {RUN: "t1"}, {RUN: ""}, {}),
    (
        "a forged requester is overwritten",
        {RUN: "t1"},
        {RUN: "t2", BY: "mallory", FOR: "t2"},
        {BY: "alice", FOR: "t2"},
    ),
]


@pytest.mark.parametrize(("case", "old", "new", "want"), STAMPS, ids=[c[0] for c in STAMPS])
def test_requester_stamp(
    case: str, old: dict[str, str] | None, new: dict[str, str], want: dict[str, str]
) -> None:
    assert requester_stamp(old, new, "alice") == want, case


# Runs with parameters (check_run): refused at `kubectl annotate` as the planner would skip
# them; only a request that asks for a new run is checked.

P, PFOR = "parameters.rerunnable.dev/", "rerunnable.dev/parameters-for"
CANCEL, CANCELLED_BY = "rerunnable.dev/cancel", "rerunnable.dev/cancelled-by"

PARAMETERS = [
    {"name": "ENV", "enum": ["dev", "prod"], "default": "dev"},
    {"name": "TAG", "required": True, "pattern": "^v[0-9]+$"},
]
WITH_PARAMETERS = RerunnableJobSpec.model_validate(spec(parameters=PARAMETERS))
ALL_DEFAULTED = RerunnableJobSpec.model_validate(
    spec(parameters=[{"name": "ENV", "enum": ["dev", "prod"], "default": "dev"}])
)


def run_with(token: str, **values: str) -> dict[str, str]:
    """A run's token and its parameters, as `kubectl rerun run -p` sends them."""
    return {RUN: token, PFOR: token, **{P + name: value for name, value in values.items()}}


RUNS_REFUSED = [
    (
        "new token, value not in the enum",
        {RUN: "t1"},
        run_with("t2", TAG="v1", ENV="qa"),
        ["parameter ENV: 'qa' is not one of dev, prod"],
    ),
    (
        "new token, value not matching the pattern",
        {RUN: "t1"},
        run_with("t2", TAG="1.0"),
        ["parameter TAG: '1.0' does not match the pattern ^v[0-9]+$"],
    ),
    (
        "new token, unknown parameter",
        {},
        run_with("t1", TAG="v1", COLOR="red"),
        ["parameter COLOR: not declared in spec.parameters (declared: ENV, TAG)"],
    ),
    (
        "new token without parameters-for, a required one without default",
        {RUN: "t1"},
        {RUN: "t2"},
        ["parameter TAG: required, and not sent"],
    ),
    (
        "new token, parameters-for naming the old token",
        {RUN: "t1"},
        {**run_with("t1", TAG="v1"), RUN: "t2"},
        ["parameter TAG: required, and not sent"],
    ),
    (
        "create with a token and bad parameters",
        None,
        run_with("t1", ENV="qa"),
        ["parameter ENV: 'qa' is not one of dev, prod", "parameter TAG: required, and not sent"],
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "problems"), RUNS_REFUSED, ids=[c[0] for c in RUNS_REFUSED]
)
def test_check_run_refuses_naming_the_parameter(
    case: str, old: dict[str, str] | None, new: dict[str, str], problems: list[str]
) -> None:
    with pytest.raises(ParameterError) as refused:
        check_run(WITH_PARAMETERS, old, new)
    assert list(refused.value.problems) == problems, case


RUNS_LET_THROUGH = [
    ("new token with good parameters", WITH_PARAMETERS, {RUN: "t1"}, run_with("t2", TAG="v2")),
    (
        "same token again: no new run, bad values not checked",
        WITH_PARAMETERS,
        run_with("t1", TAG="v1"),
        run_with("t1", TAG="bad", COLOR="red"),
    ),
    ("no token", WITH_PARAMETERS, {}, {P + "TAG": "bad", "team": "x"}),
    ("no token on create", WITH_PARAMETERS, None, {}),
    ("token removed", WITH_PARAMETERS, {RUN: "t1"}, {P + "TAG": "bad"}),
    ("token emptied", WITH_PARAMETERS, {RUN: "t1"}, {RUN: "", PFOR: "", P + "TAG": "bad"}),
    (
        "new token without parameters-for, every one defaulted",
        ALL_DEFAULTED,
        {RUN: "t1"},
        {RUN: "t2"},
    ),
    (
        "new token, stale values for the old token are not this run's",
        ALL_DEFAULTED,
        run_with("t1", ENV="prod"),
        {**run_with("t1", ENV="qa", COLOR="red"), RUN: "t2"},
    ),
    (
        "a job that declares none, nothing sent",
        RerunnableJobSpec.model_validate(spec()),
        {RUN: "t1"},
        {RUN: "t2"},
    ),
]


@pytest.mark.parametrize(
    ("case", "s", "old", "new"), RUNS_LET_THROUGH, ids=[c[0] for c in RUNS_LET_THROUGH]
)
def test_check_run_lets_through(
    case: str, s: RerunnableJobSpec, old: dict[str, str] | None, new: dict[str, str]
) -> None:
    check_run(s, old, new)


def test_check_spec_returns_the_spec_it_read_and_checks_its_declarations() -> None:
    checked = check_spec(spec(parameters=PARAMETERS), namespace="team-a", name="backup", now=NOW)
    assert [p.name for p in checked.parameters or []] == ["ENV", "TAG"]
    with pytest.raises(InvalidSpecError) as refused:
        check_spec(
            spec(schedule="@daily", parameters=PARAMETERS), namespace="team-a", name="b", now=NOW
        )
    assert refused.value.message.startswith("spec.parameters: TAG: required without a default")


# Who cancelled a run (canceller_stamp): stamped only by the request that sets the cancel.

CANCEL_STAMPS = [
    ("cancel newly set", {}, {CANCEL: "true"}, {CANCELLED_BY: "alice"}),
    ("cancel set from false", {CANCEL: "false"}, {CANCEL: "true"}, {CANCELLED_BY: "alice"}),
    ("cancel set on create", None, {CANCEL: "true"}, {CANCELLED_BY: "alice"}),
    ("second cancel: already true", {CANCEL: "true"}, {CANCEL: "true"}, {}),
    (
        "another edit after the cancel",
        {CANCEL: "true", CANCELLED_BY: "bob"},
        {CANCEL: "true", CANCELLED_BY: "bob", "team": "x"},
        {},
    ),
    ("no cancel", {}, {"team": "x"}, {}),
    ("no cancel on create", None, {}, {}),
    ("cancel set to false", {}, {CANCEL: "false"}, {}),
    ('cancel is exactly "true"', {}, {CANCEL: "True"}, {}),
    ("cancel removed", {CANCEL: "true"}, {}, {}),
    (
        "a forged canceller in the cancelling request is overwritten",
        {},
        {CANCEL: "true", CANCELLED_BY: "mallory"},
        {CANCELLED_BY: "alice"},
    ),
    (
        "a forged canceller on create is overwritten",
        None,
        {CANCEL: "true", CANCELLED_BY: "mallory"},
        {CANCELLED_BY: "alice"},
    ),
    (
        "a canceller stamped earlier, cancel set again: the new canceller",
        {CANCEL: "false", CANCELLED_BY: "bob"},
        {CANCEL: "true", CANCELLED_BY: "bob"},
        {CANCELLED_BY: "alice"},
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "want"), CANCEL_STAMPS, ids=[c[0] for c in CANCEL_STAMPS]
)
def test_canceller_stamp(
    case: str, old: dict[str, str] | None, new: dict[str, str], want: dict[str, str]
) -> None:
    stamp = canceller_stamp(old, new, "alice")
    assert stamp == want, case
    if want:
        # The webhook's patch goes over what the request sent: the user, not the forgery.
        assert {**new, **stamp}[CANCELLED_BY] == "alice", case


def test_a_canceller_written_after_the_cancel_is_not_the_stamps_to_undo() -> None:
    # canceller_stamp answers only the request that sets the cancel (the chart sends it no
    # other); a later edit of rerunnable.dev/cancelled-by is for the chart's admission policy
    # to refuse (only one's own name).
    old = {CANCEL: "true", CANCELLED_BY: "alice"}
    assert canceller_stamp(old, {CANCEL: "true", CANCELLED_BY: "mallory"}, "mallory") == {}
