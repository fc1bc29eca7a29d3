"""`--wait` through ApiCluster: the commands follow WATCHes (a fake transport's streams), no
request per look."""

import asyncio
import io
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

import pytest

from rerunnable.core.naming import manual_execution_name
from rerunnable.kube.errors import GoneError, NotFoundError
from rerunnable.kube.resources import EXECUTIONS, RERUNNABLE_JOBS, Resource
from rerunnable.kube.transport import Transport
from rerunnable.plugin.cluster import ApiCluster
from rerunnable.plugin.commands import Console, cancel_command, run_command
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.follow import EXIT_OK

Body = dict[str, Any]
NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
RUN = manual_execution_name("job", "t1")


def rjob(version: str, **status: Any) -> Body:
    return {
        "metadata": {"name": "job", "namespace": "ns", "generation": 1, "resourceVersion": version},
        "spec": {},
        "status": status,
    }


def execution(version: str, phase: str, succeeded: int = 0, active: int = 0) -> Body:
    progress = {"succeeded": succeeded, "failed": 0, "active": active, "total": 2}
    return {
        "metadata": {"name": RUN, "namespace": "ns", "resourceVersion": version},
        "spec": {"trigger": "Manual", "token": "t1"},
        "status": {"phase": phase, "progress": progress},
    }


GAP = "gap"  # in a stream: the next event comes once the command waits for a change


class Watching(asyncio.Event):
    """The event `ApiCluster.wait_for_change` waits on, telling when it does."""

    def __init__(self, told: asyncio.Event) -> None:
        super().__init__()
        self.told = told

    async def wait(self) -> Literal[True]:
        self.told.set()
        return await super().wait()


class FakeApi:
    """The API server: objects by kind, lists with a resourceVersion, and watch streams from
    scripts (a stream is a list of events, an exception ends it, GAP waits until the command
    does); once a kind's streams run out its watch waits forever."""

    def __init__(self, objects: dict[str, Body | None], streams: dict[str, list[list[Any]]]):
        self.objects = objects  # by plural: the one object of that kind, or None
        self.streams = streams
        self.requests: list[tuple[str, str]] = []
        self.watched_from: dict[str, list[str]] = {}
        self.version = 10
        self.waiting = asyncio.Event()  # the command waits for a change

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        content_type: str = "",
    ) -> Body:
        kind = "executions" if "/executions" in path else "rerunnablejobs"
        collection = path.endswith(kind)
        self.requests.append((method, f"{kind}{'' if collection else '/name'}"))
        found = self.objects[kind]
        if collection:
            assert params is not None
            assert params["fieldSelector"].startswith("metadata.name=")
            items = [found] if found is not None else []
            return {"items": items, "metadata": {"resourceVersion": str(self.version)}}
        if found is None:
            raise NotFoundError(404, "NotFound", f"{kind} not found")
        return found

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
        self.watched_from.setdefault(resource.plural, []).append(resource_version)
        streams = self.streams.get(resource.plural) or []
        if not streams:
            await asyncio.Event().wait()
        for event in streams.pop(0):
            if isinstance(event, Exception):
                raise event
            if event == GAP:
                self.waiting.clear()
                await self.waiting.wait()
                continue
            kind, body = event
            self.objects[resource.plural] = None if kind == "DELETED" else body
            yield event


def follow_run(api: FakeApi, runner: asyncio.Runner) -> tuple[int, str]:
    out = io.StringIO()
    con = Console(out=out, err=io.StringIO(), now=lambda: NOW, local_zone=UTC)
    cluster = ApiCluster(cast(Transport, api), "ns", runner)
    cluster._change = Watching(api.waiting)
    try:
        code = run_command(
            cluster, "job", token="t1", wait=True, timeout=timedelta(seconds=30), console=con
        )
    finally:
        runner.run(cluster.close())
    return code, out.getvalue()


def test_run_wait_follows_the_watch_and_reads_the_execution_once() -> None:
    api = FakeApi(
        {"rerunnablejobs": rjob("3"), "executions": None},
        {
            "executions": [
                [("ADDED", execution("11", "Running", 0, 2))],
                [  # the server ended the first watch: resumed from version 11
                    GAP,  # an event while the command waits (not held for a look)
                    ("MODIFIED", execution("12", "Running", 1, 1)),
                    ("MODIFIED", execution("13", "Succeeded", 2, 0)),
                ],
            ]
        },
    )
    with asyncio.Runner() as runner:
        code, out = follow_run(api, runner)
    assert code == EXIT_OK
    assert out.splitlines()[1:] == [
        "08:00:00  waiting for the operator to create the Execution",
        "08:00:00  Running      0/2 succeeded, 0 failed, 2 active",
        "08:00:00  Running      1/2 succeeded, 0 failed, 1 active",
        "08:00:00  Succeeded    2/2 succeeded, 0 failed, 0 active",
        f"Execution {RUN} Succeeded (2/2 succeeded, 0 failed, 0 active)",
    ]
    assert api.requests == [
        ("GET", "rerunnablejobs/name"),
        ("GET", "executions/name"),  # exists already? (before the request)
        ("PATCH", "rerunnablejobs/name"),
        ("GET", "rerunnablejobs"),  # the watches' first reads: then only their events
        ("GET", "executions"),
    ]
    assert api.watched_from["executions"][:2] == ["10", "11"]


def test_a_token_refused_before_any_execution_shows_in_the_rerunnable_jobs_watch() -> None:
    skipped = {
        "time": "2026-11-22T08:00:00Z",
        "trigger": "Manual",
        "token": "t1",
        "reason": "ConcurrencyForbidden",
        "message": "manual run 't1' skipped: job-mabc still active (concurrencyPolicy Forbid)",
    }
    refused = rjob("12", lastRunToken="t1", lastSkipped=skipped)
    api = FakeApi(
        {"rerunnablejobs": rjob("3"), "executions": None},
        {"rerunnablejobs": [[("MODIFIED", refused)]]},
    )
    with asyncio.Runner() as runner, pytest.raises(PluginError, match="ConcurrencyForbidden"):
        follow_run(api, runner)
    assert ("GET", "executions") in api.requests
    assert api.requests.count(("GET", "executions/name")) == 1


def test_410_gone_lists_the_execution_again_and_goes_on() -> None:
    gone = GoneError(410, "Expired", "too old resource version")
    api = FakeApi(
        {"rerunnablejobs": rjob("3"), "executions": None},
        {"executions": [[("ADDED", execution("11", "Running", 0, 2)), gone]]},
    )

    original = api.request

    async def request(method: str, path: str, *args: Any, **kwargs: Any) -> Body:
        if (method, path) == ("GET", EXECUTIONS.path("ns")) and api.watched_from.get("executions"):
            api.objects["executions"] = execution("40", "Succeeded", 2, 0)  # while it was gone
            api.version = 42
        return await original(method, path, *args, **kwargs)

    api.request = request  # type: ignore[method-assign]
    with asyncio.Runner() as runner:
        code, out = follow_run(api, runner)
    assert code == EXIT_OK
    assert out.splitlines()[-1] == f"Execution {RUN} Succeeded (2/2 succeeded, 0 failed, 0 active)"
    assert api.requests.count(("GET", "executions")) == 2  # the first read, then after 410
    assert api.watched_from["executions"][0] == "10"


def test_cancel_wait_follows_the_watch() -> None:
    cancelled = execution("15", "Failed")
    cancelled["status"].update(reason="Cancelled", message="cancelled by kubectl rerun")
    api = FakeApi(
        {"rerunnablejobs": rjob("3"), "executions": execution("11", "Running", 0, 2)},
        {"executions": [[("MODIFIED", cancelled)]]},
    )
    patched: list[Body] = []

    async def request(method: str, path: str, body: Any = None, **kwargs: Any) -> Body:
        if method == "PATCH":
            patched.append(body)
            found = api.objects["executions"]
            assert found is not None
            return found
        return await FakeApi.request(api, method, path, body, **kwargs)

    api.request = request  # type: ignore[method-assign]
    out = io.StringIO()
    con = Console(out=out, err=io.StringIO(), now=lambda: NOW, local_zone=UTC)
    with asyncio.Runner() as runner:
        cluster = ApiCluster(cast(Transport, api), "ns", runner)
        try:
            code = cancel_command(
                cluster, RUN, wait=True, timeout=timedelta(seconds=30), console=con
            )
        finally:
            runner.run(cluster.close())
    assert code == EXIT_OK, out.getvalue()
    assert len(patched) == 1
    assert out.getvalue().splitlines()[-1] == (
        f"execution.rerunnable.dev/{RUN} cancelled: cancelled by kubectl rerun"
    )
    assert api.requests == [("GET", "executions/name"), ("GET", "executions")]
    assert RERUNNABLE_JOBS.plural not in api.watched_from
