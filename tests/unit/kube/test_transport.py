"""kube.transport against a small HTTP server of the test's own (aiohttp's test server)."""

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from rerunnable.kube.config import ClusterConfig, UserConfig
from rerunnable.kube.credentials import Credentials
from rerunnable.kube.errors import NotFoundError, UnavailableError
from rerunnable.kube.resources import EXECUTIONS, JOBS
from rerunnable.kube.transport import NO_ANSWER, Answered, Transport

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def serve(
    routes: list[web.RouteDef],
    scenario: Callable[[Transport], Awaitable[Any]],
    user: UserConfig,
    answered: Answered = lambda method, path, status: None,
) -> Any:
    async def main() -> Any:
        app = web.Application()
        app.add_routes(routes)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        cluster = ClusterConfig(server=str(server.make_url("")).rstrip("/"), user=user)
        transport = Transport(cluster, Credentials(cluster), answered=answered)
        try:
            return await scenario(transport)
        finally:
            await transport.close()
            await server.close()

    return asyncio.run(main())


def test_a_refused_credential_is_refreshed_and_the_request_sent_once_more(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("old")
    seen: list[str] = []

    async def get(request: web.Request) -> web.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] != "Bearer rotated":
            token.write_text("rotated")  # the kubelet rotated it meanwhile
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        return web.json_response({"metadata": {"name": "x"}})

    async def scenario(t: Transport) -> Any:
        return await t.request("GET", EXECUTIONS.path("ns", "x"))

    path = EXECUTIONS.path("ns", "x")
    body = serve([web.get(path, get)], scenario, UserConfig(token_file=token))
    assert body == {"metadata": {"name": "x"}}
    assert seen == ["Bearer old", "Bearer rotated"]


def test_a_list_follows_continue_tokens_and_names_each_item() -> None:
    pages = {
        None: {"items": [{"metadata": {"name": "a"}}], "metadata": {"continue": "p2"}},
        "p2": {"items": [{"metadata": {"name": "b"}}], "metadata": {}},
    }
    asked: list[dict[str, str]] = []

    async def get(request: web.Request) -> web.Response:
        asked.append(dict(request.query))
        return web.json_response(pages[request.query.get("continue")])

    async def scenario(t: Transport) -> list[dict[str, Any]]:
        return [item async for item in t.list(JOBS, "ns", labels="a,b", chunk=1)]

    items = serve([web.get(JOBS.path("ns"), get)], scenario, UserConfig(token="t"))
    assert [(i["metadata"]["name"], i["kind"], i["apiVersion"]) for i in items] == [
        ("a", "Job", "batch/v1"),
        ("b", "Job", "batch/v1"),
    ]
    assert asked == [
        {"limit": "1", "labelSelector": "a,b"},
        {"limit": "1", "labelSelector": "a,b", "continue": "p2"},
    ]


def test_an_error_answer_is_raised_as_its_error() -> None:
    async def get(request: web.Request) -> web.Response:
        status = {"kind": "Status", "code": 404, "reason": "NotFound", "message": "not there"}
        return web.json_response(status, status=404)

    async def scenario(t: Transport) -> Any:
        return await t.request("GET", EXECUTIONS.path("ns", "x"))

    with pytest.raises(NotFoundError, match="not there"):
        serve([web.get(EXECUTIONS.path("ns", "x"), get)], scenario, UserConfig(token="t"))


def test_nobody_listening_is_an_unavailable_api_server() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: nothing listens there
    cluster = ClusterConfig(server=f"http://127.0.0.1:{port}", user=UserConfig(token="t"))

    async def scenario() -> None:
        transport = Transport(cluster, Credentials(cluster))
        try:
            await transport.request("GET", "/api/v1/namespaces")
        finally:
            await transport.close()

    with pytest.raises(UnavailableError, match="ClientConnectorError"):
        asyncio.run(scenario())


def test_a_body_is_sent_as_json_with_its_content_type() -> None:
    received: list[tuple[str, Any]] = []

    async def patch(request: web.Request) -> web.Response:
        received.append((request.content_type, json.loads(await request.text())))
        return web.json_response({})

    async def scenario(t: Transport) -> Any:
        path = EXECUTIONS.path("ns", "x", "status")
        return await t.request(
            "PATCH", path, {"status": {}}, content_type="application/merge-patch+json"
        )

    serve([web.patch(EXECUTIONS.path("ns", "x", "status"), patch)], scenario, UserConfig(token="t"))
    assert received == [("application/merge-patch+json", {"status": {}})]


def test_every_answer_is_told_with_its_method_path_and_status(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("old")
    told: list[tuple[str, str, int]] = []

    async def get(request: web.Request) -> web.Response:
        if request.headers["Authorization"] != "Bearer rotated":
            token.write_text("rotated")
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        return web.json_response({"kind": "Status", "code": 404}, status=404)

    async def scenario(t: Transport) -> None:
        with pytest.raises(NotFoundError):
            await t.request("GET", EXECUTIONS.path("ns", "x"))

    path = EXECUTIONS.path("ns", "x")
    serve([web.get(path, get)], scenario, UserConfig(token_file=token), lambda *a: told.append(a))
    assert told == [("GET", path, 401), ("GET", path, 404)]


def test_a_request_nobody_answered_is_told_as_no_answer() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = ClusterConfig(server=f"http://127.0.0.1:{port}", user=UserConfig(token="t"))
    told: list[tuple[str, str, int]] = []

    async def scenario() -> None:
        transport = Transport(cluster, Credentials(cluster), answered=lambda *a: told.append(a))
        try:
            await transport.request("DELETE", JOBS.path("ns", "j"))
        finally:
            await transport.close()

    with pytest.raises(UnavailableError):
        asyncio.run(scenario())
    assert told == [("DELETE", JOBS.path("ns", "j"), NO_ANSWER)]


@pytest.mark.parametrize(
    ("case", "user", "expected"),
    [
        ("no impersonation", UserConfig(token="t"), ([], [])),
        ("a user", UserConfig(token="t", impersonate="jane"), (["jane"], [])),
        (
            "a user and groups, a header each",
            UserConfig(token="t", impersonate="jane", impersonate_groups=("dev", "ops")),
            (["jane"], ["dev", "ops"]),
        ),
    ],
)
def test_impersonation_headers_go_with_every_request(
    case: str, user: UserConfig, expected: tuple[list[str], list[str]]
) -> None:
    seen: list[tuple[str, list[str], list[str], str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(
            (
                request.method,
                request.headers.getall("Impersonate-User", []),
                request.headers.getall("Impersonate-Group", []),
                request.headers["Authorization"],
            )
        )
        if request.method == "GET" and "continue" not in request.query:
            return web.json_response({"items": [{}], "metadata": {"continue": "p2"}})
        return web.json_response({"items": [{}], "metadata": {}})

    async def scenario(t: Transport) -> None:
        await t.request("PATCH", JOBS.path("ns", "j"), {}, content_type="x/y")
        _ = [item async for item in t.list(JOBS, "ns")]  # both pages

    path = JOBS.path("ns")
    serve([web.get(path, record), web.patch(JOBS.path("ns", "j"), record)], scenario, user)
    assert [(m, u, g) for m, u, g, _ in seen] == [("PATCH", *expected), *[("GET", *expected)] * 2]
    assert {auth for *_, auth in seen} == {"Bearer t"}, case


@pytest.mark.parametrize(
    ("case", "timeout", "error"),
    [
        ("an answer later than the timeout", 0.2, True),
        ("no limit", None, False),
        ("a limit longer than the answer", 5.0, False),
    ],
)
def test_the_timeout_applies_to_each_request(case: str, timeout: float | None, error: bool) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({"metadata": {"name": "x"}})

    async def main() -> Any:
        app = web.Application()
        app.add_routes([web.get(JOBS.path("ns", "j"), slow)])
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        cluster = ClusterConfig(server=str(server.make_url("")).rstrip("/"), user=UserConfig())
        transport = Transport(cluster, Credentials(cluster), timeout=timeout)
        try:
            return await transport.request("GET", JOBS.path("ns", "j"))
        finally:
            await transport.close()
            await server.close()

    if error:
        with pytest.raises(UnavailableError, match="Timeout"):
            asyncio.run(main())
    else:
        assert asyncio.run(main()) == {"metadata": {"name": "x"}}, case
