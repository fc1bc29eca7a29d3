"""Who we are to the API server, for every request: one source for the writes and the watches.

A kubeconfig user is one of: a bearer token; a token file (service account
tokens rotate: it is read again after a 401, as client-go does); a username and
password; a client certificate; or an exec credential plugin (EKS, GKE, AKS and
OIDC kubeconfigs), whose output is kept until its `expirationTimestamp` and
which is run again when that passes or when the server answers 401.

`Credentials.current()` is what to send now; `refresh(used)` is called after a
401 with the credential that was refused, so that many requests refused at once
run the plugin once.
"""

import asyncio
import base64
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from rerunnable.kube.config import ClusterConfig, ExecConfig
from rerunnable.kube.errors import ConfigError

__all__ = ["EXPIRY_SKEW", "Credential", "Credentials", "parse_exec_credential", "run_plugin"]

# A credential this close to its expiry is renewed before use, not refused after.
EXPIRY_SKEW = timedelta(seconds=10)
PLUGIN_TIMEOUT = 60.0  # seconds an exec plugin may take


@dataclass(frozen=True)
class Credential:
    token: str | None = None
    basic: tuple[str, str] | None = None
    client_certificate: bytes | None = None  # PEM, with client_key
    client_key: bytes | None = None
    expires: datetime | None = None
    serial: int = 0  # which refresh produced it

    def authorization(self) -> str | None:
        """The Authorization header's value, if any."""
        if self.token:
            return f"Bearer {self.token}"
        if self.basic:
            pair = f"{self.basic[0]}:{self.basic[1]}".encode()
            return f"Basic {base64.b64encode(pair).decode()}"
        return None

    def expired(self, now: datetime) -> bool:
        return self.expires is not None and now >= self.expires - EXPIRY_SKEW


def parse_exec_credential(output: str, plugin: ExecConfig) -> Credential:
    """An exec plugin's stdout (an ExecCredential object) as a Credential; ConfigError if not."""
    where = f"exec plugin {plugin.command}"
    try:
        document = json.loads(output)
    except ValueError:
        raise ConfigError(f"{where}: its output is not JSON") from None
    if not isinstance(document, dict) or document.get("kind") != "ExecCredential":
        raise ConfigError(f"{where}: its output is not an ExecCredential")
    if document.get("apiVersion") != plugin.api_version:
        raise ConfigError(
            f"{where}: answered {document.get('apiVersion')!r}, the kubeconfig asks for "
            f"{plugin.api_version!r}"
        )
    status = document.get("status") or {}
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if not token and not (cert and key):
        raise ConfigError(
            f"{where}: the ExecCredential has neither a token nor a client certificate and key"
        )
    expires = None
    if status.get("expirationTimestamp"):
        try:
            expires = datetime.fromisoformat(str(status["expirationTimestamp"]))
        except ValueError:
            raise ConfigError(f"{where}: expirationTimestamp is not an RFC 3339 time") from None
    return Credential(
        token=token or None,
        client_certificate=cert.encode() if cert and key else None,
        client_key=key.encode() if cert and key else None,
        expires=expires,
    )


async def run_plugin(plugin: ExecConfig, cluster: ClusterConfig) -> str:
    """Run an exec plugin non-interactively and return its stdout."""
    info: dict[str, Any] = {
        "apiVersion": plugin.api_version,
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    if plugin.provide_cluster_info:
        info["spec"]["cluster"] = cluster.cluster_info()
    env = {**os.environ, **dict(plugin.env), "KUBERNETES_EXEC_INFO": json.dumps(info)}
    try:
        process = await asyncio.create_subprocess_exec(
            plugin.command,
            *plugin.args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as e:
        hint = f" ({plugin.install_hint.strip()})" if plugin.install_hint else ""
        raise ConfigError(f"exec plugin {plugin.command}: {e.strerror}{hint}") from None
    try:
        out, err = await asyncio.wait_for(process.communicate(), PLUGIN_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ConfigError(
            f"exec plugin {plugin.command}: no answer in {PLUGIN_TIMEOUT:.0f}s"
        ) from None
    if process.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        last = f": {detail[-1]}" if detail else ""
        raise ConfigError(f"exec plugin {plugin.command} exited {process.returncode}{last}")
    return out.decode()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Credentials:
    def __init__(
        self,
        cluster: ClusterConfig,
        *,
        clock: Callable[[], datetime] = _utcnow,
        runner: Callable[[ExecConfig, ClusterConfig], Awaitable[str]] = run_plugin,
    ) -> None:
        self._cluster = cluster
        self._clock = clock
        self._runner = runner
        self._lock = asyncio.Lock()
        self._current: Credential | None = None
        self._serial = 0
        self.plugin_runs = 0

    @property
    def uses_plugin(self) -> bool:
        return self._cluster.user.exec is not None

    async def current(self) -> Credential:
        """The credential to send now (an exec plugin runs first if it has none or it expired)."""
        found = self._current
        if found is not None and not found.expired(self._clock()):
            return found
        async with self._lock:
            found = self._current
            if found is None or found.expired(self._clock()):
                found = await self._fetch()
        return found

    async def refresh(self, refused: Credential) -> Credential:
        """After a 401 with `refused`: read the token file or run the plugin again, once."""
        async with self._lock:
            if self._current is not None and self._current.serial != refused.serial:
                return self._current  # another request refreshed it already
            return await self._fetch()

    async def _fetch(self) -> Credential:
        user = self._cluster.user
        self._serial += 1
        if user.exec is not None:
            self.plugin_runs += 1
            fetched = parse_exec_credential(await self._runner(user.exec, self._cluster), user.exec)
        elif user.token_file is not None:
            try:
                token = user.token_file.read_text().strip()
            except OSError as e:
                raise ConfigError(f"token file {user.token_file}: {e.strerror}") from None
            fetched = Credential(token=token)
        else:
            basic = (user.username, user.password or "") if user.username else None
            fetched = Credential(token=user.token, basic=basic)
        if fetched.client_certificate is None and user.client_certificate and user.client_key:
            fetched = replace(
                fetched, client_certificate=user.client_certificate, client_key=user.client_key
            )
        self._current = replace(fetched, serial=self._serial)
        return self._current
