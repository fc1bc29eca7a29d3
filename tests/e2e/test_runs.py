"""Runs end to end: manual runs, concurrency policies, Executions following their Jobs.

Each test starts the real operator against the real API server and Job
controller, in a namespace of its own. Manual runs obey the concurrency
policy exactly as scheduled ones do, so the policies are tested with tokens
(no waiting for a minute to turn); tests/e2e/test_schedules.py covers slots.
"""

from lightkube import Client
from lightkube.resources.batch_v1 import Job

from tests.e2e.operator import OperatorProcess
from tests.e2e.rjobs import (
    annotate_run,
    condition,
    create_rjob,
    executions,
    get_rjob,
    jobs,
    manual_name,
    patch_spec,
    phases,
    settled_status,
    wait_event,
    wait_phase,
)
from tests.e2e.waiting import wait_until

LONG = "600s"  # a run that stays Running for the whole test


def test_manual_run_creates_one_execution_and_job_per_token(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "maint")

    annotate_run(kube, namespace, "maint", "first")
    first = manual_name("maint", "first")
    wait_phase(kube, namespace, first, "Succeeded")

    execution = executions(kube, namespace)[first]
    assert execution["spec"]["trigger"] == "Manual"
    assert execution["spec"]["token"] == "first"
    assert execution["metadata"]["labels"] == {
        "rerunnable.dev/rerunnable-job": "maint",
        "rerunnable.dev/execution": first,
        "rerunnable.dev/trigger": "Manual",
    }
    job = kube.get(Job, first, namespace=namespace)
    assert job.metadata is not None
    assert job.metadata.ownerReferences is not None
    assert [(o.kind, o.name) for o in job.metadata.ownerReferences] == [("Execution", first)]
    assert job.metadata.labels is not None
    assert job.metadata.labels["rerunnable.dev/execution"] == first
    assert execution["status"]["jobName"] == first
    assert execution["status"]["progress"]["succeeded"] == 1

    # The same token again, and unrelated changes to the object, start nothing.
    annotate_run(kube, namespace, "maint", "first")
    patch_spec(kube, namespace, "maint", {"successfulJobsHistoryLimit": 5})
    wait_until(
        lambda: get_rjob(kube, namespace, "maint")["status"].get("observedGeneration") == 2,
        timeout=30,
        what="the operator to see generation 2",
    )
    assert list(executions(kube, namespace)) == [first]

    annotate_run(kube, namespace, "maint", "second")
    second = manual_name("maint", "second")
    wait_phase(kube, namespace, second, "Succeeded")
    assert sorted(executions(kube, namespace)) == sorted([first, second])
    assert sorted(jobs(kube, namespace)) == sorted([first, second])
    status = settled_status(kube, namespace, "maint")
    assert status["lastRunToken"] == "second"
    assert status["lastResult"] == "Succeeded"
    assert [e["name"] for e in status["recentExecutions"]] == [second, first]


def test_failed_run_reports_the_job_controller_reason(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "flaky", exit_code=2)

    annotate_run(kube, namespace, "flaky", "t1")
    name = manual_name("flaky", "t1")
    wait_phase(kube, namespace, name, "Failed")

    status = executions(kube, namespace)[name]["status"]
    assert status["reason"] == "BackoffLimitExceeded"
    assert status["progress"]["failed"] == 1
    assert status["completionTime"]
    rjob_status = settled_status(kube, namespace, "flaky")
    assert rjob_status["lastResult"] == "Failed"
    assert "lastSuccessfulTime" not in rjob_status or rjob_status["lastSuccessfulTime"] is None
    wait_event(kube, namespace, "flaky", "RunFailed", "Warning")


def test_allow_runs_manual_runs_side_by_side(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "para", duration=LONG, concurrencyPolicy="Allow")
    annotate_run(kube, namespace, "para", "a")
    wait_phase(kube, namespace, manual_name("para", "a"), "Running")

    annotate_run(kube, namespace, "para", "b")
    wait_phase(kube, namespace, manual_name("para", "b"), "Running")

    assert phases(kube, namespace) == {
        manual_name("para", "a"): "Running",
        manual_name("para", "b"): "Running",
    }
    status = settled_status(kube, namespace, "para")
    assert status["activeCount"] == 2


def test_forbid_skips_a_run_while_one_is_active_and_says_so(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "solo", duration=LONG, concurrencyPolicy="Forbid")
    annotate_run(kube, namespace, "solo", "a")
    running = manual_name("solo", "a")
    wait_phase(kube, namespace, running, "Running")

    annotate_run(kube, namespace, "solo", "b")

    skipped = wait_until(
        lambda: (
            (get_rjob(kube, namespace, "solo")["status"].get("lastSkipped") or {}).get("token")
            == "b"
            and get_rjob(kube, namespace, "solo")["status"]["lastSkipped"]
        ),
        timeout=30,
        what="the skipped manual run to be recorded in status",
    )
    assert skipped["reason"] == "ConcurrencyForbidden"
    assert running in skipped["message"]
    assert list(executions(kube, namespace)) == [running]
    assert settled_status(kube, namespace, "solo")["lastRunToken"] == "b"
    warnings = wait_event(kube, namespace, "solo", "RunSkipped")
    assert "'b'" in warnings[0]


def test_replace_interrupts_the_active_run(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "fresh", duration=LONG, concurrencyPolicy="Replace")
    annotate_run(kube, namespace, "fresh", "a")
    old = manual_name("fresh", "a")
    wait_phase(kube, namespace, old, "Running")

    annotate_run(kube, namespace, "fresh", "b")
    new = manual_name("fresh", "b")
    wait_phase(kube, namespace, new, "Running")

    wait_phase(kube, namespace, old, "Interrupted")
    status = executions(kube, namespace)[old]["status"]
    assert status["reason"] == "Replaced"
    assert new in status["message"]
    wait_until(
        lambda: old not in jobs(kube, namespace),
        timeout=30,
        what=f"the replaced run's Job {old} to be deleted",
    )
    assert settled_status(kube, namespace, "fresh")["active"] == [new]


def test_queue_holds_one_run_and_starts_it_when_the_active_one_ends(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "line", duration="4s", concurrencyPolicy="Queue")
    annotate_run(kube, namespace, "line", "a")
    first = manual_name("line", "a")
    wait_phase(kube, namespace, first, "Running")

    annotate_run(kube, namespace, "line", "b")
    queued = manual_name("line", "b")
    # Its status is written just after it is created (the API server ignores status on create).
    wait_until(
        lambda: phases(kube, namespace).get(queued) is not None,
        timeout=30,
        what="the queued Execution and its phase",
    )
    if phases(kube, namespace)[first] == "Running":
        # While the first run is active the queued one waits without a Job.
        assert phases(kube, namespace)[queued] == "Pending"
        assert queued not in jobs(kube, namespace)

    annotate_run(kube, namespace, "line", "c")
    wait_until(
        lambda: (
            (get_rjob(kube, namespace, "line")["status"].get("lastSkipped") or {}).get("token")
            == "c"
        ),
        timeout=30,
        what="the third run to be skipped",
    )
    assert get_rjob(kube, namespace, "line")["status"]["lastSkipped"]["reason"] == "QueueFull"

    wait_phase(kube, namespace, first, "Succeeded")
    wait_phase(kube, namespace, queued, "Succeeded")
    assert sorted(executions(kube, namespace)) == sorted([first, queued])
    first_done = executions(kube, namespace)[first]["status"]["completionTime"]
    queued_started = executions(kube, namespace)[queued]["status"]["startTime"]
    assert queued_started >= first_done


def test_deleting_a_running_job_ends_its_execution_interrupted(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "victim", duration=LONG)
    annotate_run(kube, namespace, "victim", "a")
    name = manual_name("victim", "a")
    wait_phase(kube, namespace, name, "Running")

    kube.delete(Job, name, namespace=namespace)

    wait_phase(kube, namespace, name, "Interrupted")
    status = executions(kube, namespace)[name]["status"]
    assert status["reason"] == "JobDeleted"
    assert status["completionTime"]
    assert settled_status(kube, namespace, "victim")["activeCount"] == 0


def test_history_limits_prune_the_oldest_finished_executions_and_their_jobs(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(
        kube,
        namespace,
        "keep",
        successfulJobsHistoryLimit=2,
        failedJobsHistoryLimit=1,
    )
    tokens = ["s1", "s2", "s3"]
    for token in tokens:
        annotate_run(kube, namespace, "keep", token)
        wait_phase(kube, namespace, manual_name("keep", token), "Succeeded")

    wait_until(
        lambda: manual_name("keep", "s1") not in executions(kube, namespace),
        timeout=30,
        what="the oldest success to be pruned",
    )
    kept = {manual_name("keep", t) for t in ("s2", "s3")}
    assert set(executions(kube, namespace)) == kept
    wait_until(
        lambda: set(jobs(kube, namespace)) == kept,
        timeout=30,
        what=f"only the Jobs of {sorted(kept)} to remain",
    )

    patch_spec(
        kube,
        namespace,
        "keep",
        {
            "jobTemplate": {
                "spec": {
                    "template": {"metadata": {"annotations": {"sim.rerunnable.dev/exit-code": "1"}}}
                }
            }
        },
    )
    for token in ("f1", "f2"):
        annotate_run(kube, namespace, "keep", token)
        wait_phase(kube, namespace, manual_name("keep", token), "Failed")
    wait_until(
        lambda: manual_name("keep", "f1") not in executions(kube, namespace),
        timeout=30,
        what="the older failure to be pruned",
    )
    assert set(executions(kube, namespace)) == kept | {manual_name("keep", "f2")}


def test_a_template_edit_changes_only_later_runs(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "evolve", duration=LONG)
    annotate_run(kube, namespace, "evolve", "before")
    before = manual_name("evolve", "before")
    wait_phase(kube, namespace, before, "Running")

    patch_spec(
        kube,
        namespace,
        "evolve",
        {
            "jobTemplate": {
                "metadata": {"labels": {"release": "v2"}},
                "spec": {
                    "template": {"metadata": {"annotations": {"sim.rerunnable.dev/duration": "1s"}}}
                },
            }
        },
    )
    annotate_run(kube, namespace, "evolve", "after")
    after = manual_name("evolve", "after")
    wait_phase(kube, namespace, after, "Succeeded")

    old_job, new_job = jobs(kube, namespace)[before], jobs(kube, namespace)[after]
    assert old_job.metadata is not None
    assert new_job.metadata is not None
    assert "release" not in (old_job.metadata.labels or {})
    assert (new_job.metadata.labels or {})["release"] == "v2"
    assert old_job.spec is not None
    assert old_job.spec.template.metadata is not None
    assert (old_job.spec.template.metadata.annotations or {})["sim.rerunnable.dev/duration"] == LONG
    assert phases(kube, namespace)[before] == "Running"
    found = executions(kube, namespace)
    assert found[before]["spec"]["templateGeneration"] == 1
    assert found[after]["spec"]["templateGeneration"] == 2


def test_status_conditions_say_ready(
    kube: Client, namespace: str, operator: OperatorProcess
) -> None:
    operator.start()
    create_rjob(kube, namespace, "ok", schedule="0 3 * * *", timeZone="Europe/Berlin")

    ready = wait_until(
        lambda: condition(get_rjob(kube, namespace, "ok"), "Ready"),
        timeout=30,
        what="a Ready condition",
    )
    assert ready["status"] == "True"
    status = get_rjob(kube, namespace, "ok")["status"]
    suspended = condition(get_rjob(kube, namespace, "ok"), "Suspended")
    assert suspended is not None
    assert suspended["status"] == "False"
    assert status["scheduleText"] == "0 3 * * * (Europe/Berlin)"
    # 03:00 in Berlin is 02:00Z in winter.
    assert status["nextScheduleTime"].endswith("T02:00:00Z")
