"""Where the API server is and who we are to it: kubeconfig files read as kubectl reads them.

`load` follows kubectl's order: an explicit file, else every file listed in
`KUBECONFIG` (merged: for clusters, users and contexts the first file to name an
entry wins, as does the first `current-context`; missing files are skipped),
else `~/.kube/config`, else the Pod's service account (in-cluster). Paths in a
file are relative to that file. The result is plain data; `credentials` turns
the user entry into headers and certificates, running exec plugins as needed.
"""

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rerunnable.kube.errors import ConfigError

__all__ = [
    "IN_CLUSTER_DIR",
    "ClusterConfig",
    "ExecConfig",
    "UserConfig",
    "kubeconfig_paths",
    "load",
]

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
Entry = Mapping[str, Any]


@dataclass(frozen=True)
class ExecConfig:
    """An exec credential plugin (client.authentication.k8s.io): a command that prints a token."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"
    install_hint: str | None = None
    provide_cluster_info: bool = False


@dataclass(frozen=True)
class UserConfig:
    """A kubeconfig user entry, its files read; `credentials` makes requests from it."""

    token: str | None = None
    token_file: Path | None = None
    username: str | None = None
    password: str | None = None
    client_certificate: bytes | None = None  # PEM
    client_key: bytes | None = None  # PEM
    exec: ExecConfig | None = None
    # Impersonation (kubectl rerun --as, --as-group): sent as the Impersonate-User and
    # Impersonate-Group headers of every request `Transport` makes.
    impersonate: str | None = None
    impersonate_groups: tuple[str, ...] = ()

    def impersonation_headers(self) -> list[tuple[str, str]]:
        """The Impersonate-* headers (a group per header, as client-go sends them)."""
        if self.impersonate is None:
            return []
        return [
            ("Impersonate-User", self.impersonate),
            *(("Impersonate-Group", group) for group in self.impersonate_groups),
        ]


@dataclass(frozen=True)
class ClusterConfig:
    """One context of a kubeconfig: the server, how to trust it, the user, the namespace."""

    server: str
    user: UserConfig = field(default_factory=UserConfig)
    ca: bytes | None = None  # PEM; None: the system's trust store
    insecure: bool = False
    tls_server_name: str | None = None
    namespace: str = "default"
    source: str = ""  # where it came from, for messages

    def cluster_info(self) -> dict[str, Any]:
        """What an exec plugin with provideClusterInfo receives (ExecCredential spec.cluster)."""
        info: dict[str, Any] = {"server": self.server, "insecure-skip-tls-verify": self.insecure}
        if self.ca is not None:
            info["certificate-authority-data"] = base64.b64encode(self.ca).decode()
        if self.tls_server_name:
            info["tls-server-name"] = self.tls_server_name
        return info


def kubeconfig_paths(explicit: str | None = None) -> list[Path]:
    """The files kubectl would read, in order: --kubeconfig, else $KUBECONFIG's list, else
    ~/.kube/config. Only existing files are returned (an explicit one must exist)."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"kubeconfig {explicit}: no such file")
        return [path]
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p.strip()]
    candidates = listed or ["~/.kube/config"]
    return [Path(p).expanduser() for p in candidates if Path(p).expanduser().is_file()]


def load(
    explicit: str | None = None,
    *,
    context: str | None = None,
    cluster: str | None = None,
    user: str | None = None,
) -> ClusterConfig:
    """The configuration to connect with; ConfigError saying what is missing or wrong.

    `cluster` and `user` (kubectl's --cluster, --user) name the kubeconfig's cluster and
    user entries to use instead of the context's.
    """
    paths = kubeconfig_paths(explicit)
    if paths:
        return _from_files(paths, context, cluster, user)
    no_choice = context is None and cluster is None and user is None
    if no_choice and (IN_CLUSTER_DIR / "token").is_file():
        return in_cluster()
    raise ConfigError(
        "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, "
        "or run in a Pod with a service account"
    )


def in_cluster(directory: Path | None = None) -> ClusterConfig:
    directory = directory or IN_CLUSTER_DIR
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise ConfigError("in-cluster: KUBERNETES_SERVICE_HOST is not set")
    host = f"[{host}]" if ":" in host else host
    namespace_file = directory / "namespace"
    return ClusterConfig(
        server=f"https://{host}:{port}",
        user=UserConfig(token_file=directory / "token"),
        ca=(directory / "ca.crt").read_bytes(),
        namespace=namespace_file.read_text().strip() if namespace_file.is_file() else "default",
        source="in-cluster service account",
    )


@dataclass
class _Merged:
    current_context: str | None = None
    contexts: dict[str, tuple[Entry, Path]] = field(default_factory=dict)
    clusters: dict[str, tuple[Entry, Path]] = field(default_factory=dict)
    users: dict[str, tuple[Entry, Path]] = field(default_factory=dict)


def _from_files(
    paths: Sequence[Path],
    context: str | None,
    cluster_override: str | None = None,
    user_override: str | None = None,
) -> ClusterConfig:
    merged = _Merged()
    for path in paths:
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"kubeconfig {path} is not valid: {str(e).splitlines()[0]}") from None
        if not isinstance(document, Mapping):
            raise ConfigError(f"kubeconfig {path} is not valid: not a YAML mapping")
        if merged.current_context is None and document.get("current-context"):
            merged.current_context = str(document["current-context"])
        for key, table, inner in (
            ("contexts", merged.contexts, "context"),
            ("clusters", merged.clusters, "cluster"),
            ("users", merged.users, "user"),
        ):
            for item in document.get(key) or []:
                name = item.get("name") if isinstance(item, Mapping) else None
                if isinstance(name, str) and name not in table:
                    table[name] = (item.get(inner) or {}, path)
    where = ", ".join(str(p) for p in paths)
    chosen = context or merged.current_context
    if not chosen:
        raise ConfigError(f"kubeconfig {where} is not valid: no current-context; pass --context")
    if chosen not in merged.contexts:
        raise ConfigError(f"kubeconfig {where}: no context named {chosen!r}")
    ctx, _ = merged.contexts[chosen]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_override is not None:
        if cluster_override not in merged.clusters:
            raise ConfigError(f"--cluster: no cluster named {cluster_override!r} in {where}")
        cluster_name = cluster_override
    if user_override is not None:
        if user_override not in merged.users:
            raise ConfigError(f"--user: no user named {user_override!r} in {where}")
        user_name = user_override
    if cluster_name not in merged.clusters:
        raise ConfigError(
            f"kubeconfig {where} is not valid: context {chosen!r} names no known cluster"
        )
    cluster, cluster_file = merged.clusters[str(cluster_name)]
    user, user_file = merged.users.get(str(user_name), ({}, cluster_file))
    server = cluster.get("server")
    if not server:
        raise ConfigError(
            f"kubeconfig {cluster_file} is not valid: cluster {cluster_name!r} has no server"
        )
    return ClusterConfig(
        server=str(server).rstrip("/"),
        user=_user(user, user_file),
        ca=_data_or_file(cluster, "certificate-authority", cluster_file),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name"),
        namespace=str(ctx.get("namespace") or "default"),
        source=f"context {chosen!r} of {where}",
    )


def _data_or_file(entry: Entry, key: str, origin: Path) -> bytes | None:
    """`<key>-data` (base64) or `<key>` (a file, relative to the kubeconfig that names it)."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data)
        except ValueError:
            raise ConfigError(f"kubeconfig {origin}: {key}-data is not base64") from None
    name = entry.get(key)
    if not name:
        return None
    path = _relative(origin, name)
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"kubeconfig {origin}: {key} {path}: {e.strerror}") from None


def _relative(origin: Path, name: str) -> Path:
    path = Path(name).expanduser()
    return path if path.is_absolute() else origin.parent / path


def _user(user: Entry, origin: Path) -> UserConfig:
    exec_entry = user.get("exec")
    exec_config = None
    if isinstance(exec_entry, Mapping):
        command = exec_entry.get("command")
        if not command:
            raise ConfigError(f"kubeconfig {origin}: exec has no command")
        # A command with a path separator is relative to the kubeconfig, as kubectl resolves it.
        resolved = str(_relative(origin, command)) if os.sep in str(command) else str(command)
        exec_config = ExecConfig(
            command=resolved,
            args=tuple(str(a) for a in exec_entry.get("args") or []),
            env=tuple((str(e["name"]), str(e["value"])) for e in exec_entry.get("env") or []),
            api_version=str(exec_entry.get("apiVersion") or "client.authentication.k8s.io/v1"),
            install_hint=exec_entry.get("installHint"),
            provide_cluster_info=bool(exec_entry.get("provideClusterInfo", False)),
        )
    provider = user.get("auth-provider")
    token = user.get("token")
    if isinstance(provider, Mapping) and not token and exec_config is None:
        # Legacy auth providers (removed from kubectl in 1.26): an oidc id-token or a cached
        # access token is used as it is; nothing here can refresh it.
        config = provider.get("config") or {}
        token = config.get("id-token") or config.get("access-token")
        if not token:
            raise ConfigError(
                f"kubeconfig {origin}: auth-provider {provider.get('name')!r} holds no token; "
                "use an exec credential plugin (e.g. kubelogin, gke-gcloud-auth-plugin)"
            )
    token_file = user.get("tokenFile")
    return UserConfig(
        token=str(token) if token else None,
        token_file=_relative(origin, token_file) if token_file else None,
        username=user.get("username"),
        password=user.get("password"),
        client_certificate=_data_or_file(user, "client-certificate", origin),
        client_key=_data_or_file(user, "client-key", origin),
        exec=exec_config,
    )
