"""Logging setup: readable text for people, one JSON object a line for log pipelines.

JSON lines carry `namespace`, `rerunnablejob` and `execution` where they apply:
given as `extra=`, or set for a stretch of work with `about` (the reconciler sets
the key for each pass), which covers every line logged inside it, the kube
client's included. Text lines stay as they are.
"""

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

__all__ = ["FIELDS", "ContextFields", "JsonFormatter", "about", "configure"]

# The fields a line may carry about the object it concerns, in this order.
FIELDS = ("namespace", "rerunnablejob", "execution")

# What the running task works on: asyncio copies it into each task, so a worker's pass
# sets it for itself only.
_about: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "about", default=MappingProxyType({})
)


@contextlib.contextmanager
def about(**fields: str) -> Iterator[None]:
    """Lines logged inside are about these objects (`FIELDS`), besides what they were already."""
    token = _about.set({**_about.get(), **fields})
    try:
        yield
    finally:
        _about.reset(token)


class ContextFields(logging.Filter):
    """Puts the fields `about` set on each record, when it is made (in the task that logs it);
    fields given as `extra=` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _about.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str) and value:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(*, verbose: bool, json_format: bool) -> None:
    handler = logging.StreamHandler()
    if json_format:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(ContextFields())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # kopf logs every handled watch event and httpx every request at INFO.
        for noisy in ("kopf.objects", "httpx", "httpx2"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
