"""kube._Http: the aiohttp write path's error translation and when it steps aside."""

import asyncio
import json
from collections.abc import Mapping

import pytest
from lightkube import AsyncClient, KubeConfig

from rerunnable.kube import (
    AlreadyExistsError,
    InvalidError,
    KubeError,
    NotFoundError,
    UnavailableError,
    _Http,
    _status_error,
)


def status(code: int, reason: str, message: str) -> str:
    return json.dumps(
        {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message}
    )


@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (409, "AlreadyExists", AlreadyExistsError),
        (404, "NotFound", NotFoundError),
        (422, "Invalid", InvalidError),
        (409, "Conflict", KubeError),
        (403, "Forbidden", KubeError),
        (503, "ServiceUnavailable", UnavailableError),
        (500, "InternalError", UnavailableError),
        (429, "TooManyRequests", UnavailableError),
    ],
)
def test_a_status_answer_becomes_the_same_error_as_on_lightkubes_path(
    code: int, reason: str, error: type[KubeError]
) -> None:
    e = _status_error(code, status(code, reason, "the message"))
    assert type(e) is error
    assert (e.code, e.reason, e.message) == (code, reason, "the message")


def test_an_answer_that_is_not_a_status_keeps_its_http_code_and_text() -> None:
    e = _status_error(502, "<html>bad gateway</html>")
    assert type(e) is UnavailableError
    assert (e.code, e.message) == (502, "<html>bad gateway</html>")


def test_a_client_without_a_kubeconfig_keeps_lightkubes_path() -> None:
    assert _Http.for_client(object()) is None  # type: ignore[arg-type]


def client_with(user: Mapping[str, object]) -> AsyncClient:
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )
    return AsyncClient(config=config)


def test_a_bearer_token_is_sent_as_lightkube_would() -> None:
    http = _Http.for_client(client_with({"token": "secret"}))
    assert http is not None
    assert http._headers("application/json")["Authorization"] == "Bearer secret"


def test_credentials_from_a_plugin_keep_lightkubes_path() -> None:
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "get-token"}}
    assert _Http.for_client(client_with(plugin)) is None


def test_a_refused_connection_is_an_unavailable_api_server() -> None:
    async def scenario() -> None:
        http = _Http.for_client(client_with({"token": "secret"}))
        assert http is not None
        try:
            with pytest.raises(UnavailableError, match="ClientConnectorError"):
                await http.request("GET", "/api/v1/namespaces")
        finally:
            await http.close()

    asyncio.run(scenario())
