"""kube.credentials: what each request sends; exec plugins run as kubectl runs them.

The exec plugins here are real programs (a small Python script), run as a
subprocess; what they print and how often they ran is what the tests check.
"""

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rerunnable.kube.config import ClusterConfig, ExecConfig, UserConfig
from rerunnable.kube.credentials import Credentials, parse_exec_credential
from rerunnable.kube.errors import ConfigError

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
API = "client.authentication.k8s.io/v1"

PLUGIN = """\
import json, os, pathlib, sys
calls = pathlib.Path(sys.argv[1])
count = int(calls.read_text()) + 1 if calls.exists() else 1
calls.write_text(str(count))
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
status = {"token": f"token-{count}"}
if len(sys.argv) > 2:
    status["expirationTimestamp"] = sys.argv[2]
print(json.dumps({"apiVersion": info["apiVersion"], "kind": "ExecCredential", "status": status}))
"""


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def plugin(tmp_path: Path, *args: str) -> tuple[ClusterConfig, Path]:
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN)
    calls = tmp_path / "calls"
    exec_config = ExecConfig(command=sys.executable, args=(str(script), str(calls), *args))
    return ClusterConfig(server="https://k", user=UserConfig(exec=exec_config)), calls


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_an_exec_plugin_runs_once_and_its_token_is_kept(tmp_path: Path) -> None:
    cluster, calls = plugin(tmp_path)
    credentials = Credentials(cluster)

    async def scenario() -> list[str | None]:
        return [(await credentials.current()).authorization() for _ in range(3)]

    assert run(scenario()) == ["Bearer token-1"] * 3
    assert calls.read_text() == "1"


def test_an_expired_credential_runs_the_plugin_again(tmp_path: Path) -> None:
    expiry = NOW + timedelta(minutes=15)
    cluster, calls = plugin(tmp_path, expiry.isoformat())
    clock = Clock()
    credentials = Credentials(cluster, clock=clock)

    async def scenario() -> list[str | None]:
        first = await credentials.current()
        clock.now = expiry - timedelta(minutes=1)
        still = await credentials.current()
        clock.now = expiry - timedelta(seconds=5)  # within the skew: renewed before use
        renewed = await credentials.current()
        return [first.token, still.token, renewed.token]

    assert run(scenario()) == ["token-1", "token-1", "token-2"]
    assert calls.read_text() == "2"


def test_many_requests_refused_at_once_run_the_plugin_once(tmp_path: Path) -> None:
    cluster, calls = plugin(tmp_path)
    credentials = Credentials(cluster)

    async def scenario() -> set[str | None]:
        refused = await credentials.current()
        fresh = await asyncio.gather(*(credentials.refresh(refused) for _ in range(5)))
        return {c.token for c in fresh}

    assert run(scenario()) == {"token-2"}
    assert calls.read_text() == "2"


def test_a_token_file_is_read_again_after_a_refusal(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("old\n")
    credentials = Credentials(ClusterConfig(server="https://k", user=UserConfig(token_file=token)))

    async def scenario() -> tuple[str | None, str | None]:
        first = await credentials.current()
        token.write_text("rotated\n")
        return first.token, (await credentials.refresh(first)).token

    assert run(scenario()) == ("old", "rotated")


def test_static_credentials() -> None:
    basic = UserConfig(username="admin", password="pw")
    cert = UserConfig(token="t", client_certificate=b"CERT", client_key=b"KEY")

    async def scenario() -> tuple[str | None, tuple[bytes | None, bytes | None]]:
        b = await Credentials(ClusterConfig(server="https://k", user=basic)).current()
        c = await Credentials(ClusterConfig(server="https://k", user=cert)).current()
        return b.authorization(), (c.client_certificate, c.client_key)

    authorization, pair = run(scenario())
    assert authorization == "Basic YWRtaW46cHc="
    assert pair == (b"CERT", b"KEY")


def test_a_plugin_may_answer_with_a_client_certificate() -> None:
    output = json.dumps(
        {
            "apiVersion": API,
            "kind": "ExecCredential",
            "status": {"clientCertificateData": "CERT", "clientKeyData": "KEY"},
        }
    )
    credential = parse_exec_credential(output, ExecConfig(command="p"))
    assert (credential.token, credential.client_certificate, credential.client_key) == (
        None,
        b"CERT",
        b"KEY",
    )


@pytest.mark.parametrize(
    ("name", "output", "message"),
    [
        ("not JSON", "token: x", "its output is not JSON"),
        ("not an ExecCredential", '{"kind": "Status"}', "its output is not an ExecCredential"),
        (
            "another API version",
            json.dumps({"apiVersion": "x/v0", "kind": "ExecCredential", "status": {"token": "t"}}),
            "answered 'x/v0', the kubeconfig asks for 'client.authentication.k8s.io/v1'",
        ),
        (
            "nothing to authenticate with",
            json.dumps({"apiVersion": API, "kind": "ExecCredential", "status": {}}),
            "neither a token nor a client certificate and key",
        ),
    ],
)
def test_a_plugin_answer_that_cannot_be_used_is_refused(
    name: str, output: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_exec_credential(output, ExecConfig(command="p"))


def test_a_missing_plugin_says_how_to_install_it() -> None:
    exec_config = ExecConfig(command="no-such-plugin", install_hint="install it with brew")
    credentials = Credentials(ClusterConfig(server="https://k", user=UserConfig(exec=exec_config)))
    with pytest.raises(
        ConfigError, match=r"exec plugin no-such-plugin: .*\(install it with brew\)"
    ):
        run(credentials.current())


def test_a_failing_plugin_shows_its_last_error_line(tmp_path: Path) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys; print('expired SSO session', file=sys.stderr); sys.exit(3)")
    exec_config = ExecConfig(command=sys.executable, args=(str(script),))
    credentials = Credentials(ClusterConfig(server="https://k", user=UserConfig(exec=exec_config)))
    with pytest.raises(ConfigError, match="exited 3: expired SSO session"):
        run(credentials.current())
