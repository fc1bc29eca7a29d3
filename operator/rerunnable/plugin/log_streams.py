"""The logs of a run's pods as the API server streams them: `kubectl rerun logs` and
`run --wait --logs`.

`RunLogs` follows one run: a WATCH of its pods (by the label
rerunnable.dev/execution), and a stream of GET .../pods/POD/log?follow=true for
each container once it has started (`pod_logs.readable`): a pod the Job makes
again, or a container that restarts, gets a stream of its own. Each line is
handed on as it comes. `read_logs` reads the logs there are now, one container
after the other.

A stream that fails (403 on pods/log, a kubelet that cannot be reached) is told
to `trouble` and ends; the other streams go on.
"""

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any

from rerunnable.api.names import LABEL_EXECUTION
from rerunnable.kube.errors import KubeError
from rerunnable.kube.resources import PODS
from rerunnable.kube.transport import Transport
from rerunnable.kube.watching import Watched
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.pod_logs import LogOptions, Source, check_container, log_query, readable

__all__ = ["Line", "RunLogs", "Trouble", "read_logs"]

Body = dict[str, Any]
Line = Callable[[Source, bytes], None]  # a line of a container's log, without its newline
Trouble = Callable[[str], None]  # why a log cannot be read


def _log_path(namespace: str, source: Source) -> str:
    return PODS.path(namespace, source.pod, "log")


async def read_logs(
    transport: Transport,
    namespace: str,
    sources: Iterable[Source],
    options: LogOptions,
    line: Line,
) -> None:
    """The logs of `sources` as they are now, whole, one after the other."""
    for source in sources:
        query = log_query(source, options, follow=False)
        async for each in transport.stream(_log_path(namespace, source), query):
            line(source, each)


class RunLogs:
    def __init__(
        self,
        transport: Transport,
        namespace: str,
        execution: str,
        options: LogOptions,
        *,
        line: Line,
        trouble: Trouble,
    ) -> None:
        self._transport = transport
        self._namespace = namespace
        self._execution = execution
        self._options = options
        self._line = line
        self._trouble = trouble
        self._labels = f"{LABEL_EXECUTION}={execution}"
        self._pods = Watched(
            transport, PODS, namespace, labels=self._labels, changed=self._pods_changed
        )
        self._streams: dict[Source, asyncio.Task[None]] = {}
        self._told: KubeError | None = None

    async def start(self) -> None:
        """Read the run's pods (its error is raised), stream the logs there are, and follow."""
        await self._pods.start()
        try:
            check_container(self._pods.objects.values(), self._options.container, self._execution)
        except PluginError:
            await self._pods.stop()
            raise
        self._open(self._pods.objects.values())

    async def finish(self, grace: float) -> None:
        """Once the run has ended: read its pods once more (a container may have started
        since the watch's last event), stream what is new, wait at most `grace` seconds
        for every stream to end (the kubelet ends one when its container has exited), stop.
        """
        try:
            found = self._transport.list(PODS, self._namespace, labels=self._labels)
            pods = [pod async for pod in found]
        except KubeError as e:
            self._trouble(f"cannot list the pods of execution {self._execution}: {e.message}")
        else:
            self._open(pods)
        running = [task for task in self._streams.values() if not task.done()]
        if running:
            await asyncio.wait(running, timeout=grace)
        await self.stop()

    async def stop(self) -> None:
        await self._pods.stop()
        for task in self._streams.values():
            task.cancel()
        for task in self._streams.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _pods_changed(self) -> None:
        failure = self._pods.failure
        if failure is not None and failure is not self._told:
            self._told = failure
            self._trouble(
                f"cannot watch the pods of execution {self._execution}: {failure.message}"
            )
        self._open(self._pods.objects.values())

    def _open(self, pods: Iterable[Body]) -> None:
        for source in readable(pods, self._options.container):
            if source not in self._streams:
                stream = self._stream(source)
                self._streams[source] = asyncio.get_running_loop().create_task(stream)

    async def _stream(self, source: Source) -> None:
        query = log_query(source, self._options, follow=True)
        try:
            async for line in self._transport.stream(_log_path(self._namespace, source), query):
                self._line(source, line)
        except KubeError as e:
            self._trouble(f"the log of pod/{source.pod}/{source.container}: {e.message}")
