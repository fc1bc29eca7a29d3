"""Crash-only (rerunnable.controller.supervisor): a task that ends takes the process with it."""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from rerunnable.controller.supervisor import (
    EXIT_FAILED,
    KOPF_DISCOVERY_LOGGER,
    KOPF_WATCHER_PREFIX,
    Supervisor,
)

T = TypeVar("T")

pytestmark = pytest.mark.timeout(10)


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(asyncio.wait_for(scenario(), timeout=5))


class Exits:
    """Stands in for os._exit: records the code, and lets the scenario wait for it."""

    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = asyncio.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


async def forever() -> None:
    await asyncio.Event().wait()


async def fails() -> None:
    await asyncio.sleep(0)
    raise RuntimeError("the watch broke")


async def returns() -> None:
    await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        pytest.param(
            "raises", fails, "task 'worker' failed: RuntimeError('the watch broke')", id="raises"
        ),
        pytest.param(
            "returns", returns, "task 'worker' ended while the operator runs", id="returns"
        ),
    ],
)
def test_a_task_that_ends_exits_the_process_non_zero_and_fails_the_probe(
    name: str,
    body: Callable[[], Coroutine[Any, Any, None]],
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        supervisor.spawn(forever(), name="elector")
        supervisor.spawn(body(), name="worker")
        await exits.called.wait()
        assert exits.codes == [EXIT_FAILED]
        assert supervisor.failure == reason
        assert not supervisor.healthy
        await supervisor.stop()

    run(scenario)
    if name == "raises":
        assert "the watch broke" in caplog.text
        assert "Traceback" in caplog.text


def test_a_task_cancelled_by_someone_else_is_a_failure() -> None:
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        task = supervisor.spawn(forever(), name="timers")
        await asyncio.sleep(0)
        task.cancel()
        await exits.called.wait()
        assert supervisor.failure == "task 'timers' was cancelled while the operator runs"

    run(scenario)


def test_tasks_that_end_because_the_operator_stops_are_no_failure() -> None:
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        supervisor.spawn(forever(), name="a")
        supervisor.spawn(forever(), name="b")
        await asyncio.sleep(0)
        supervisor.stopping()
        await supervisor.stop()
        assert exits.codes == []
        assert supervisor.healthy
        assert supervisor.is_stopping

    run(scenario)


def test_kopf_watch_streams_are_found_by_name_and_supervised() -> None:
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        gate = asyncio.Event()

        async def stream() -> None:
            await gate.wait()
            raise RuntimeError("watch retries exhausted")

        watcher = asyncio.create_task(stream(), name=f"{KOPF_WATCHER_PREFIX}jobs.v1.batch")
        unrelated = asyncio.create_task(forever(), name="something else")
        supervisor.adopt_named(KOPF_WATCHER_PREFIX)
        assert supervisor.watched == [f"{KOPF_WATCHER_PREFIX}jobs.v1.batch"]
        assert "something else" not in supervisor.watched
        gate.set()
        await exits.called.wait()
        assert supervisor.failure is not None
        assert "watch retries exhausted" in supervisor.failure
        unrelated.cancel()
        await asyncio.gather(watcher, unrelated, return_exceptions=True)
        await supervisor.stop()

    run(scenario)


def test_the_expected_tasks_are_awaited_and_supervised() -> None:
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        waiting = asyncio.create_task(supervisor.await_tasks({"watcher for a@ns"}, within=5))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        watcher = asyncio.create_task(forever(), name="watcher for a@ns")
        await waiting
        assert supervisor.watched == ["watcher for a@ns"]
        assert exits.codes == []
        supervisor.stopping()
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    run(scenario)


def test_a_process_whose_watches_never_start_exits() -> None:
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        await supervisor.await_tasks({"watcher for a@ns"}, within=0.5)
        assert exits.codes == [EXIT_FAILED]
        assert supervisor.failure == "not started within 0.5s: watcher for a@ns"

    run(scenario)


def test_a_process_whose_watches_kopf_could_not_resolve_exits_at_once() -> None:
    # Found by the chaos suite: started while the API server came back, kopf's discovery did
    # not list the resources yet; kopf never looks again, so waiting is for nothing.
    async def scenario() -> None:
        exits = Exits()
        supervisor = Supervisor(exit=exits)
        waiting = asyncio.create_task(supervisor.await_tasks({"watcher for a@ns"}, within=60))
        await asyncio.sleep(0.1)
        logging.getLogger(KOPF_DISCOVERY_LOGGER).warning(
            "Unresolved resources cannot be served (try creating their CRDs): %s", "a"
        )
        await waiting
        assert exits.codes == [EXIT_FAILED]
        assert supervisor.failure is not None
        assert supervisor.failure.startswith("kopf will never watch watcher for a@ns")

    run(scenario)
