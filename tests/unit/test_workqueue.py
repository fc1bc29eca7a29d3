"""The work queue (rerunnable.controller.workqueue): client-go's rules, and one heap of timers.

A key is never processed by two workers at once; one added while it is processed
runs exactly once more afterwards; one added many times while it waits runs once;
a failing pass does not stop the worker. Timers: the earliest request for a key
wins, `forget` drops it.

No test sleeps: workers are observed through a recorder whose calls the test awaits,
"everything before this has been processed" is a sentinel key added last (the
queue is FIFO), and the timer loop is driven with an injected clock, one pass at
a time (`Timers.tick`).
"""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any, TypeVar

import pytest

from rerunnable.controller.workqueue import WorkQueue

T = TypeVar("T")
SENTINEL = "sentinel"

# A regression that busy-loops the event loop would defeat `run`'s own timeout.
pytestmark = pytest.mark.timeout(10)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run one test's scenario; a scenario that would hang fails within two seconds instead."""
    return asyncio.run(asyncio.wait_for(main, timeout=2.0))


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    """pytest params whose id is the row's first element, the name of the case."""
    return [pytest.param(*row, id=row[0]) for row in rows]


class Recorder:
    """A `process` function that records its calls; keys in `gates` wait until released."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.active: Counter[str] = Counter()
        self.most_active: Counter[str] = Counter()
        self.most_active_overall = 0
        self.gates: dict[str, asyncio.Event] = {}
        self.failing: dict[str, Exception] = {}
        self._called = asyncio.Event()

    async def process(self, key: str) -> None:
        self.calls.append(key)
        self.active[key] += 1
        self.most_active[key] = max(self.most_active[key], self.active[key])
        self.most_active_overall = max(self.most_active_overall, sum(self.active.values()))
        self._called.set()
        try:
            gate = self.gates.get(key)
            if gate is not None:
                await gate.wait()
            if key in self.failing:
                raise self.failing[key]
        finally:
            self.active[key] -= 1

    def count(self, key: str) -> int:
        return self.calls.count(key)

    async def called(self, key: str, times: int = 1) -> None:
        """Return once `key` has been handed to `process` `times` times in all."""
        while self.count(key) < times:
            self._called.clear()
            await self._called.wait()

    async def drain(self, queue: WorkQueue[str]) -> None:
        """Return once every key queued before this call has been handed to `process`."""
        queue.add(SENTINEL)
        await self.called(SENTINEL, self.count(SENTINEL) + 1)

    def processed(self) -> list[str]:
        return [key for key in self.calls if key != SENTINEL]


@contextlib.asynccontextmanager
async def workers(
    queue: WorkQueue[str], process: Callable[[str], Awaitable[None]], count: int = 1
) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(queue.run_worker(process)) for _ in range(count)]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class FakeClock:
    """A loop clock the test sets; each reading is announced, so a test can await one."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.read = asyncio.Event()

    def __call__(self) -> float:
        self.read.set()
        return self.now


async def tick(queue: WorkQueue[str], clock: FakeClock, now: float) -> None:
    """Set the clock to `now` and let the timer loop make exactly one pass.

    The loop reads the clock, moves every due key to the ready queue and then
    waits; the test resumes only at that wait, so the pass is complete.
    """
    clock.now = now
    clock.read.clear()
    task = asyncio.create_task(queue.run_timers())
    try:
        await clock.read.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


# 1. Coalescing and one worker per key ---------------------------------------------------------


@pytest.mark.parametrize("adds", [1, 2, 50], ids=lambda n: f"added {n}x")
def test_key_added_many_times_while_waiting_is_processed_once(adds: int) -> None:
    async def main() -> None:
        queue: WorkQueue[str] = WorkQueue()
        recorder = Recorder()
        for _ in range(adds):
            queue.add("a")
            queue.add("b")
        assert queue.waiting == 2
        async with workers(queue, recorder.process, count=3):
            await recorder.drain(queue)
        assert sorted(recorder.processed()) == ["a", "b"]
        assert queue.waiting == 0

    run(main())


DURING_PASS = cases(
    [
        ("one worker, added once during the pass", 1, 1),
        ("one worker, added five times during the pass", 1, 5),
        ("four workers, added once during the pass", 4, 1),
        ("four workers, added five times during the pass", 4, 5),
    ]
)


@pytest.mark.parametrize(("case", "worker_count", "adds_during"), DURING_PASS)
def test_key_added_while_processing_runs_once_more_afterwards_never_concurrently(
    case: str, worker_count: int, adds_during: int
) -> None:
    async def main() -> None:
        queue: WorkQueue[str] = WorkQueue()
        recorder = Recorder()
        first_pass = recorder.gates["a"] = asyncio.Event()
        async with workers(queue, recorder.process, count=worker_count):
            queue.add("a")
            await recorder.called("a")
            for _ in range(adds_during):
                queue.add("a")
            if worker_count > 1:
                # Other workers are free, and still none of them may take the key.
                await recorder.drain(queue)
            assert recorder.count("a") == 1
            recorder.gates.pop("a")
            first_pass.set()
            await recorder.called("a", 2)
            await recorder.drain(queue)
        assert recorder.processed() == ["a", "a"]
        assert recorder.most_active["a"] == 1

    run(main())


def test_different_keys_are_processed_in_parallel() -> None:
    # "Never concurrently" is per key: a slow object does not hold up the others.
    async def main() -> None:
        queue: WorkQueue[str] = WorkQueue()
        recorder = Recorder()
        slow = recorder.gates["slow"] = asyncio.Event()
        async with workers(queue, recorder.process, count=2):
            queue.add("slow")
            await recorder.called("slow")
            queue.add("fast")
            await recorder.called("fast")
            assert recorder.active["slow"] == 1  # still in its pass
            slow.set()
            await recorder.drain(queue)
        assert recorder.most_active_overall == 2

    run(main())


FAILURES = cases(
    [
        ("raises at once", False, RuntimeError("boom")),
        ("raises after awaiting", True, KeyError("spec")),
    ]
)


@pytest.mark.parametrize(("case", "awaits", "error"), FAILURES)
def test_failing_process_does_not_kill_the_worker(
    case: str, awaits: bool, error: Exception
) -> None:
    async def main() -> None:
        queue: WorkQueue[str] = WorkQueue()
        recorder = Recorder()
        recorder.failing["bad"] = error
        if awaits:
            gate = recorder.gates["bad"] = asyncio.Event()
            gate.set()
        async with workers(queue, recorder.process, count=1):
            queue.add("bad")
            queue.add("good")
            await recorder.drain(queue)
            # The failed key can be added again and is processed again.
            queue.add("bad")
            await recorder.drain(queue)
        assert recorder.processed() == ["bad", "good", "bad"]

    run(main())


def test_failing_key_added_during_its_pass_runs_once_more() -> None:
    async def main() -> None:
        queue: WorkQueue[str] = WorkQueue()
        recorder = Recorder()
        recorder.failing["bad"] = RuntimeError("boom")
        gate = recorder.gates["bad"] = asyncio.Event()
        async with workers(queue, recorder.process, count=2):
            queue.add("bad")
            await recorder.called("bad")
            queue.add("bad")
            gate.set()
            await recorder.called("bad", 2)
            await recorder.drain(queue)
        assert recorder.processed() == ["bad", "bad"]
        assert recorder.most_active["bad"] == 1

    run(main())


# 2. Timers --------------------------------------------------------------------------------------

# Steps: ("at", key, when) add_at; ("after", key, delay) add_after; ("forget", key);
# ("tick", now, [keys that become ready], number of keys still scheduled).
Step = tuple[Any, ...]

TIMER_CASES = cases(
    [
        (
            "due key becomes ready at its time, not before",
            [("at", "a", 10.0), ("tick", 9.999, [], 1), ("tick", 10.0, ["a"], 0)],
        ),
        (
            "earlier request wins over a pending later one",
            [("at", "a", 20.0), ("at", "a", 10.0), ("tick", 10.0, ["a"], 0)],
        ),
        (
            "the superseded later time does not fire again",
            [("at", "a", 20.0), ("at", "a", 10.0), ("tick", 10.0, ["a"], 0), ("tick", 20.0, [], 0)],
        ),
        (
            "later request for a key with an earlier pending timer is ignored",
            [("at", "a", 10.0), ("at", "a", 20.0), ("tick", 10.0, ["a"], 0), ("tick", 20.0, [], 0)],
        ),
        (
            "a request after the timer fired is a new timer",
            [
                ("at", "a", 10.0),
                ("tick", 10.0, ["a"], 0),
                ("at", "a", 20.0),
                ("tick", 20.0, ["a"], 0),
            ],
        ),
        (
            "forget drops the pending timer",
            [("at", "a", 10.0), ("forget", "a"), ("tick", 30.0, [], 0)],
        ),
        (
            "forget then a new request: only the new time fires",
            [
                ("at", "a", 10.0),
                ("forget", "a"),
                ("at", "a", 30.0),
                ("tick", 10.0, [], 1),
                ("tick", 30.0, ["a"], 0),
            ],
        ),
        (
            "forget leaves other keys alone",
            [("at", "a", 10.0), ("at", "b", 5.0), ("forget", "a"), ("tick", 10.0, ["b"], 0)],
        ),
        (
            "several due keys fire in time order",
            [
                ("at", "c", 3.0),
                ("at", "a", 1.0),
                ("at", "b", 2.0),
                ("at", "d", 9.0),
                ("tick", 5.0, ["a", "b", "c"], 1),
            ],
        ),
        (
            "add_after is relative to the clock",
            [
                ("tick", 100.0, [], 0),
                ("after", "a", 5.0),
                ("tick", 104.5, [], 1),
                ("tick", 105.0, ["a"], 0),
            ],
        ),
        (
            "add_after with a negative delay is due at once",
            [("tick", 100.0, [], 0), ("after", "a", -3.0), ("tick", 100.0, ["a"], 0)],
        ),
        (
            "add_after earlier than a pending add_at wins",
            [
                ("at", "a", 50.0),
                ("after", "a", 10.0),
                ("tick", 10.0, ["a"], 0),
                ("tick", 50.0, [], 0),
            ],
        ),
    ]
)


@pytest.mark.parametrize(("case", "steps"), TIMER_CASES)
def test_timers(case: str, steps: Sequence[Step]) -> None:
    async def main() -> None:
        clock = FakeClock()
        queue: WorkQueue[str] = WorkQueue(clock=clock)
        recorder = Recorder()
        async with workers(queue, recorder.process, count=1):
            for step in steps:
                match step:
                    case ("at", key, when):
                        queue.add_at(key, when)
                    case ("after", key, delay):
                        queue.add_after(key, delay)
                    case ("forget", key):
                        queue.forget(key)
                    case ("tick", now, ready, scheduled):
                        before = len(recorder.processed())
                        await tick(queue, clock, now)
                        assert queue.scheduled == scheduled, step
                        await recorder.drain(queue)
                        assert recorder.processed()[before:] == ready, step
                    case _:
                        raise AssertionError(f"unknown step {step}")

    run(main())


def test_due_key_already_waiting_is_not_queued_twice() -> None:
    async def main() -> None:
        clock = FakeClock()
        queue: WorkQueue[str] = WorkQueue(clock=clock)
        recorder = Recorder()
        queue.add("a")
        queue.add_at("a", 1.0)
        await tick(queue, clock, 1.0)
        assert queue.waiting == 1
        async with workers(queue, recorder.process, count=2):
            await recorder.drain(queue)
        assert recorder.processed() == ["a"]

    run(main())


def test_running_timer_loop_wakes_for_a_timer_added_later() -> None:
    # The loop waits with no timer at all; a new due timer must wake it (no polling).
    async def main() -> None:
        clock = FakeClock(now=50.0)
        queue: WorkQueue[str] = WorkQueue(clock=clock)
        recorder = Recorder()
        timers = asyncio.create_task(queue.run_timers())
        try:
            async with workers(queue, recorder.process, count=1):
                await clock.read.wait()  # the loop made its first pass and now waits
                queue.add_at("a", 50.0)
                await recorder.called("a")
        finally:
            timers.cancel()
            await asyncio.gather(timers, return_exceptions=True)
        assert recorder.processed() == ["a"]

    run(main())


def test_timer_fires_by_itself_on_the_loop_clock() -> None:
    # Without an injected clock the loop sleeps until the earliest timer (here 20 ms).
    async def main() -> None:
        queue: WorkQueue[str] = WorkQueue()
        recorder = Recorder()
        timers = asyncio.create_task(queue.run_timers())
        try:
            async with workers(queue, recorder.process, count=1):
                queue.add_after("later", 0.02)
                queue.add_after("sooner", 0.01)
                await recorder.called("later")
        finally:
            timers.cancel()
            await asyncio.gather(timers, return_exceptions=True)
        assert recorder.processed() == ["sooner", "later"]
        assert queue.scheduled == 0

    run(main())


def test_timer_of_a_key_being_processed_runs_it_once_more_afterwards() -> None:
    async def main() -> None:
        clock = FakeClock()
        queue: WorkQueue[str] = WorkQueue(clock=clock)
        recorder = Recorder()
        gate = recorder.gates["a"] = asyncio.Event()
        async with workers(queue, recorder.process, count=2):
            queue.add("a")
            await recorder.called("a")
            queue.add_at("a", 1.0)
            await tick(queue, clock, 1.0)
            recorder.gates.pop("a")
            gate.set()
            await recorder.called("a", 2)
            await recorder.drain(queue)
        assert recorder.processed() == ["a", "a"]
        assert recorder.most_active["a"] == 1

    run(main())
