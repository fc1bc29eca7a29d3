"""Leader election (rerunnable.controller.leader) against a fake Lease API that fails in every way.

The scenarios run on a virtual-time event loop (looptime): when every task
waits, time jumps to the next timer, so a 60-second outage takes
milliseconds, and "when" is exact and repeatable. Times below are loop times.

The fake stores one Lease for all candidates, as the API server does (writes
at a stale resourceVersion lose); each candidate reaches it through its own
`Link`, which can raise any error or hang, like a connection.
"""

import asyncio
import json
import ssl
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import looptime
import pytest

from rerunnable.controller.leader import Election, LeaderElector, decide, describe_error
from rerunnable.controller.metrics import Metrics
from rerunnable.kube.errors import KubeError, from_answer, unavailable
from rerunnable.kube.leases import LeaseRecord

T = TypeVar("T")

ELECTION = Election(
    namespace="ops", name="lease", lease_duration=4, renew_deadline=3.0, retry_period=0.5
)


def run(scenario: Callable[[], Coroutine[Any, Any, T]], *, end: float = 600.0) -> T:
    """Run a scenario on a virtual clock starting at 0; it fails if it would pass `end`."""
    loop = looptime.new_event_loop(start=0.0, end=end)
    try:
        return loop.run_until_complete(scenario())
    finally:
        loop.close()


def now() -> float:
    return asyncio.get_running_loop().time()


def api_error(code: int) -> KubeError:
    return from_answer(code, json.dumps({"kind": "Status", "code": code, "message": "no"}))


class Server:
    """One stored Lease, with resourceVersions, as the API server keeps it."""

    def __init__(self) -> None:
        self.lease: LeaseRecord | None = None
        self.writes: list[tuple[float, str | None]] = []  # (time, holder)
        self._version = 0

    async def read(self) -> LeaseRecord | None:
        return self.lease

    async def write(self, record: LeaseRecord) -> bool:
        current = self.lease.version if self.lease is not None else None
        if record.version != current:
            return False
        self._version += 1
        self.lease = replace(record, version=str(self._version))
        self.writes.append((now(), record.holder))
        return True


@dataclass
class Link:
    """One candidate's way to the server: healthy, raising `error`, or hanging."""

    server: Server
    error: BaseException | None = None
    hang: bool = False
    calls: int = 0

    async def _through(self) -> None:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        if self.error is not None:
            raise self.error

    async def read(self) -> LeaseRecord | None:
        await self._through()
        return await self.server.read()

    async def write(self, record: LeaseRecord) -> bool:
        await self._through()
        return await self.server.write(record)


@dataclass
class Candidate:
    name: str
    link: Link
    metrics: Metrics = field(default_factory=Metrics)
    started_at: float | None = None
    lost_at: float | None = None
    elector: LeaderElector = field(init=False)
    task: "asyncio.Task[None] | None" = None

    def __post_init__(self) -> None:
        self.elector = LeaderElector(
            self.link, replace(ELECTION, identity=self.name), metrics=self.metrics
        )

    def start(self) -> None:
        self.task = asyncio.create_task(self.elector.run(self._started, self._lost))

    async def _started(self) -> None:
        self.started_at = now()

    def _lost(self) -> None:
        self.lost_at = now()

    def failures(self, error: str) -> float:
        value = self.metrics.registry.get_sample_value(
            "rerunnable_lease_attempt_failures_total", {"error": error}
        )
        return value or 0.0

    def leader_gauge(self) -> float | None:
        return self.metrics.registry.get_sample_value("rerunnable_leader")


async def until(probe: Callable[[], object], *, within: float) -> float:
    """Wait on the virtual clock until `probe()` is true; return the time it became so."""
    deadline = now() + within
    while not probe():
        assert now() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
    return now()


async def stop(*candidates: Candidate) -> None:
    for c in candidates:
        if c.task is not None:
            c.task.cancel()
    await asyncio.gather(*(c.task for c in candidates if c.task), return_exceptions=True)


def cases(rows: Iterable[tuple[Any, ...]]) -> list[Any]:
    return [pytest.param(*row, id=row[0]) for row in rows]


ERRORS = cases(
    [
        (
            "connection refused",
            ConnectionRefusedError(111, "Connection refused"),
            "ConnectionRefusedError",
        ),
        (
            "connection reset",
            ConnectionResetError(104, "Connection reset by peer"),
            "ConnectionResetError",
        ),
        (
            "refused, as the transport says it",
            unavailable(ConnectionRefusedError(111, "Connect call failed")),
            "ConnectionRefusedError",
        ),
        ("timeout, as the transport says it", unavailable(TimeoutError()), "TimeoutError"),
        ("TLS error", ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER]"), "SSLError"),
        ("timeout", TimeoutError(), "Timeout"),
        ("500", api_error(500), "HTTP 500"),
        ("503 while etcd is away", api_error(503), "HTTP 503"),
        ("429 too many requests", api_error(429), "HTTP 429"),
        ("403 while RBAC warms up", api_error(403), "HTTP 403"),
        ("anything else", RuntimeError("boom"), "RuntimeError"),
    ]
)


# -- the pure decision -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "record", "observed_at", "at", "expected"),
    cases(
        [
            ("no lease yet", None, 0.0, 0.0, "acquire"),
            ("released lease", LeaseRecord(None, 1), 0.0, 0.0, "acquire"),
            ("mine", LeaseRecord("me", 4), 0.0, 100.0, "renew"),
            ("other's, fresh", LeaseRecord("you", 4), 10.0, 13.9, "wait"),
            ("other's, expired exactly", LeaseRecord("you", 4), 10.0, 14.0, "acquire"),
            ("other's, long expired", LeaseRecord("you", 4), 10.0, 60.0, "acquire"),
        ]
    ),
)
def test_decide(
    name: str, record: LeaseRecord | None, observed_at: float, at: float, expected: str
) -> None:
    assert decide(record, "me", observed_at, at) == expected


@pytest.mark.parametrize(
    ("name", "timings"),
    cases(
        [
            ("deadline not below duration", (4, 4.0, 1.0)),
            ("retry not below deadline", (15, 2.0, 2.0)),
            ("zero retry", (15, 10.0, 0.0)),
        ]
    ),
)
def test_election_refuses_timings_that_allow_two_leaders(
    name: str, timings: tuple[int, float, float]
) -> None:
    duration, deadline, retry = timings
    with pytest.raises(ValueError, match="retry period < renew deadline < lease duration"):
        Election("ops", lease_duration=duration, renew_deadline=deadline, retry_period=retry)


def test_describe_error_names_the_status_code_or_the_type() -> None:
    assert describe_error(api_error(503)) == "HTTP 503"
    assert describe_error(TimeoutError()) == "Timeout"
    assert describe_error(ConnectionResetError()) == "ConnectionResetError"


# -- campaigning -------------------------------------------------------------------------------


def test_a_free_lease_is_taken_at_once_and_renewed() -> None:
    async def scenario() -> None:
        server = Server()
        a = Candidate("a", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        await asyncio.sleep(10)
        assert a.lost_at is None
        assert a.leader_gauge() == 1
        assert server.lease is not None
        assert server.lease.holder == "a"
        assert len(server.writes) >= 10, "renewed every retry period"
        await stop(a)

    run(scenario)


@pytest.mark.parametrize(("name", "error", "label"), ERRORS)
def test_a_standby_keeps_campaigning_through_any_error_and_takes_an_expired_lease(
    name: str, error: BaseException, label: str
) -> None:
    async def scenario() -> None:
        server = Server()
        server.lease = LeaseRecord("gone", 4, version="7")  # its holder dies in the outage
        b = Candidate("b", Link(server))
        b.start()
        await asyncio.sleep(1)  # the standby sees the lease held
        b.link.error = error
        await asyncio.sleep(60)  # a one-minute outage
        assert b.task is not None
        assert not b.task.done(), "the election never dies of an error"
        assert b.started_at is None
        assert b.failures(label) >= 60 / (ELECTION.retry_period + 0.1)
        b.link.error = None
        took = await until(lambda: b.started_at is not None, within=10)
        # The record did not change during the outage: it expired long ago.
        assert took <= 61 + ELECTION.retry_period
        assert server.lease is not None
        assert server.lease.holder == "b"
        assert server.lease.transitions == 1
        await stop(b)

    run(scenario)


def test_a_standby_whose_requests_hang_gives_each_attempt_half_the_renew_deadline() -> None:
    async def scenario() -> None:
        server = Server()
        b = Candidate("b", Link(server, hang=True))
        b.start()
        await asyncio.sleep(30)
        per_attempt = ELECTION.attempt_timeout + ELECTION.retry_period
        assert b.failures("Timeout") == pytest.approx(30 / per_attempt, abs=1)
        b.link.hang = False
        await until(lambda: b.started_at is not None, within=5)
        await stop(b)

    run(scenario)


# -- losing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "error", "label"), ERRORS)
def test_a_leader_that_cannot_renew_stops_at_its_renew_deadline(
    name: str, error: BaseException, label: str
) -> None:
    async def scenario() -> None:
        server = Server()
        a = Candidate("a", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        await asyncio.sleep(5)
        last_renewal = server.writes[-1][0]
        a.link.error = error
        await until(lambda: a.lost_at is not None, within=10)
        assert a.lost_at is not None
        # The deadline counts from the start of the last successful attempt.
        assert last_renewal < a.lost_at <= last_renewal + ELECTION.renew_deadline
        assert a.failures(label) >= 1
        assert a.leader_gauge() == 0
        assert a.task is not None
        await asyncio.wait_for(a.task, timeout=ELECTION.retry_period + 1)
        assert not a.elector.leading

    run(scenario)


def test_a_hung_connection_cannot_keep_a_leader_alive() -> None:
    async def scenario() -> None:
        server = Server()
        a = Candidate("a", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        await asyncio.sleep(2)
        last_renewal = server.writes[-1][0]
        a.link.hang = True
        await until(lambda: a.lost_at is not None, within=10)
        assert a.lost_at == pytest.approx(last_renewal + ELECTION.renew_deadline, abs=0.6)
        assert a.lost_at is not None
        assert a.lost_at <= last_renewal + ELECTION.renew_deadline
        await stop(a)

    run(scenario)


def test_an_outage_shorter_than_the_renew_deadline_keeps_the_leader() -> None:
    async def scenario() -> None:
        server = Server()
        a = Candidate("a", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        a.link.error = ConnectionRefusedError(111, "Connection refused")
        await asyncio.sleep(ELECTION.renew_deadline - 1.0)
        a.link.error = None
        await asyncio.sleep(20)
        assert a.lost_at is None
        assert a.elector.leading
        assert server.lease is not None
        assert server.lease.holder == "a"
        await stop(a)

    run(scenario)


def test_the_standby_takes_over_only_after_the_cut_off_leader_stopped() -> None:
    async def scenario() -> None:
        server = Server()
        a = Candidate("a", Link(server))
        b = Candidate("b", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        b.start()
        await asyncio.sleep(5)
        assert not b.elector.leading
        a.link.hang = True  # a blackholed connection: only the leader is cut off
        await until(lambda: b.started_at is not None, within=30)
        assert a.lost_at is not None
        assert b.started_at is not None
        assert a.lost_at < b.started_at, "never two leaders"
        assert b.started_at - a.lost_at <= ELECTION.lease_duration
        assert server.lease is not None
        assert server.lease.holder == "b"
        await stop(a, b)

    run(scenario)


def test_a_lost_write_race_is_no_error() -> None:
    async def scenario() -> None:
        server = Server()
        a, b = Candidate("a", Link(server)), Candidate("b", Link(server))
        a.start()
        b.start()
        await until(lambda: a.started_at is not None or b.started_at is not None, within=2)
        await asyncio.sleep(10)
        assert (a.started_at is None) != (b.started_at is None), "exactly one leads"
        assert a.lost_at is None
        assert b.lost_at is None
        assert a.failures("RuntimeError") == b.failures("RuntimeError") == 0
        await stop(a, b)

    run(scenario)


# -- releasing ---------------------------------------------------------------------------------


def test_a_clean_stop_hands_the_lease_over_at_once() -> None:
    async def scenario() -> None:
        server = Server()
        a, b = Candidate("a", Link(server)), Candidate("b", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        b.start()
        await asyncio.sleep(2)
        await stop(a)
        await a.elector.release()
        released = now()
        assert server.lease is not None
        assert server.lease.holder is None
        took = await until(lambda: b.started_at is not None, within=5)
        assert took - released <= 1 + ELECTION.retry_period
        assert a.lost_at is None, "a release is no loss"
        await stop(b)

    run(scenario)


def test_a_release_that_fails_is_a_log_line() -> None:
    async def scenario() -> None:
        server = Server()
        a = Candidate("a", Link(server))
        a.start()
        await until(lambda: a.started_at is not None, within=1)
        await stop(a)
        a.link.hang = True
        await a.elector.release()  # bounded, and raises nothing
        assert not a.elector.leading

    run(scenario)
