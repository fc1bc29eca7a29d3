"""Log lines (rerunnable.controller.logs): JSON lines carry the objects they are about."""

import asyncio
import json
import logging
import sys

import pytest

from rerunnable.controller.logs import ContextFields, JsonFormatter, about

logger = logging.getLogger("tests.logs")


def record(message: str, **extra: str) -> logging.LogRecord:
    made = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), None, extra=extra)
    ContextFields().filter(made)
    return made


def formatted(made: logging.LogRecord) -> dict[str, str]:
    entry: dict[str, str] = json.loads(JsonFormatter().format(made))
    return entry


BASE = {"time", "level", "logger", "message"}


@pytest.mark.parametrize(
    ("case", "extra", "fields"),
    [
        ("about nothing", {}, {}),
        (
            "a RerunnableJob",
            {"namespace": "team-a", "rerunnablejob": "backup"},
            {"namespace": "team-a", "rerunnablejob": "backup"},
        ),
        (
            "an Execution",
            {"namespace": "team-a", "rerunnablejob": "backup", "execution": "backup-m-1"},
            {"namespace": "team-a", "rerunnablejob": "backup", "execution": "backup-m-1"},
        ),
        (
            "an empty field is left out",
            {"namespace": "", "rerunnablejob": "x"},
            {"rerunnablejob": "x"},
        ),
    ],
)
def test_json_lines_carry_the_fields_given_as_extra(
    case: str, extra: dict[str, str], fields: dict[str, str]
) -> None:
    entry = formatted(record("hello", **extra))
    assert set(entry) == BASE | set(fields), case
    assert {k: entry[k] for k in fields} == fields, case
    assert entry["message"] == "hello"


def test_about_sets_the_fields_of_every_line_inside_it_and_extra_wins() -> None:
    assert set(formatted(record("before"))) == BASE
    with about(namespace="team-a", rerunnablejob="backup"):
        with about(execution="backup-m-1"):
            inner = formatted(record("inner"))
            mine = formatted(record("mine", execution="other"))
        outer = formatted(record("outer"))
    after = formatted(record("after"))
    assert (inner["namespace"], inner["rerunnablejob"], inner["execution"]) == (
        "team-a",
        "backup",
        "backup-m-1",
    )
    assert mine["execution"] == "other"
    assert "execution" not in outer
    assert outer["rerunnablejob"] == "backup"
    assert set(after) == BASE


def test_each_task_has_its_own_fields() -> None:
    # Sixteen workers reconcile at once: a line is about its own task's key.
    async def work(name: str, ready: asyncio.Event, go: asyncio.Event) -> dict[str, str]:
        with about(namespace="ns", rerunnablejob=name):
            ready.set()
            await go.wait()
            return formatted(record(name))

    async def scenario() -> list[dict[str, str]]:
        go = asyncio.Event()
        readies = [asyncio.Event() for _ in range(3)]
        tasks = [asyncio.create_task(work(f"job-{i}", readies[i], go)) for i in range(3)]
        for ready in readies:
            await ready.wait()
        go.set()
        return list(await asyncio.gather(*tasks))

    for entry in asyncio.run(scenario()):
        assert entry["rerunnablejob"] == entry["message"]


def test_an_exception_is_kept() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logger.makeRecord(
            logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    assert "ValueError: boom" in formatted(made)["exception"]
