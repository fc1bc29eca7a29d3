"""The plugin's access to the API server: kubeconfig like kubectl, and the few calls it makes.

Every call returns plain dicts and turns API errors into PluginError with the
server's message, so commands never show a traceback for an expected failure.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import yaml
from lightkube import ApiError, Client, KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.resources.core_v1 import Event
from lightkube.types import PatchType

from rerunnable.api.names import EXECUTION_KIND, GROUP, LABEL_RERUNNABLE_JOB, VERSION
from rerunnable.kube import ExecutionResource, RerunnableJobResource
from rerunnable.plugin.errors import PluginError

__all__ = ["Cluster", "TransientError", "connect"]

FIELD_MANAGER = "kubectl-rerun"

Body = dict[str, Any]


def _load_kubeconfig(path: str | None) -> KubeConfig:
    """kubectl's order: --kubeconfig, $KUBECONFIG, ~/.kube/config, in-cluster service account.

    Of a $KUBECONFIG list (a:b) the first existing file is used; kubectl would merge them.
    """
    if path:
        return KubeConfig.from_file(path)
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    for candidate in [*listed, str(Path("~/.kube/config").expanduser())]:
        if Path(candidate).expanduser().is_file():
            return KubeConfig.from_file(Path(candidate).expanduser())
    try:
        return KubeConfig.from_service_account()
    except ConfigError:
        raise PluginError(
            "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config"
        ) from None


class TransientError(Exception):
    """The API server could not answer now (connection lost, 429, 5xx): worth another try."""


def _transient(e: Exception) -> bool:
    if isinstance(e, httpx2.TransportError):
        return True
    return isinstance(e, ApiError) and (e.status.code == 429 or (e.status.code or 0) >= 500)


class Cluster:
    """A connected client and the namespace commands work in."""

    def __init__(self, client: Client, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def _not_found(self, e: ApiError, what: str) -> PluginError:
        message = str(e.status.message or e)
        if "could not find the requested resource" in message:
            return PluginError(
                f"{message} (are the Rerunnable CRDs installed? kubectl apply -f crds/)"
            )
        return PluginError(f'{what} not found in namespace "{self.namespace}"')

    def get_rjob(self, name: str) -> Body:
        try:
            return dict(self.client.get(RerunnableJobResource, name, namespace=self.namespace))
        except ApiError as e:
            if e.status.code == 404:
                raise self._not_found(e, f'rerunnablejob "{name}"') from None
            raise

    def find_rjob(self, name: str) -> Body | None:
        try:
            return self.get_rjob(name)
        except PluginError:
            return None

    def find_execution(self, name: str) -> Body | None:
        try:
            return dict(self.client.get(ExecutionResource, name, namespace=self.namespace))
        except ApiError as e:
            if e.status.code == 404:
                return None
            raise

    def look(self, rjob: str, execution: str) -> tuple[Body | None, Body | None]:
        """The RerunnableJob, then the Execution (None: not found), read in this order.

        Raises TransientError when the API server cannot answer now.
        """
        try:
            return self.find_rjob(rjob), self.find_execution(execution)
        except (ApiError, httpx2.TransportError) as e:
            if _transient(e):
                message = e.status.message if isinstance(e, ApiError) else str(e)
                raise TransientError(message or type(e).__name__) from e
            raise

    def executions_of(self, rjob: str) -> list[Body]:
        items = self.client.list(
            ExecutionResource, namespace=self.namespace, labels={LABEL_RERUNNABLE_JOB: rjob}
        )
        result = []
        for item in items:
            body = dict(item)
            meta = dict(body.get("metadata") or {})
            meta.pop("managedFields", None)  # as kubectl get -o json|yaml
            body["metadata"] = meta
            body.setdefault("apiVersion", f"{GROUP}/{VERSION}")
            body.setdefault("kind", EXECUTION_KIND)
            result.append(body)
        return result

    def patch_rjob(self, name: str, patch: Mapping[str, Any]) -> Body:
        """A JSON merge patch (RFC 7386: null removes a field)."""
        try:
            patched = self.client.patch(
                RerunnableJobResource,
                name,
                dict(patch),
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
                field_manager=FIELD_MANAGER,
            )
        except ApiError as e:
            if e.status.code == 404:
                raise self._not_found(e, f'rerunnablejob "{name}"') from None
            raise
        return dict(patched)

    def events_about_rjob(self, rjob: str) -> list[tuple[str, str]]:
        """(reason, message) of the Events about RerunnableJob `rjob`; [] if they cannot be read."""
        try:
            events = self.client.list(
                Event,
                namespace=self.namespace,
                fields={"involvedObject.name": rjob, "involvedObject.kind": "RerunnableJob"},
            )
            return [(e.reason or "", e.message or "") for e in events]
        except ApiError:
            return []


@contextmanager
def connect(
    *, kubeconfig: str | None, context: str | None, namespace: str | None
) -> Iterator[Cluster]:
    """A Cluster for the kubeconfig's context (or --context); namespace: given, the context's,
    else "default". API and connection errors inside become PluginError."""
    try:
        config = _load_kubeconfig(kubeconfig).get(context_name=context)
    except ConfigError as e:
        raise PluginError(f"kubeconfig: {e}") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as e:
        detail = f"no {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
        raise PluginError(f"kubeconfig {kubeconfig or ''} is not valid: {detail}") from None
    if config is None:  # pragma: no cover - get() raises instead
        raise PluginError("kubeconfig: no context")
    chosen = namespace or config.namespace
    try:
        client = Client(config=config, namespace=chosen, field_manager=FIELD_MANAGER)
    except ConfigError as e:
        raise PluginError(f"kubeconfig: {e}") from None
    try:
        yield Cluster(client, chosen)
    except ApiError as e:
        raise PluginError(str(e.status.message or e)) from None
    except httpx2.HTTPError as e:
        raise PluginError(f"cannot reach the API server: {e}") from None
    finally:
        client.close()
