"""The plugin's access to the API server: kubeconfig as kubectl reads it, and the few calls
the commands make.

`Cluster` is what the commands need; `ApiCluster` answers through the
operator's own client (rerunnable.kube: the same kubeconfig merging and exec
credential plugins), one call at a time on an event loop of its own. Every
call returns plain dicts and turns API errors into PluginError with the
server's message, so commands never show a traceback for an expected failure.

A command that waits (--wait) reads through `current_rjob`, `current_execution`
and `events_about_rjob`, then calls `wait_for_change`: `ApiCluster` answers them
from WATCHes (`kube.watching`: one read, then only the changes), so a wait costs
no request per look; the watch tasks run while the loop does, in `wait_for_change`.
So do the log streams of `follow_logs` (`log_streams.RunLogs`).
"""

import asyncio
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any, TextIO, TypeVar

from rerunnable.api.names import LABEL_EXECUTION, LABEL_RERUNNABLE_JOB
from rerunnable.kube import ConfigError, Credentials, KubeError, NotFoundError, load
from rerunnable.kube.errors import ConflictError, UnavailableError
from rerunnable.kube.resources import EVENTS, EXECUTIONS, PODS, RERUNNABLE_JOBS, Resource
from rerunnable.kube.transport import MERGE_PATCH, TIMEOUT, Answered, Transport
from rerunnable.kube.watching import Watched
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.log_streams import Line, RunLogs, Trouble, read_logs
from rerunnable.plugin.pod_logs import LogOptions, Source

__all__ = ["ApiCluster", "Cluster", "TransientError", "connect"]

FIELD_MANAGER = "kubectl-rerun"
# Seconds a run's log streams get to end once it has: the kubelet ends each when its container
# has exited, so this is only spent on a stream that does not end (kwok's logs that follow).
LOG_DRAIN = 2.0

Body = dict[str, Any]
T = TypeVar("T")


class TransientError(Exception):
    """The API server could not answer now (connection lost, 429, 5xx): worth another try."""


class Cluster:
    """The calls the commands make, in the namespace they work in."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace

    def get_rjob(self, name: str) -> Body:
        raise NotImplementedError

    def find_rjob(self, name: str) -> Body | None:
        raise NotImplementedError

    def find_execution(self, name: str) -> Body | None:
        raise NotImplementedError

    def executions_of(self, rjob: str) -> list[Body]:
        raise NotImplementedError

    def get_execution(self, name: str) -> Body:
        found = self.find_execution(name)
        if found is None:
            raise PluginError(f'execution "{name}" not found in namespace "{self.namespace}"')
        return found

    def pods_of(self, execution: str) -> list[Body]:
        """The pods of an Execution's Job (by its label). PluginError if they cannot be
        read (403: no list on pods), saying why."""
        raise NotImplementedError

    def patch_rjob(self, name: str, patch: Mapping[str, Any]) -> Body:
        """A JSON merge patch (RFC 7386: null removes a field)."""
        raise NotImplementedError

    def patch_execution(self, name: str, patch: Mapping[str, Any], version: str) -> Body | None:
        """A JSON merge patch of the Execution as it was at resourceVersion `version`; None
        if it has changed since (nothing is written then)."""
        raise NotImplementedError

    def events_about_rjob(self, rjob: str) -> list[tuple[str, str]]:
        """(reason, message) of the Events about RerunnableJob `rjob`; [] if unreadable."""
        raise NotImplementedError

    def names(self, resource: Resource, *, namespaced: bool = True) -> list[str]:
        """The names of `resource`'s objects in the namespace (namespaced=False: all)."""
        raise NotImplementedError

    def current_rjob(self, name: str) -> Body | None:
        """The RerunnableJob as last seen (None: not found), for a command that waits for it
        to change (`wait_for_change`). Raises TransientError when the API server cannot
        answer now."""
        return self.find_rjob(name)

    def current_execution(self, name: str) -> Body | None:
        """The Execution as last seen (None: not found); as `current_rjob`."""
        return self.find_execution(name)

    def look(self, rjob: str, execution: str) -> tuple[Body | None, Body | None]:
        """The RerunnableJob, then the Execution (None: not found), read in this order.

        Raises TransientError when the API server cannot answer now.
        """
        return self.current_rjob(rjob), self.current_execution(execution)

    def wait_for_change(self, seconds: float) -> bool:
        """Return once an object read through `current_*` or `events_about_rjob` may have
        changed, or after `seconds`; True. False: this cluster cannot tell changes (a test
        double), the caller looks again after a step of its own."""
        return False

    def read_logs(self, sources: Sequence[Source], options: LogOptions, line: Line) -> None:
        """The logs of `sources` (containers of a run's pods) as they are now, in turn."""
        raise NotImplementedError

    def follow_logs(
        self, execution: str, options: LogOptions, line: Line, trouble: Trouble
    ) -> None:
        """Start following the logs of Execution `execution`'s pods: each line goes to
        `line` while the command waits (`wait_for_change`), from every container as it
        starts; why a log cannot be read goes to `trouble`. Until `end_logs`."""
        raise NotImplementedError

    def end_logs(self, execution: str) -> None:
        """The run has ended: the rest of its logs (LOG_DRAIN seconds at most), then stop."""
        raise NotImplementedError


class ApiCluster(Cluster):
    def __init__(self, transport: Transport, namespace: str, runner: asyncio.Runner) -> None:
        super().__init__(namespace)
        self._transport = transport
        self._runner = runner
        self._watches: dict[tuple[str, str], Watched] = {}
        self._change: asyncio.Event | None = None  # set: a change to look at
        self._unseen = True  # a change (or the first reads) the command has not looked at
        self._looked: list[asyncio.Future[None]] = []  # the watches held until it has
        self._logs: dict[str, RunLogs] = {}  # followed, by Execution

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._runner.run(coro)

    def _not_found(self, e: NotFoundError, what: str) -> PluginError:
        if "could not find the requested resource" in e.message:
            return PluginError(
                f"{e.message} (are the Rerunnable CRDs installed? kubectl apply -f crds/)"
            )
        return PluginError(f'{what} not found in namespace "{self.namespace}"')

    def get_rjob(self, name: str) -> Body:
        try:
            return self._get(RERUNNABLE_JOBS.path(self.namespace, name))
        except NotFoundError as e:
            raise self._not_found(e, f'rerunnablejob "{name}"') from None

    def find_rjob(self, name: str) -> Body | None:
        try:
            return self.get_rjob(name)
        except PluginError:
            return None

    def find_execution(self, name: str) -> Body | None:
        try:
            return self._get(EXECUTIONS.path(self.namespace, name))
        except NotFoundError:
            return None

    def current_rjob(self, name: str) -> Body | None:
        return self._watched(RERUNNABLE_JOBS, f"metadata.name={name}").get(name)

    def current_execution(self, name: str) -> Body | None:
        return self._watched(EXECUTIONS, f"metadata.name={name}").get(name)

    def wait_for_change(self, seconds: float) -> bool:
        async def changed() -> None:
            # The command has looked at the watches' current state: on to the next change.
            change = self._changes()
            change.clear()
            self._unseen = False
            for looked in self._looked:
                if not looked.done():
                    looked.set_result(None)
            self._looked.clear()
            with suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await change.wait()

        self._call(changed())
        return True

    def _changes(self) -> asyncio.Event:
        if self._change is None:
            self._change = asyncio.Event()
        return self._change

    async def _looked_at(self) -> None:
        """A watch's next change waits here while the command has not looked at the last one
        (each state is seen, none skipped for a newer one): until `wait_for_change`."""
        while self._unseen:
            looked = asyncio.get_running_loop().create_future()
            self._looked.append(looked)
            await looked

    def _changed(self) -> None:
        self._unseen = True
        self._changes().set()

    def _watched(self, resource: Resource, fields: str) -> Watched:
        """The WATCH of `fields`, opened at the first look (the initial read). Raises
        TransientError while the API server cannot answer, the watch's error if it ended."""
        watched = self._watches.get((resource.plural, fields))
        try:
            if watched is None:
                watched = Watched(
                    self._transport,
                    resource,
                    self.namespace,
                    fields,
                    ready=self._looked_at,
                    changed=self._changed,
                )
                self._call(watched.start())
                self._watches[(resource.plural, fields)] = watched
            if watched.failure is not None:
                raise watched.failure
        except UnavailableError as e:
            raise TransientError(e.message or type(e).__name__) from e
        return watched

    async def close(self) -> None:
        for watched in self._watches.values():
            await watched.stop()
        for logs in self._logs.values():
            await logs.stop()

    def read_logs(self, sources: Sequence[Source], options: LogOptions, line: Line) -> None:
        self._call(read_logs(self._transport, self.namespace, sources, options, line))

    def follow_logs(
        self, execution: str, options: LogOptions, line: Line, trouble: Trouble
    ) -> None:
        if execution in self._logs:
            return
        logs = RunLogs(
            self._transport, self.namespace, execution, options, line=line, trouble=trouble
        )
        try:
            self._call(logs.start())
        except KubeError as e:
            trouble(f"cannot follow the logs of execution {execution}: {e.message}")
            self._call(logs.stop())
            return
        self._logs[execution] = logs

    def end_logs(self, execution: str) -> None:
        logs = self._logs.pop(execution, None)
        if logs is not None:
            self._call(logs.finish(LOG_DRAIN))

    def executions_of(self, rjob: str) -> list[Body]:
        async def listed() -> list[Body]:
            found = self._transport.list(
                EXECUTIONS, self.namespace, labels=f"{LABEL_RERUNNABLE_JOB}={rjob}"
            )
            return [item async for item in found]

        result = []
        for body in self._call(listed()):
            body["metadata"].pop("managedFields", None)  # as kubectl get -o json|yaml
            result.append(body)
        return result

    def names(self, resource: Resource, *, namespaced: bool = True) -> list[str]:
        async def listed() -> list[str]:
            found = self._transport.list(resource, self.namespace if namespaced else None)
            return [str(item["metadata"]["name"]) async for item in found]

        return self._call(listed())

    def pods_of(self, execution: str) -> list[Body]:
        async def listed() -> list[Body]:
            selector = f"{LABEL_EXECUTION}={execution}"
            return [
                pod async for pod in self._transport.list(PODS, self.namespace, labels=selector)
            ]

        try:
            return self._call(listed())
        except KubeError as e:
            raise PluginError(
                f"cannot list the pods of execution {execution}: {e.message}"
            ) from None

    def patch_rjob(self, name: str, patch: Mapping[str, Any]) -> Body:
        try:
            return self._call(
                self._transport.request(
                    "PATCH",
                    RERUNNABLE_JOBS.path(self.namespace, name),
                    dict(patch),
                    params={"fieldManager": FIELD_MANAGER},
                    content_type=MERGE_PATCH,
                )
            )
        except NotFoundError as e:
            raise self._not_found(e, f'rerunnablejob "{name}"') from None

    def patch_execution(self, name: str, patch: Mapping[str, Any], version: str) -> Body | None:
        metadata = {**(patch.get("metadata") or {}), "resourceVersion": version}
        try:
            return self._call(
                self._transport.request(
                    "PATCH",
                    EXECUTIONS.path(self.namespace, name),
                    {**patch, "metadata": metadata},
                    params={"fieldManager": FIELD_MANAGER},
                    content_type=MERGE_PATCH,
                )
            )
        except ConflictError:
            return None
        except NotFoundError as e:
            raise self._not_found(e, f'execution "{name}"') from None

    def events_about_rjob(self, rjob: str) -> list[tuple[str, str]]:
        fields = f"involvedObject.name={rjob},involvedObject.kind=RerunnableJob"
        try:
            found = self._watched(EVENTS, fields).objects.values()
        except (KubeError, TransientError):
            return []
        return [(str(e.get("reason") or ""), str(e.get("message") or "")) for e in found]

    def _get(self, path: str) -> Body:
        return self._call(self._transport.request("GET", path))


@contextmanager
def connect(
    *,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    cluster: str | None = None,
    user: str | None = None,
    impersonate: str | None = None,
    impersonate_groups: Sequence[str] = (),
    request_timeout: float | None = TIMEOUT,
    log: TextIO | None = None,
) -> Iterator[Cluster]:
    """A Cluster for the kubeconfig's context (or --context), with its cluster or user entry
    replaced by --cluster or --user, as --as (and --as-group) if given, each request limited
    to `request_timeout` seconds (None: no limit); namespace: given, the context's, else
    "default". API and connection errors inside become PluginError. With `log` (-v 6), a
    line per request there: its method (WATCH for a watch), path and status."""
    try:
        config = load(kubeconfig, context=context, cluster=cluster, user=user)
    except ConfigError as e:
        raise PluginError(str(e)) from None
    if impersonate is not None:
        who = replace(
            config.user, impersonate=impersonate, impersonate_groups=tuple(impersonate_groups)
        )
        config = replace(config, user=who)
    with asyncio.Runner() as runner:
        answered = _unobserved if log is None else _logger(log)
        transport = Transport(
            config, Credentials(config), timeout=request_timeout, answered=answered
        )
        api = ApiCluster(transport, namespace or config.namespace, runner)
        try:
            yield api
        except UnavailableError as e:
            limit = ""
            if "Timeout" in e.message and request_timeout is not None:
                limit = f" (no answer within the request timeout, {request_timeout:g}s;"
                limit += " --request-timeout)"
            raise PluginError(f"cannot reach the API server: {e.message}{limit}") from None
        except KubeError as e:
            raise PluginError(e.message) from None
        except ConfigError as e:
            raise PluginError(str(e)) from None
        finally:
            runner.run(api.close())
            runner.run(transport.close())


def _unobserved(method: str, path: str, status: int) -> None:
    return None


def _logger(log: TextIO) -> Answered:
    def answered(method: str, path: str, status: int) -> None:
        print(f"{method} {path} {status or 'no answer'}", file=log, flush=True)

    return answered
