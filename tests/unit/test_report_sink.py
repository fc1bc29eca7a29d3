"""The report sink (rerunnable.controller.report_sink) against the in-memory API server.

Virtual time (looptime): "at most one write a second" is counted, not waited for.
"""

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import looptime
import pytest

from rerunnable.api.names import EXECUTION_KIND, RERUNNABLE_JOB_KIND
from rerunnable.api.v1alpha1 import StepPhase
from rerunnable.controller.index import Indexes, entry
from rerunnable.controller.kinds import Kind
from rerunnable.controller.metrics import Metrics
from rerunnable.controller.report_auth import ReportRefusedError
from rerunnable.controller.report_sink import RATE, ReportSink
from rerunnable.core.reports import Report, StepReport
from rerunnable.kube.errors import UnavailableError
from tests.unit.fakes import FakeKube

T = TypeVar("T")
NS, RJOB, RUN = "team-a", "etl", "etl-m1"
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    loop = looptime.new_event_loop(start=0.0, end=600.0)
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


class World:
    def __init__(self, *, phase: str = "Running", steps: list[str] | None = None) -> None:
        self.kube = FakeKube(clock=lambda: NOW)
        self.indexes = Indexes()
        self.metrics = Metrics()
        rjob = self.kube.seed(
            RERUNNABLE_JOB_KIND,
            {
                "metadata": {"name": RJOB, "namespace": NS, "generation": 1},
                "spec": {
                    "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}},
                    "reporting": {"enabled": True},
                    **({"steps": [{"name": n} for n in steps]} if steps else {}),
                },
            },
        )
        self.index(Kind.RERUNNABLE_JOB, rjob)
        execution = self.kube.seed(
            EXECUTION_KIND,
            {
                "metadata": {"name": RUN, "namespace": NS},
                "spec": {"rerunnableJob": RJOB, "trigger": "Manual", "templateGeneration": 1},
                "status": {"phase": phase, "jobName": RUN},
            },
        )
        self.index(Kind.EXECUTION, execution)
        self.sink = ReportSink(self.kube, self.indexes, self.metrics, clock=lambda: NOW)

    def index(self, kind: Kind, body: dict[str, Any]) -> None:
        key, version = entry(kind, body)
        self.indexes[kind].put(key, version)

    def writes(self) -> list[dict[str, Any]]:
        return [c.sent for c in self.kube.calls if c.verb == "patch_execution_status"]

    def status(self) -> dict[str, Any]:
        found = self.kube.get(EXECUTION_KIND, NS, RUN)
        assert found is not None
        status: dict[str, Any] = found["status"]
        return status


def progress(n: int) -> Report:
    return Report(completed=n, total=100)


def test_the_first_report_is_written_at_once_then_at_most_once_a_second_and_the_last_always() -> (
    None
):
    async def scenario() -> None:
        w = World()
        w.sink.accept(NS, RUN, progress(1))
        await asyncio.sleep(0.01)
        assert len(w.writes()) == 1
        for n in range(2, 8):
            w.sink.accept(NS, RUN, progress(n))
            await asyncio.sleep(0.1)
        assert len(w.writes()) == 1, "nothing more inside the second"
        await asyncio.sleep(1.0)
        assert len(w.writes()) == 2
        assert w.status()["report"]["progress"] == "7/100", "the last accepted value"
        assert w.status()["phase"] == "Running", "only the fields reports own are written"
        assert set(w.writes()[-1]) == {"report", "steps", "result"}

    run(scenario)


def test_a_write_that_meets_another_writer_builds_on_what_that_wrote() -> None:
    async def scenario() -> None:
        w = World(steps=["a", "b"])
        # The leader writes meanwhile (the sink's view is now behind): its change stays.
        w.kube.modify(EXECUTION_KIND, NS, RUN, {"status": {"progress": {"active": 1, "total": 1}}})
        w.sink.accept(NS, RUN, Report(step=StepReport("a", StepPhase.RUNNING)))
        await asyncio.sleep(0.01)
        verbs = [c.verb for c in w.kube.calls]
        assert verbs[-3:] == ["patch_execution_status", "get_execution", "patch_execution_status"]
        status = w.status()
        assert status["progress"] == {"active": 1, "total": 1}
        assert [(s["name"], s["phase"]) for s in status["steps"]] == [
            ("a", "Running"),
            ("b", "Pending"),
        ]

    run(scenario)


def test_reports_wait_for_an_api_server_that_is_away_and_none_is_lost() -> None:
    async def scenario() -> None:
        w = World()
        down = UnavailableError(503, "ServiceUnavailable", "etcd is restarting")
        for _ in range(3):
            w.kube.fail_next("patch_execution_status", down)
        w.sink.accept(NS, RUN, Report(result={"rows": "7"}))
        await asyncio.sleep(0.5)
        w.sink.accept(NS, RUN, progress(3))  # taken while the first still waits
        await asyncio.sleep(30)
        status = w.status()
        assert status["result"] == {"rows": "7"}
        assert status["report"]["completed"] == 3
        assert len(w.writes()) == 4  # three refused, then one with both

    run(scenario)


def test_reports_taken_before_the_run_ended_are_written_after_it() -> None:
    async def scenario() -> None:
        w = World(steps=["a"])
        # The workload reports its result and exits; the run ends before the sink writes.
        w.kube.modify(EXECUTION_KIND, NS, RUN, {"status": {"phase": "Succeeded"}})
        w.sink.accept(NS, RUN, Report(step=StepReport("a", StepPhase.RUNNING), result={"k": "v"}))
        await asyncio.sleep(0.01)
        status = w.status()
        assert status["phase"] == "Succeeded"
        assert status["result"] == {"k": "v"}
        assert [(s["name"], s["phase"]) for s in status["steps"]] == [("a", "Succeeded")]
        found = w.kube.get(EXECUTION_KIND, NS, RUN)
        assert found is not None
        w.index(Kind.EXECUTION, found)  # the watch tells the sink the run ended
        with pytest.raises(ReportRefusedError) as refused:  # and then it takes no more
            w.sink.accept(NS, RUN, progress(9))
        assert refused.value.status == 409

    run(scenario)


@pytest.mark.parametrize(
    ("name", "setup", "report", "status", "message"),
    [
        pytest.param(
            "finished",
            {"phase": "Failed"},
            progress(1),
            409,
            "has finished (Failed)",
            id="finished",
        ),
        pytest.param(
            "undeclared step",
            {"steps": ["a"]},
            Report(step=StepReport("z", StepPhase.RUNNING)),
            400,
            "'z' is not one of the job's steps (a)",
            id="undeclared step",
        ),
    ],
)
def test_a_report_that_cannot_be_taken_is_refused_at_once(
    name: str, setup: dict[str, Any], report: Report, status: int, message: str
) -> None:
    async def scenario() -> None:
        w = World(**setup)
        with pytest.raises(ReportRefusedError) as refused:
            w.sink.accept(NS, RUN, report)
        assert refused.value.status == status
        assert message in refused.value.message
        assert w.writes() == []

    run(scenario)


def test_more_than_twenty_a_second_are_refused_and_the_next_second_is_new() -> None:
    async def scenario() -> None:
        w = World()
        for n in range(RATE):
            w.sink.accept(NS, RUN, progress(n))
        with pytest.raises(ReportRefusedError) as refused:
            w.sink.accept(NS, RUN, progress(99))
        assert refused.value.status == 429
        await asyncio.sleep(1.0)
        w.sink.accept(NS, RUN, progress(21))

    run(scenario)


def test_an_execution_the_operator_does_not_know_is_not_found() -> None:
    async def scenario() -> None:
        w = World()
        with pytest.raises(ReportRefusedError) as refused:
            w.sink.accept(NS, "etl-other", progress(1))
        assert refused.value.status == 404

    run(scenario)
