"""The admission webhooks' decisions: what is refused, and who is stamped as the requester."""

from datetime import UTC, datetime
from typing import Any

import pytest

from rerunnable.core.admission import check_spec, requester_stamp
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
