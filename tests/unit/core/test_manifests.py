"""The Job of a run (rerunnable.core.manifests.build_job).

DESIGN.md §1: every Job carries the three rerunnable.dev labels, every scheduled
Job the scheduled-time annotation (RFC 3339), and it is owned by its Execution.
§2 rule 3: the template is copied into the Job, so later edits (or mutations of
the manifest) never reach it.
"""

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rerunnable.api.v1alpha1 import JobTemplate, Trigger
from rerunnable.core.manifests import build_job, run_labels
from tests.unit.core.builders import TEMPLATE

EXECUTION = "backup-29922377"
EXECUTION_UID = "0b7c6f0e-uid"
RUN_LABELS = {
    "rerunnable.dev/rerunnable-job": "backup",
    "rerunnable.dev/execution": EXECUTION,
    "rerunnable.dev/trigger": "Schedule",
}
SCHEDULED = "rerunnable.dev/scheduled-time"


def template(raw: dict[str, Any] | None = None) -> JobTemplate:
    return JobTemplate.model_validate(copy.deepcopy(raw if raw is not None else dict(TEMPLATE)))


def build(
    tpl: JobTemplate | None = None,
    *,
    trigger: Trigger = Trigger.SCHEDULE,
    scheduled_time: datetime | None = datetime(2026, 11, 22, 10, 17, tzinfo=UTC),
    attempt: int = 1,
) -> dict[str, Any]:
    return build_job(
        template=tpl or template(),
        namespace="team-a",
        rerunnable_job="backup",
        execution=EXECUTION,
        execution_uid=EXECUTION_UID,
        trigger=trigger,
        scheduled_time=scheduled_time,
        attempt=attempt,
    )


def test_manifest_shape() -> None:
    manifest = build()
    assert manifest["apiVersion"] == "batch/v1"
    assert manifest["kind"] == "Job"
    assert manifest["metadata"]["name"] == EXECUTION  # the Job shares the Execution's name
    assert manifest["metadata"]["namespace"] == "team-a"
    assert "generateName" not in manifest["metadata"]


def test_owned_by_its_execution() -> None:
    assert build()["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "rerunnable.dev/v1alpha1",
            "kind": "Execution",
            "name": EXECUTION,
            "uid": EXECUTION_UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]


LABELS = [
    ("scheduled run", Trigger.SCHEDULE, {"team": "storage"}),
    ("manual run", Trigger.MANUAL, {"team": "storage"}),
    ("backfill run", Trigger.BACKFILL, {"team": "storage"}),
    ("template without labels", Trigger.SCHEDULE, None),
    (
        "template label clashing with a run label: the run's wins",
        Trigger.MANUAL,
        {"team": "storage", "rerunnable.dev/trigger": "Schedule"},
    ),
]


@pytest.mark.parametrize(
    ("case", "trigger", "template_labels"), [pytest.param(*row, id=row[0]) for row in LABELS]
)
def test_labels(case: str, trigger: Trigger, template_labels: dict[str, str] | None) -> None:
    raw = copy.deepcopy(dict(TEMPLATE))
    raw["metadata"] = {"labels": template_labels} if template_labels is not None else {}
    manifest = build(template(raw), trigger=trigger)
    want_run = {**RUN_LABELS, "rerunnable.dev/trigger": trigger.value}
    assert run_labels("backup", EXECUTION, trigger) == want_run, case
    expected = {**(template_labels or {}), **want_run}
    assert manifest["metadata"]["labels"] == expected, case
    pod_labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert pod_labels == {"app": "backup", **want_run}, case


ANNOTATIONS = [
    (
        "scheduled run, UTC",
        Trigger.SCHEDULE,
        datetime(2026, 11, 22, 10, 17, tzinfo=UTC),
        "2026-11-22T10:17:00Z",
    ),
    (
        "scheduled run in Europe/Berlin is written in UTC",
        Trigger.SCHEDULE,
        datetime(2026, 11, 22, 3, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        "2026-11-22T02:00:00Z",
    ),
    (
        "scheduled run, fixed offset",
        Trigger.SCHEDULE,
        datetime(2026, 11, 22, 5, 17, tzinfo=timezone(timedelta(hours=-5))),
        "2026-11-22T10:17:00Z",
    ),
    (
        "backfill run carries its slot too",
        Trigger.BACKFILL,
        datetime(2026, 11, 22, 6, 0, tzinfo=UTC),
        "2026-11-22T06:00:00Z",
    ),
    ("manual run has none", Trigger.MANUAL, None, None),
]


@pytest.mark.parametrize(
    ("case", "trigger", "scheduled_time", "expected"),
    [pytest.param(*row, id=row[0]) for row in ANNOTATIONS],
)
def test_scheduled_time_annotation(
    case: str, trigger: Trigger, scheduled_time: datetime | None, expected: str | None
) -> None:
    manifest = build(trigger=trigger, scheduled_time=scheduled_time)
    annotations = manifest["metadata"].get("annotations", {})
    assert annotations.get(SCHEDULED) == expected, case
    if expected is not None:
        assert datetime.fromisoformat(expected) == scheduled_time, case


ATTEMPT = "rerunnable.dev/attempt"


@pytest.mark.parametrize("attempt", [1, 3])
def test_the_job_and_its_pods_carry_the_attempt_number(attempt: int) -> None:
    manifest = build(trigger=Trigger.MANUAL, scheduled_time=None, attempt=attempt)
    assert manifest["metadata"]["annotations"] == {"rerunnable.dev/attempt": str(attempt)}
    pod = manifest["spec"]["template"]["metadata"]["annotations"]
    assert pod["rerunnable.dev/attempt"] == str(attempt)


def test_template_annotations_are_kept() -> None:
    raw = copy.deepcopy(dict(TEMPLATE))
    raw["metadata"] = {"annotations": {"owner": "storage-team"}}
    manifest = build(template(raw))
    assert manifest["metadata"]["annotations"] == {
        "owner": "storage-team",
        SCHEDULED: "2026-11-22T10:17:00Z",
        ATTEMPT: "1",
    }
    manual = build(template(raw), trigger=Trigger.MANUAL, scheduled_time=None)
    assert manual["metadata"]["annotations"] == {"owner": "storage-team", ATTEMPT: "1"}


def test_template_metadata_name_is_ignored() -> None:
    raw = copy.deepcopy(dict(TEMPLATE))
    raw["metadata"] = {"name": "from-kubectl-create-cronjob"}
    assert build(template(raw))["metadata"]["name"] == EXECUTION


def test_spec_is_the_template_spec() -> None:
    tpl = template()
    manifest = build(tpl)
    expected = copy.deepcopy(tpl.spec)
    expected["template"]["metadata"]["labels"] = {"app": "backup", **RUN_LABELS}
    expected["template"]["metadata"]["annotations"] = {ATTEMPT: "1"}
    assert manifest["spec"] == expected


def test_spec_is_deep_copied() -> None:
    tpl = template()
    before = copy.deepcopy(tpl.spec)
    manifest = build(tpl)
    assert tpl.spec == before  # building does not write the run labels into the template
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "evil"
    manifest["spec"]["template"]["metadata"]["labels"]["app"] = "changed"
    manifest["spec"]["backoffLimit"] = 99
    assert tpl.spec == before
    # And a later Job of the same template is untouched by edits of an earlier one.
    later = build(tpl)
    assert later["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox"


def test_pod_template_without_metadata_gets_the_run_labels() -> None:
    raw: dict[str, Any] = {
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}
    }
    tpl = template(raw)
    manifest = build(tpl)
    assert manifest["spec"]["template"]["metadata"] == {
        "labels": RUN_LABELS,
        "annotations": {ATTEMPT: "1"},
    }
    assert manifest["metadata"]["labels"] == RUN_LABELS
    assert "metadata" not in tpl.spec["template"]  # not added to the template itself


def test_pod_template_label_clashing_with_a_run_label() -> None:
    raw = copy.deepcopy(dict(TEMPLATE))
    raw["spec"]["template"]["metadata"]["labels"]["rerunnable.dev/execution"] = "stale"
    pod_labels = build(template(raw))["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["rerunnable.dev/execution"] == EXECUTION
