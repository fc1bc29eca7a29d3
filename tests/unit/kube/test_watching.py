"""kube.transport's watch (against aiohttp's test server) and kube.watching (a fake stream)."""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import pytest
from aiohttp import web

from rerunnable.kube import watching
from rerunnable.kube.config import UserConfig
from rerunnable.kube.errors import GoneError, KubeError, UnavailableError
from rerunnable.kube.resources import EXECUTIONS, Resource
from rerunnable.kube.transport import Transport
from rerunnable.kube.watching import Watched
from tests.unit.kube.test_transport import serve

Body = dict[str, Any]


def obj(name: str, version: str, phase: str = "") -> Body:
    return {"metadata": {"name": name, "resourceVersion": version}, "status": {"phase": phase}}


def line(kind: str, body: Mapping[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": body}).encode() + b"\n"


# -- Transport.watch ----------------------------------------------------------------------------


def test_a_watch_streams_events_split_anywhere_and_its_error_event_is_raised() -> None:
    asked: list[dict[str, str]] = []
    told: list[tuple[str, str, int]] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        asked.append(dict(request.query))
        response = web.StreamResponse()
        await response.prepare(request)
        data = line("ADDED", obj("x", "6", "Pending")) + line("MODIFIED", obj("x", "7", "Running"))
        for piece in (data[:10], data[10:70], data[70:]):  # lines cut across chunks
            await response.write(piece)
        await response.write(line("BOOKMARK", {"metadata": {"resourceVersion": "9"}}))
        gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
        await response.write(line("ERROR", gone))
        return response

    seen: list[tuple[str, Body]] = []

    async def scenario(t: Transport) -> None:
        async for event in t.watch(
            EXECUTIONS, "ns", resource_version="5", fields="metadata.name=x"
        ):
            seen.append(event)

    def answered(method: str, path: str, status: int) -> None:
        told.append((method, path, status))

    with pytest.raises(GoneError, match="too old"):
        serve([web.get(EXECUTIONS.path("ns"), stream)], scenario, UserConfig(token="t"), answered)
    assert [(kind, body["metadata"]["resourceVersion"]) for kind, body in seen] == [
        ("ADDED", "6"),
        ("MODIFIED", "7"),
        ("BOOKMARK", "9"),
    ]
    assert seen[1][1]["kind"] == "Execution"
    assert asked == [
        {
            "watch": "true",
            "resourceVersion": "5",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
            "fieldSelector": "metadata.name=x",
        }
    ]
    assert told == [("WATCH", EXECUTIONS.path("ns"), 200)]


def test_a_watch_ends_when_the_server_ends_it_and_a_refusal_is_its_error() -> None:
    async def ended(request: web.Request) -> web.StreamResponse:
        if request.query["resourceVersion"] == "1":
            status = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no watch"}
            return web.json_response(status, status=403)
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(line("DELETED", obj("x", "8")))
        return response

    async def scenario(t: Transport) -> list[str]:
        kinds = [kind async for kind, _ in t.watch(EXECUTIONS, "ns", resource_version="7")]
        with pytest.raises(KubeError, match="no watch") as refused:
            async for _ in t.watch(EXECUTIONS, "ns", resource_version="1"):
                pass
        assert refused.value.code == 403
        return kinds

    assert serve([web.get(EXECUTIONS.path("ns"), ended)], scenario, UserConfig(token="t")) == [
        "DELETED"
    ]


# -- Watched ------------------------------------------------------------------------------------


class FakeStreams:
    """Lists and watch streams from scripts; once the streams run out, a watch waits forever
    and `idle` is set."""

    def __init__(self, lists: list[Body | Exception], streams: list[list[Any]]) -> None:
        self.lists = lists
        self.streams = streams
        self.listed: list[Mapping[str, str] | None] = []
        self.watched_from: list[str] = []
        self.idle = asyncio.Event()

    async def request(
        self, method: str, path: str, body: Any = None, *, params: Mapping[str, str] | None = None
    ) -> Body:
        assert (method, path) == ("GET", EXECUTIONS.path("ns"))
        self.listed.append(params)
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def watch(
        self,
        resource: Resource,
        namespace: str | None,
        *,
        resource_version: str,
        fields: str | None = None,
        labels: str | None = None,
        seconds: int = 300,
    ) -> AsyncIterator[tuple[str, Body]]:
        assert (resource, namespace, fields) == (EXECUTIONS, "ns", "metadata.name=x")
        self.watched_from.append(resource_version)
        if not self.streams:
            self.idle.set()
            await asyncio.Event().wait()
        for item in self.streams.pop(0):
            if isinstance(item, Exception):
                raise item
            yield item


def listed(version: str, *items: Body) -> Body:
    return {"items": list(items), "metadata": {"resourceVersion": version}}


def follow(fake: FakeStreams) -> tuple[Watched, list[dict[str, Body]]]:
    """Start a Watched on `fake`, run until its streams are used up; what it held at each
    change after the first read."""
    states: list[dict[str, Body]] = []
    watched: Watched

    def changed() -> None:
        states.append(dict(watched.objects))

    async def main() -> None:
        await watched.start()
        await fake.idle.wait()
        await watched.stop()

    watched = Watched(cast(Transport, fake), EXECUTIONS, "ns", "metadata.name=x", changed=changed)
    asyncio.run(main())
    return watched, states


def phases(states: list[dict[str, Body]]) -> list[str | None]:
    return [s["x"]["status"]["phase"] if "x" in s else None for s in states]


def test_events_after_the_first_read_and_a_new_watch_from_the_last_version_when_one_ends() -> None:
    fake = FakeStreams(
        [listed("5")],
        [
            [("ADDED", obj("x", "6", "Pending")), ("MODIFIED", obj("x", "7", "Running"))],
            [("BOOKMARK", {"metadata": {"resourceVersion": "9"}})],  # then the server ends it
            [("MODIFIED", obj("x", "10", "Succeeded")), ("DELETED", obj("x", "11"))],
        ],
    )
    watched, states = follow(fake)
    assert phases(states) == ["Pending", "Running", "Succeeded", None]
    assert fake.watched_from == ["5", "7", "9", "11"]
    assert fake.listed == [{"fieldSelector": "metadata.name=x"}]
    assert (watched.lists, watched.failure) == (1, None)


def test_410_gone_lists_again_then_watches_from_the_new_list() -> None:
    gone = GoneError(410, "Expired", "too old resource version: 5 (42)")
    fake = FakeStreams(
        [listed("5"), listed("42", obj("x", "40", "Running"))],
        [[("ADDED", obj("x", "6", "Pending")), gone], [("MODIFIED", obj("x", "43", "Failed"))]],
    )
    watched, states = follow(fake)
    assert phases(states) == ["Pending", "Running", "Failed"]
    assert fake.watched_from == ["5", "42", "43"]
    assert watched.lists == 2


def test_an_unavailable_api_server_is_a_failure_until_a_list_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(watching, "RETRY", (0.0,))
    lost = UnavailableError(0, "Unavailable", "ClientPayloadError: connection reset")
    down = UnavailableError(503, "ServiceUnavailable", "etcd is away")
    fake = FakeStreams([listed("5"), down, listed("8", obj("x", "8", "Running"))], [[lost]])
    failures: list[KubeError | None] = []
    watched: Watched

    def changed() -> None:
        failures.append(watched.failure)

    async def main() -> None:
        await watched.start()
        await fake.idle.wait()
        await watched.stop()

    watched = Watched(cast(Transport, fake), EXECUTIONS, "ns", "metadata.name=x", changed=changed)
    asyncio.run(main())
    assert failures == [lost, down, None]
    assert fake.watched_from == ["5", "8"]
    assert watched.objects["x"]["status"]["phase"] == "Running"


def test_another_error_ends_the_watch_and_stays() -> None:
    forbidden = KubeError(403, "Forbidden", 'cannot watch resource "executions"')
    fake = FakeStreams([listed("5")], [[forbidden]])

    async def main() -> Watched:
        watched = Watched(cast(Transport, fake), EXECUTIONS, "ns", "metadata.name=x")
        await watched.start()
        assert watched._task is not None
        await watched._task  # it ends by itself
        return watched

    assert asyncio.run(main()).failure is forbidden
    assert fake.watched_from == ["5"]


def test_an_answer_that_is_not_a_watch_ends_it_with_a_failure() -> None:
    fake = FakeStreams([listed("5")], [[("MODIFIED", {"metadata": {}})]])  # no name

    async def main() -> Watched:
        watched = Watched(cast(Transport, fake), EXECUTIONS, "ns", "metadata.name=x")
        await watched.start()
        assert watched._task is not None
        await watched._task
        return watched

    failure = asyncio.run(main()).failure
    assert failure is not None
    assert failure.reason == "KeyError"
