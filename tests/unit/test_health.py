"""The health probes (rerunnable.controller.health), served for real on a free port: /healthz
says whether the process works, /readyz whether its HTTPS servers answer (real local ones)."""

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web

from rerunnable.controller.health import PROBE_AGENT, HealthServer, listen
from rerunnable.controller.serving import ServingOptions
from rerunnable.controller.supervisor import Supervisor
from tests.e2e.certs import free_port, make_certs

T = TypeVar("T")

pytestmark = pytest.mark.timeout(30)

WITHIN = 0.5  # seconds a server has to answer /readyz's request, in these tests

# A server on a port, as a test starts it: given the certificate folder, yields the port.
Server = Callable[[Path], AbstractAsyncContextManager[int]]


def run(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(asyncio.wait_for(scenario(), timeout=20))


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    make_certs(folder)
    return folder


Handler = Callable[[web.Request], Coroutine[Any, Any, web.Response]]


@asynccontextmanager
async def https(
    cert_dir: Path, *, tls: bool = True, handler: Handler | None = None
) -> AsyncIterator[int]:
    """An aiohttp server that answers every GET with `handler`; without one, 404."""
    context = None
    if tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_dir / "tls.crt", cert_dir / "tls.key")
    app = web.Application()
    if handler is not None:
        app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    try:
        yield port
    finally:
        await runner.cleanup()


@asynccontextmanager
async def plain_http(cert_dir: Path) -> AsyncIterator[int]:
    async with https(cert_dir, tls=False) as port:
        yield port


@asynccontextmanager
async def closes(cert_dir: Path) -> AsyncIterator[int]:
    """Accepts a connection and closes it at once: the port answers TCP, not TLS."""

    async def close(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def silent(cert_dir: Path) -> AsyncIterator[int]:
    """Accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in held:
            writer.close()
        await server.wait_closed()


@asynccontextmanager
async def nothing(cert_dir: Path) -> AsyncIterator[int]:
    yield free_port()


@asynccontextmanager
async def health(
    servers: dict[str, ServingOptions], supervisor: Supervisor | None = None, within: float = WITHIN
) -> AsyncIterator[str]:
    """The health server on a free port, under `supervisor`; yields its base URL."""
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    supervisor = supervisor or Supervisor(exit=lambda code: None)
    task = supervisor.spawn(
        HealthServer(sock, supervisor, servers, within=within).serve(), name="health-server"
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await supervisor.stop()
        assert task.cancelled()


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def test_healthz_is_ok_until_a_supervised_task_fails_then_both_probes_fail() -> None:
    async def scenario() -> None:
        exits: list[int] = []
        supervisor = Supervisor(exit=exits.append)
        async with health({}, supervisor) as url:
            assert await get(f"{url}/healthz") == (200, "ok\n")
            assert await get(f"{url}/readyz") == (200, "ok\n")
            supervisor.fail("task 'work' failed: RuntimeError('boom')")
            assert exits == [1]
            unhealthy = "unhealthy: task 'work' failed: RuntimeError('boom')\n"
            assert await get(f"{url}/healthz") == (500, unhealthy)
            assert await get(f"{url}/readyz") == (503, unhealthy)

    run(scenario)


def test_readyz_with_no_https_server_is_ok_once_the_process_runs() -> None:
    async def scenario() -> None:
        async with health({}) as url:
            assert await get(f"{url}/readyz") == (200, "ok\n")

    run(scenario)


@pytest.mark.parametrize(
    ("server", "status", "says"),
    [
        pytest.param(https, 200, "ok\n", id="answers over TLS"),
        pytest.param(nothing, 503, "{name} on port {port}: connection refused\n", id="nothing"),
        pytest.param(closes, 503, "{name} on port {port}: connection reset\n", id="closes"),
        pytest.param(
            plain_http, 503, "{name} on port {port}: TLS handshake failed: ", id="plain HTTP"
        ),
        pytest.param(silent, 503, "{name} on port {port}: no answer within 0.5s\n", id="silent"),
    ],
)
@pytest.mark.parametrize("name", ["webhook server", "report server"])
def test_readyz_is_ok_only_when_the_https_server_answers(
    cert_dir: Path, server: Server, status: int, says: str, name: str
) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            port = await stack.enter_async_context(server(cert_dir))
            url = await stack.enter_async_context(health({name: ServingOptions(port, cert_dir)}))
            answer = await get(f"{url}/readyz")
        assert answer[0] == status
        assert answer[1].startswith(says.format(name=name, port=port))

    run(scenario)


def test_readyz_names_only_the_servers_that_do_not_answer(cert_dir: Path) -> None:
    async def scenario() -> None:
        async with AsyncExitStack() as stack:
            webhook = await stack.enter_async_context(https(cert_dir))
            reports = await stack.enter_async_context(nothing(cert_dir))
            servers = {
                "webhook server": ServingOptions(webhook, cert_dir),
                "report server": ServingOptions(reports, cert_dir),
            }
            url = await stack.enter_async_context(health(servers))
            assert await get(f"{url}/readyz") == (
                503,
                f"report server on port {reports}: connection refused\n",
            )

    run(scenario)


def test_readyz_asks_the_servers_at_once(cert_dir: Path) -> None:
    """The webhook server answers only once the report server was asked: asked one after
    the other, the webhook server would run out of time first."""

    async def scenario() -> None:
        asked = asyncio.Event()

        async def after_the_other(_: web.Request) -> web.Response:
            await asked.wait()
            return web.Response(text="ok")

        async def at_once(_: web.Request) -> web.Response:
            asked.set()
            return web.Response(text="ok")

        async with AsyncExitStack() as stack:
            webhook = await stack.enter_async_context(https(cert_dir, handler=after_the_other))
            reports = await stack.enter_async_context(https(cert_dir, handler=at_once))
            servers = {
                "webhook server": ServingOptions(webhook, cert_dir),
                "report server": ServingOptions(reports, cert_dir),
            }
            url = await stack.enter_async_context(health(servers))
            assert await get(f"{url}/readyz") == (200, "ok\n")

    run(scenario)


def test_the_health_server_stops_with_the_supervisor() -> None:
    async def scenario() -> None:
        async with health({}) as url:
            assert await get(f"{url}/healthz") == (200, "ok\n")
        with pytest.raises(aiohttp.ClientConnectorError):
            await get(f"{url}/healthz")

    run(scenario)


def test_readyz_requests_leave_no_line_in_the_servers_access_log(
    cert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """kopf's webhook server logs every request; kubelet asks /readyz every 10 s."""

    async def scenario() -> None:
        async with (
            https(cert_dir) as port,
            health({"webhook": ServingOptions(port, cert_dir)}) as url,
        ):
            with caplog.at_level(logging.INFO, logger="aiohttp.access"):
                assert await get(f"{url}/readyz") == (200, "ok\n")
                assert PROBE_AGENT not in caplog.text
                no_check = aiohttp.TCPConnector(ssl=False)
                async with (
                    aiohttp.ClientSession(connector=no_check) as session,
                    session.get(f"https://127.0.0.1:{port}/") as response,
                ):
                    assert response.status == 404
                assert "GET / HTTP/1.1" in caplog.text  # other requests are logged

    run(scenario)
