"""`kubectl rerun logs` and `run --wait --logs`: which containers have a log (pure), and
`RunLogs` following a run's pods through a fake transport's watch and log streams."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import pytest

from rerunnable.kube.errors import KubeError
from rerunnable.kube.resources import PODS, Resource
from rerunnable.kube.transport import Transport
from rerunnable.plugin.cli import parse_args
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.log_streams import RunLogs
from rerunnable.plugin.pod_logs import (
    LogOptions,
    Source,
    check_container,
    log_query,
    no_log,
    print_line,
    readable,
)

Body = dict[str, Any]
RUNNING = {"running": {"startedAt": "2026-11-22T08:00:00Z"}}
DONE = {"terminated": {"exitCode": 0}}
WAITING = {"waiting": {"reason": "ContainerCreating"}}


def pod(
    name: str,
    created: str = "2026-11-22T08:00:00Z",
    containers: Mapping[str, Mapping[str, Any] | None] | None = None,
    init: Mapping[str, Mapping[str, Any] | None] | None = None,
    restarts: int = 0,
    version: str = "1",
) -> Body:
    """A pod whose containers (name: state; None: no status yet) are as given."""
    containers = {"main": RUNNING} if containers is None else containers
    init = init or {}

    def statuses(of: Mapping[str, Mapping[str, Any] | None]) -> list[Body]:
        return [
            {"name": n, "state": s, "restartCount": restarts}
            for n, s in of.items()
            if s is not None
        ]

    return {
        "metadata": {"name": name, "creationTimestamp": created, "resourceVersion": version},
        "spec": {
            "initContainers": [{"name": n} for n in init],
            "containers": [{"name": n} for n in containers],
        },
        "status": {
            "initContainerStatuses": statuses(init),
            "containerStatuses": statuses(containers),
        },
    }


@pytest.mark.parametrize(
    ("pods", "container", "expected"),
    [
        pytest.param([], None, [], id="no pods"),
        pytest.param([pod("a", containers={"main": None})], None, [], id="no status yet"),
        pytest.param([pod("a", containers={"main": WAITING})], None, [], id="waiting to start"),
        pytest.param([pod("a")], None, [Source("a", "main")], id="running"),
        pytest.param(
            [pod("a", containers={"main": DONE})], None, [Source("a", "main")], id="terminated"
        ),
        pytest.param(
            [pod("a", containers={"main": WAITING}, init={"setup": DONE})],
            None,
            [Source("a", "setup")],
            id="an init container ran, the container waits",
        ),
        pytest.param(
            [pod("a", containers={"main": RUNNING, "side": RUNNING}, init={"setup": DONE})],
            None,
            [Source("a", "setup"), Source("a", "main"), Source("a", "side")],
            id="init containers first, then in the spec's order",
        ),
        pytest.param(
            [pod("a", containers={"main": RUNNING, "side": RUNNING})],
            "side",
            [Source("a", "side")],
            id="-c one container",
        ),
        pytest.param(
            [
                pod("b-retry", created="2026-11-22T08:01:00Z"),
                pod("a-first", created="2026-11-22T08:00:00Z", containers={"main": DONE}),
            ],
            None,
            [Source("a-first", "main"), Source("b-retry", "main")],
            id="pods oldest first (the Job's retry after its first pod)",
        ),
        pytest.param(
            [pod("a", restarts=2)], None, [Source("a", "main", 2)], id="a restarted container"
        ),
    ],
)
def test_readable(pods: list[Body], container: str | None, expected: list[Source]) -> None:
    assert readable(pods, container) == expected


def test_check_container_names_the_containers_there_are() -> None:
    pods = [pod("a", containers={"main": RUNNING}, init={"setup": DONE})]
    check_container(pods, None, "run-1")
    check_container(pods, "setup", "run-1")
    check_container([], "anything", "run-1")  # no pods yet: nothing to tell
    with pytest.raises(PluginError) as refused:
        check_container(pods, "mian", "run-1")
    assert refused.value.message == (
        "-c mian: no container 'mian' in the pods of execution run-1 (it has main, setup)"
    )


@pytest.mark.parametrize(
    ("options", "follow", "expected"),
    [
        (LogOptions(), False, {"container": "main"}),
        (LogOptions(), True, {"container": "main", "follow": "true"}),
        (
            LogOptions(tail=20, timestamps=True),
            True,
            {"container": "main", "follow": "true", "tailLines": "20", "timestamps": "true"},
        ),
        (LogOptions(tail=0), False, {"container": "main", "tailLines": "0"}),
    ],
)
def test_log_query(options: LogOptions, follow: bool, expected: dict[str, str]) -> None:
    assert log_query(Source("p", "main"), options, follow=follow) == expected


def test_print_line() -> None:
    source = Source("run-1-abcde", "main")
    assert print_line(source, b"loaded 3 rows", LogOptions()) == "loaded 3 rows"
    assert print_line(source, b"crlf\r", LogOptions()) == "crlf"
    assert print_line(source, b"caf\xc3\xa9 \xff", LogOptions()) == "caf\u00e9 \ufffd"
    assert print_line(source, b"x", LogOptions(prefix=True)) == "[pod/run-1-abcde/main] x"


@pytest.mark.parametrize(
    ("phase", "pods", "says"),
    [
        ("Pending", 1, "no container of execution r has started yet (Pending);"),
        ("Pending", 0, "execution r has no pods yet (Pending); kubectl rerun logs r -f"),
        ("Succeeded", 0, "execution r (Succeeded) has no pods any more: they go with its Job"),
    ],
)
def test_no_log(phase: str, pods: int, says: str) -> None:
    assert no_log("r", phase, pods).startswith(says)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["run", "job", "--logs"], "--logs needs --wait"),
        (["run", "job", "--wait", "--logs", "-o", "name"], "-o name cannot share"),
        (["run", "job", "--wait", "--prefix"], "--prefix needs --logs"),
        (["logs", "r", "--tail", "-1"], "must be 0 or more, got -1"),
    ],
)
def test_log_flags_refused(argv: list[str], error: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 1
    assert error in capsys.readouterr().err


def test_log_flags() -> None:
    args = parse_args(["logs", "r", "-f", "-c", "main", "--tail", "5", "--timestamps"])
    assert (args.follow, args.container, args.tail, args.timestamps, args.prefix) == (
        True,
        "main",
        5,
        True,
        False,
    )
    run = parse_args(["run", "job", "--wait", "--logs", "--prefix"])
    assert (run.logs, run.prefix) == (True, True)


# -- RunLogs ----------------------------------------------------------------------------------


class FakeLogs:
    """The API server for one run: its pods (a list, then watch events sent by the test),
    and each container's log: lines the test sends; a stream ends when the test says so,
    or never (as kwok's logs that follow)."""

    def __init__(self, pods: list[Body]) -> None:
        self.pods = {p["metadata"]["name"]: p for p in pods}
        self.events: asyncio.Queue[tuple[str, Body]] = asyncio.Queue()
        self.logs: dict[str, asyncio.Queue[bytes | Exception | None]] = {}
        self.opened: list[tuple[str, Mapping[str, str]]] = []

    def log(
        self, pod_name: str, container: str = "main"
    ) -> "asyncio.Queue[bytes | Exception | None]":
        return self.logs.setdefault(f"{pod_name}/{container}", asyncio.Queue())

    async def request(
        self, method: str, path: str, body: Any = None, *, params: Any = None, **_: Any
    ) -> Body:
        assert (method, path) == ("GET", PODS.path("ns"))
        assert params["labelSelector"] == "rerunnable.dev/execution=run-1"
        return {"items": list(self.pods.values()), "metadata": {"resourceVersion": "10"}}

    async def list(
        self, resource: Resource, namespace: str | None = None, *, labels: str | None = None
    ) -> AsyncIterator[Body]:
        assert (resource, namespace, labels) == (PODS, "ns", "rerunnable.dev/execution=run-1")
        for found in list(self.pods.values()):
            yield found

    async def watch(
        self, resource: Resource, namespace: str | None, **_: Any
    ) -> AsyncIterator[tuple[str, Body]]:
        while True:
            kind, body = await self.events.get()
            self.pods[body["metadata"]["name"]] = body
            yield kind, body

    async def stream(self, path: str, params: Mapping[str, str], **_: Any) -> AsyncIterator[bytes]:
        pod_name = path.split("/pods/")[1].removesuffix("/log")
        self.opened.append((pod_name, dict(params)))
        lines = self.log(pod_name, params["container"])
        while True:
            line = await lines.get()
            if line is None:
                return
            if isinstance(line, Exception):
                raise line
            yield line


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


class Followed:
    """RunLogs of run-1 on `api`, with what it handed on: each line as
    `RESTARTS:LINE-AS-PRINTED`, and each trouble."""

    def __init__(self, api: FakeLogs, options: LogOptions) -> None:
        self.api = api
        self.lines: list[str] = []
        self.troubles: list[str] = []
        self.logs = RunLogs(
            cast(Transport, api),
            "ns",
            "run-1",
            options,
            line=lambda source, line: self.lines.append(
                f"{source.restarts}:{print_line(source, line, options)}"
            ),
            trouble=self.troubles.append,
        )


def test_run_logs_follows_each_container_as_it_starts_and_drains_at_the_end() -> None:
    async def scenario() -> Followed:
        api = FakeLogs([pod("run-1-a", containers={"main": WAITING}, version="9")])
        followed = Followed(api, LogOptions(prefix=True))
        await followed.logs.start()
        await settle()
        assert api.opened == []  # not started: no log yet
        api.events.put_nowait(("MODIFIED", pod("run-1-a", version="11")))
        await settle()
        api.log("run-1-a").put_nowait(b"first")
        await settle()
        assert followed.lines == ["0:[pod/run-1-a/main] first"]
        # The same start of the container again: no new stream.
        api.events.put_nowait(("MODIFIED", pod("run-1-a", version="12")))
        api.log("run-1-a").put_nowait(None)  # its container exited
        # The Job's second pod; the watch has not told of it when the run ends.
        api.pods["run-1-b"] = pod("run-1-b", created="2026-11-22T08:01:00Z", version="13")
        api.log("run-1-b").put_nowait(b"second")
        await followed.logs.finish(grace=0.05)  # run-1-b's log never ends: cut after the grace
        return followed

    followed = asyncio.run(scenario())
    assert followed.lines == ["0:[pod/run-1-a/main] first", "0:[pod/run-1-b/main] second"]
    assert followed.troubles == []
    assert followed.api.opened == [
        ("run-1-a", {"container": "main", "follow": "true"}),
        ("run-1-b", {"container": "main", "follow": "true"}),
    ]


def test_run_logs_a_restarted_container_gets_a_new_stream_and_a_refused_one_is_told() -> None:
    async def scenario() -> Followed:
        api = FakeLogs([pod("run-1-a")])
        followed = Followed(api, LogOptions())
        await followed.logs.start()
        await settle()
        api.log("run-1-a").put_nowait(b"try 1")
        api.log("run-1-a").put_nowait(None)
        await settle()
        api.events.put_nowait(("MODIFIED", pod("run-1-a", restarts=1, version="11")))
        await settle()
        api.log("run-1-a").put_nowait(b"try 2")
        api.log("run-1-a").put_nowait(KubeError(403, "Forbidden", 'cannot get resource "pods/log"'))
        await settle()
        await followed.logs.finish(grace=0.05)
        return followed

    followed = asyncio.run(scenario())
    assert followed.lines == ["0:try 1", "1:try 2"]
    assert len(followed.api.opened) == 2
    assert followed.troubles == ['the log of pod/run-1-a/main: cannot get resource "pods/log"']


def test_run_logs_refuses_a_container_the_pods_do_not_have() -> None:
    async def scenario() -> None:
        followed = Followed(FakeLogs([pod("run-1-a")]), LogOptions(container="sidecar"))
        try:
            await followed.logs.start()
        finally:
            await followed.logs.stop()

    with pytest.raises(PluginError, match="no container 'sidecar'"):
        asyncio.run(scenario())
