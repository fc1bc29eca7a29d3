"""Events wait for an API server that is away, and give up on one that refuses them."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from rerunnable.kube import events
from rerunnable.kube.errors import AlreadyExistsError, InvalidError, UnavailableError

REGARDING = {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "ns", "name": "x", "uid": "u"}
NOW = datetime(2026, 12, 2, tzinfo=UTC)


class FlakyTransport:
    """Answers each POST with the next of `answers` (an exception to raise, or None)."""

    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.posted: list[dict[str, Any]] = []

    async def request(self, method: str, path: str, body: Any = None, **_: Any) -> Any:
        self.posted.append(body)
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        return body


def post_and_wait(transport: FlakyTransport) -> None:
    async def main() -> None:
        recorder = events.EventRecorder(transport, instance="me")  # type: ignore[arg-type]
        recorder.post(REGARDING, "Warning", "InvalidSchedule", "bad", NOW)
        await recorder.flush()

    asyncio.run(main())


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RETRY_DELAYS", (0.0, 0.0, 0.0))


def test_an_event_the_api_server_could_not_take_is_posted_when_it_is_back() -> None:
    away = UnavailableError(0, "Unavailable", "connection refused")
    transport = FlakyTransport(away, away, None)
    post_and_wait(transport)
    assert len(transport.posted) == 3
    assert len({b["metadata"]["name"] for b in transport.posted}) == 1  # one event, not three


def test_a_try_that_got_through_unseen_is_not_posted_twice() -> None:
    away = UnavailableError(0, "Unavailable", "reset")
    transport = FlakyTransport(away, AlreadyExistsError(409, "AlreadyExists", "exists"))
    post_and_wait(transport)
    assert len(transport.posted) == 2


@pytest.mark.parametrize(
    ("answers", "tries"),
    [
        ([InvalidError(422, "Invalid", "no")], 1),
        ([UnavailableError(503, "ServiceUnavailable", "down")] * 10, 4),
    ],
    ids=["refused: once", "away for good: gives up"],
)
def test_an_event_is_given_up(answers: list[Exception], tries: int) -> None:
    transport = FlakyTransport(*answers)
    post_and_wait(transport)
    assert len(transport.posted) == tries
