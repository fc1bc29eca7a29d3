"""What can go wrong talking to the API server, as exceptions of our own.

Callers never see a client library's types: every answer is a plain dict or one
of these. `UnavailableError` (no connection, timeout, 5xx, 429) says the server
could not serve now, whatever the request; the others are about the request.
"""

import json

__all__ = [
    "AlreadyExistsError",
    "ConfigError",
    "ConflictError",
    "GoneError",
    "InvalidError",
    "KubeError",
    "NameConflictError",
    "NotFoundError",
    "UnavailableError",
    "from_answer",
    "from_status",
    "unavailable",
]


class ConfigError(Exception):
    """The kubeconfig or the credentials cannot be used; the message says why."""


class KubeError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message


class AlreadyExistsError(KubeError):
    pass


class ConflictError(KubeError):
    """409 Conflict: the object changed since the resourceVersion the write was based on."""


class NotFoundError(KubeError):
    pass


class GoneError(KubeError):
    """410 Gone: a watch's resourceVersion is too old (compacted): list again, then watch."""


class NameConflictError(KubeError):
    """The deterministic name is taken by an object this run does not own."""


class InvalidError(KubeError):
    """The API server refused the object (422, or 400 when it could not decode it): the
    message says which field."""


class UnavailableError(KubeError):
    """The API server could not be reached or could not serve (connection, timeout, 5xx, 429).

    Nothing is wrong with the request: it is retried soon, not with a growing back-off.
    """


def _error(code: int, reason: str, message: str) -> KubeError:
    if code == 409:
        return (AlreadyExistsError if reason == "AlreadyExists" else ConflictError)(
            code, reason, message
        )
    if code == 404:
        return NotFoundError(code, reason, message)
    if code == 410:
        return GoneError(code, reason, message)
    if code == 422 or (code == 400 and reason == "BadRequest"):
        # 400: the body could not even be decoded (a quantity that is not one): refused as
        # surely as an invalid one, and as surely the same on every retry.
        return InvalidError(code, reason, message)
    if code >= 500 or code == 429:
        return UnavailableError(code, reason, message)
    return KubeError(code, reason, message)


def from_answer(code: int, text: str) -> KubeError:
    """The error for an HTTP answer >= 400: its Status object's code, reason and message."""
    try:
        status = json.loads(text)
    except ValueError:
        status = {}
    return from_status(code, status, text)


def from_status(code: int, status: object, text: str = "") -> KubeError:
    """The error a Status object describes (an answer's body, a watch's ERROR event);
    `text` is the message if it has none."""
    if not isinstance(status, dict):
        status = {}
    return _error(
        int(status.get("code") or code),
        str(status.get("reason") or ""),
        str(status.get("message") or text),
    )


def unavailable(e: BaseException) -> UnavailableError:
    """A connection-level failure (refused, reset, TLS, timeout) as UnavailableError."""
    detail = str(e)
    return UnavailableError(
        0, "Unavailable", f"{type(e).__name__}: {detail}" if detail else type(e).__name__
    )
