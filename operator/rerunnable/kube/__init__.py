"""The Kubernetes client of the operator and of `kubectl rerun`: one transport, one
credential source, one error translation.

Modules, each one concept: `config` (kubeconfig files as kubectl reads them),
`credentials` (tokens, token files, exec plugins), `transport` (JSON over
aiohttp), `errors`, `resources` (kinds and their paths), `client` (the calls
the reconciler makes), `events` and `leases`.
"""

from rerunnable.kube.config import ClusterConfig, load
from rerunnable.kube.credentials import Credentials
from rerunnable.kube.errors import (
    AlreadyExistsError,
    ConfigError,
    ConflictError,
    GoneError,
    InvalidError,
    KubeError,
    NameConflictError,
    NotFoundError,
    UnavailableError,
)
from rerunnable.kube.transport import Transport

__all__ = [
    "AlreadyExistsError",
    "ClusterConfig",
    "ConfigError",
    "ConflictError",
    "Credentials",
    "GoneError",
    "InvalidError",
    "KubeError",
    "NameConflictError",
    "NotFoundError",
    "Transport",
    "UnavailableError",
    "connect",
    "load",
]


def connect(kubeconfig: str | None = None, *, context: str | None = None) -> Transport:
    """A transport for the kubeconfig's context (kubectl's rules; see `config.load`)."""
    cluster = load(kubeconfig, context=context)
    return Transport(cluster, Credentials(cluster))
