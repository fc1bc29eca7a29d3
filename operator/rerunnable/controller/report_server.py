"""The report endpoint: HTTPS, served by every replica on `--report-port`.

    POST /v1/namespaces/<namespace>/executions/<name>/report
    Authorization: Bearer <the pod-bound token in $RERUNNABLE_REPORT_TOKEN_FILE>

Answers: 204 accepted; 400 a body that is not a report (the message names the
field); 401 no token, or one the API server does not accept for audience
rerunnable.dev; 403 a token not bound to a pod of that run's Job; 404 no such
Execution; 409 the run has finished; 413 a body over 16 KiB; 429 more than 20
reports a second for one run; 503 the API server could not check the token.
Each refusal is a JSON object `{"reason": ..., "message": ...}`.

The certificate files are read again when they change (cert-manager renews
them in place), as kopf does for the webhooks.
"""

import asyncio
import contextlib
import json
import logging
import ssl

from aiohttp import web

from rerunnable.controller.metrics import Metrics
from rerunnable.controller.report_auth import ReportAuth, ReportRefusedError
from rerunnable.controller.report_sink import ReportSink
from rerunnable.controller.serving import ServingOptions
from rerunnable.core.reports import MAX_BODY, ReportError, parse_report
from rerunnable.kube.errors import KubeError

__all__ = ["ReportServer"]

logger = logging.getLogger(__name__)

PATH = "/v1/namespaces/{namespace}/executions/{name}/report"
RELOAD_EVERY = 10.0  # seconds between looks at the certificate files


class ReportServer:
    def __init__(
        self, options: ServingOptions, auth: ReportAuth, sink: ReportSink, metrics: Metrics
    ) -> None:
        self._options = options
        self._auth = auth
        self._sink = sink
        self._metrics = metrics
        self._loaded: tuple[float, float] | None = None
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._load()

    async def serve(self) -> None:
        """Serve until cancelled."""
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes([web.post(PATH, self._report)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._options.addr, self._options.port, ssl_context=self._tls)
        await site.start()
        logger.info("serving reports on https://%s:%d", self._options.addr, self._options.port)
        try:
            while True:
                await asyncio.sleep(RELOAD_EVERY)
                self._load()
        finally:
            with contextlib.suppress(Exception):
                await self._sink.close()
            await runner.cleanup()

    def _load(self) -> None:
        o = self._options
        stamp = (o.certfile.stat().st_mtime, o.keyfile.stat().st_mtime)
        if stamp != self._loaded:
            self._tls.load_cert_chain(o.certfile, o.keyfile)
            if self._loaded is not None:
                logger.info("report certificate reloaded from %s", o.cert_dir)
            self._loaded = stamp

    async def _report(self, request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        try:
            if (request.content_length or 0) > MAX_BODY:
                raise ReportRefusedError(413, "TooLarge", f"the body is over {MAX_BODY} bytes")
            await self._auth.verify(_bearer(request), namespace, name)
            try:
                report = parse_report(await _json(request))
            except ReportError as e:
                raise ReportRefusedError(400, "Invalid", str(e)) from None
            self._sink.accept(namespace, name, report)
        except ReportRefusedError as e:
            self._metrics.reports.labels(e.reason).inc()
            return web.json_response({"reason": e.reason, "message": e.message}, status=e.status)
        except KubeError as e:
            self._metrics.reports.labels("Unavailable").inc()
            message = f"the API server could not check the token: {e.message}"
            return web.json_response({"reason": "Unavailable", "message": message}, status=503)
        self._metrics.reports.labels("Accepted").inc()
        return web.Response(status=204)


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _json(request: web.Request) -> object:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ReportRefusedError(413, "TooLarge", f"the body is over {MAX_BODY} bytes") from None
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        raise ReportRefusedError(400, "Invalid", "the body is not JSON") from None
