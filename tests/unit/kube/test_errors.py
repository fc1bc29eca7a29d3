"""kube.errors: an answer of the API server becomes the same error whatever asked."""

import json

import pytest

from rerunnable.kube.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    KubeError,
    NotFoundError,
    UnavailableError,
    from_answer,
    unavailable,
)


def status(code: int, reason: str, message: str) -> str:
    return json.dumps(
        {"kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message}
    )


@pytest.mark.parametrize(
    ("code", "reason", "error"),
    [
        (409, "AlreadyExists", AlreadyExistsError),
        (409, "Conflict", ConflictError),
        (404, "NotFound", NotFoundError),
        (422, "Invalid", InvalidError),
        (403, "Forbidden", KubeError),
        (401, "Unauthorized", KubeError),
        (503, "ServiceUnavailable", UnavailableError),
        (500, "InternalError", UnavailableError),
        (429, "TooManyRequests", UnavailableError),
    ],
)
def test_a_status_answer_becomes_its_error(code: int, reason: str, error: type[KubeError]) -> None:
    e = from_answer(code, status(code, reason, "the message"))
    assert type(e) is error
    assert (e.code, e.reason, e.message) == (code, reason, "the message")


def test_an_answer_that_is_not_a_status_keeps_its_http_code_and_text() -> None:
    e = from_answer(502, "<html>bad gateway</html>")
    assert type(e) is UnavailableError
    assert (e.code, e.message) == (502, "<html>bad gateway</html>")


def test_a_connection_failure_is_an_unavailable_server_named_by_its_cause() -> None:
    e = unavailable(ConnectionRefusedError(111, "Connect call failed"))
    assert type(e) is UnavailableError
    assert e.message == "ConnectionRefusedError: [Errno 111] Connect call failed"
    assert unavailable(TimeoutError()).message == "TimeoutError"
