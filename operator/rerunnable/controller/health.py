"""The health probes, plain HTTP on `--health-port` (controller-runtime's /healthz and /readyz).

    GET /healthz  200 "ok"; 500 and the reason once a supervised task has ended
                  (the process is exiting: crash-only, see controller.supervisor)
    GET /readyz   200 "ok" once every HTTPS server of this process (the webhook server,
                  the report server) answers; 503 otherwise, a line for each that does
                  not ("webhook server on port 9443: connection refused"), or the reason
                  /healthz fails

A server answers when an HTTPS request to its port (on loopback when it listens
on all addresses) gets an HTTP answer, whatever its status, within 2 s;
certificates are not checked: the question is whether it serves, not whom.
The webhook fails closed, so a replica takes Service traffic only once its
webhook server answers. Leader or standby does not matter: every replica serves
both servers. The servers are asked concurrently, at every /readyz.
"""

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from rerunnable.controller.serving import ServingOptions
from rerunnable.controller.supervisor import Supervisor

__all__ = ["CHECK_TIMEOUT", "PROBE_AGENT", "HealthServer", "answers", "listen"]

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 2.0  # seconds an HTTPS server has to answer /readyz's request
PROBE_AGENT = "rerunnable-readyz"
# The address that reaches a server listening on all addresses.
LOOPBACK = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


def listen(addr: str, port: int) -> socket.socket:
    """Bind the probes' port now, so that a port in use stops the process before it starts."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.create_server((addr, port), family=family)


class HealthServer:
    def __init__(
        self,
        sock: socket.socket,
        supervisor: Supervisor,
        servers: Mapping[str, ServingOptions],
        *,
        within: float = CHECK_TIMEOUT,
    ) -> None:
        """`servers`: the HTTPS servers /readyz waits for, by name ("webhook server")."""
        self._sock = sock
        self._supervisor = supervisor
        self._servers = dict(servers)
        self._within = within

    async def serve(self) -> None:
        """Serve until cancelled."""
        app = web.Application()
        app.add_routes([web.get("/healthz", self._healthz), web.get("/readyz", self._readyz)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        quiet = _ProbeLines()
        access = logging.getLogger("aiohttp.access")  # kopf's webhook server logs every request
        access.addFilter(quiet)
        try:
            await web.SockSite(runner, self._sock).start()
            host, port = self._sock.getsockname()[:2]
            logger.info("serving /healthz and /readyz on http://%s:%d", host, port)
            await asyncio.Event().wait()
        finally:
            access.removeFilter(quiet)
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        failure = self._supervisor.failure
        if failure is not None:
            return web.Response(status=500, text=f"unhealthy: {failure}\n")
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        failure = self._supervisor.failure
        if failure is not None:
            return web.Response(status=503, text=f"unhealthy: {failure}\n")
        reasons = await asyncio.gather(*(answers(o, self._within) for o in self._servers.values()))
        silent = [
            f"{name} on port {o.port}: {reason}\n"
            for (name, o), reason in zip(self._servers.items(), reasons, strict=True)
            if reason is not None
        ]
        if silent:
            return web.Response(status=503, text="".join(silent))
        return web.Response(text="ok\n")


async def answers(options: ServingOptions, within: float = CHECK_TIMEOUT) -> str | None:
    """None when the HTTPS server answers a request with any HTTP status; else why not."""
    host = LOOPBACK.get(options.addr, options.addr)
    try:
        async with asyncio.timeout(within):
            status = await _status_line(host, options.port)
    except TimeoutError:
        return f"no answer within {within:g}s"
    except ConnectionRefusedError:
        return "connection refused"
    except ConnectionResetError:
        return "connection reset"
    except ssl.SSLError as e:
        return f"TLS handshake failed: {e.reason or e}"
    except OSError as e:
        return e.strerror or str(e) or type(e).__name__
    if not status.startswith(b"HTTP/"):
        return f"no HTTP answer (got {status[:40]!r})" if status else "closed without answering"
    return None


def _no_verification() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _no_verification()
_REQUEST = (
    f"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: {PROBE_AGENT}\r\nConnection: close\r\n\r\n"
).encode()


async def _status_line(host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port, ssl=_TLS)
    try:
        writer.write(_REQUEST)
        return await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class _ProbeLines(logging.Filter):
    """Drops the access log lines of /readyz's own requests (kubelet asks every 10 s)."""

    def filter(self, record: logging.LogRecord) -> bool:
        headers: Any = getattr(record, "request_header", None)
        return not (isinstance(headers, dict) and headers.get("User-Agent") == PROBE_AGENT)
