"""The plugin's access to the API server: kubeconfig as kubectl reads it, and the few calls
the commands make.

`Cluster` is what the commands need; `ApiCluster` answers through the
operator's own client (rerunnable.kube: the same kubeconfig merging and exec
credential plugins), one call at a time on an event loop of its own. Every
call returns plain dicts and turns API errors into PluginError with the
server's message, so commands never show a traceback for an expected failure.
"""

import asyncio
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from rerunnable.api.names import LABEL_EXECUTION, LABEL_RERUNNABLE_JOB
from rerunnable.kube import ConfigError, Credentials, KubeError, NotFoundError, load
from rerunnable.kube.errors import ConflictError, UnavailableError
from rerunnable.kube.resources import EVENTS, EXECUTIONS, PODS, RERUNNABLE_JOBS, Resource
from rerunnable.kube.transport import MERGE_PATCH, TIMEOUT, Transport
from rerunnable.plugin.errors import PluginError

__all__ = ["ApiCluster", "Cluster", "TransientError", "connect"]

FIELD_MANAGER = "kubectl-rerun"

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
        """The pods of an Execution's Job (by its label); [] if they cannot be read."""
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

    def look(self, rjob: str, execution: str) -> tuple[Body | None, Body | None]:
        """The RerunnableJob, then the Execution (None: not found), read in this order.

        Raises TransientError when the API server cannot answer now.
        """
        return self.find_rjob(rjob), self.find_execution(execution)


class ApiCluster(Cluster):
    def __init__(self, transport: Transport, namespace: str, runner: asyncio.Runner) -> None:
        super().__init__(namespace)
        self._transport = transport
        self._runner = runner

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

    def look(self, rjob: str, execution: str) -> tuple[Body | None, Body | None]:
        try:
            return super().look(rjob, execution)
        except UnavailableError as e:
            raise TransientError(e.message or type(e).__name__) from e

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
        except KubeError:
            return []

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
        async def listed() -> list[tuple[str, str]]:
            fields = f"involvedObject.name={rjob},involvedObject.kind=RerunnableJob"
            found = self._transport.list(EVENTS, self.namespace, fields=fields)
            return [(str(e.get("reason") or ""), str(e.get("message") or "")) async for e in found]

        try:
            return self._call(listed())
        except KubeError:
            return []

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
) -> Iterator[Cluster]:
    """A Cluster for the kubeconfig's context (or --context), with its cluster or user entry
    replaced by --cluster or --user, as --as (and --as-group) if given, each request limited
    to `request_timeout` seconds (None: no limit); namespace: given, the context's, else
    "default". API and connection errors inside become PluginError."""
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
        transport = Transport(config, Credentials(config), timeout=request_timeout)
        try:
            yield ApiCluster(transport, namespace or config.namespace, runner)
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
            runner.run(transport.close())
