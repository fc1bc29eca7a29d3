"""kube.config: kubeconfig files read as kubectl reads them (kubectl's merge rules included)."""

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from rerunnable.kube.config import ExecConfig, load
from rerunnable.kube.errors import ConfigError

CA = b"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"


def kubeconfig(
    path: Path,
    *,
    current: str | None = "c1",
    contexts: dict[str, tuple[str, str]] | None = None,
    clusters: dict[str, dict[str, Any]] | None = None,
    users: dict[str, dict[str, Any]] | None = None,
) -> Path:
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "contexts": [
            {"name": n, "context": {"cluster": c, "user": u}}
            for n, (c, u) in (contexts or {}).items()
        ],
        "clusters": [{"name": n, "cluster": c} for n, c in (clusters or {}).items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
    }
    if current:
        document["current-context"] = current
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ~/.kube/config, no KUBECONFIG, no service account unless a test makes them."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setattr("rerunnable.kube.config.IN_CLUSTER_DIR", tmp_path / "no-sa")
    return tmp_path


def test_one_file_with_a_token_and_inline_ca(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = kubeconfig(
        home / "config",
        contexts={"c1": ("k", "u")},
        clusters={
            "k": {
                "server": "https://api.example:6443/",
                "certificate-authority-data": base64.b64encode(CA).decode(),
            }
        },
        users={"u": {"token": "secret"}},
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    cluster = load()
    assert cluster.server == "https://api.example:6443"
    assert cluster.ca == CA
    assert cluster.user.token == "secret"
    assert cluster.namespace == "default"


def test_several_files_merge_first_entry_and_first_current_context_win(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = kubeconfig(
        home / "a",
        current="work",
        contexts={"work": ("prod", "me")},
        clusters={"prod": {"server": "https://first"}},
    )
    second = kubeconfig(
        home / "b",
        current="other",
        contexts={"other": ("prod", "me")},
        clusters={"prod": {"server": "https://second"}},
        users={"me": {"token": "from-b"}},
    )
    missing = home / "not-there"
    monkeypatch.setenv("KUBECONFIG", f"{first}:{missing}:{second}")
    cluster = load()
    assert cluster.server == "https://first"  # clusters: the first file to name it
    assert cluster.user.token == "from-b"  # users: only the second names "me"
    assert "context 'work'" in cluster.source
    assert load(context="other").server == "https://first"


def test_paths_are_relative_to_the_file_that_names_them(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = home / "kube"
    folder.mkdir()
    (folder / "ca.crt").write_bytes(CA)
    (folder / "token").write_text("t")
    path = kubeconfig(
        folder / "config",
        contexts={"c1": ("k", "u")},
        clusters={"k": {"server": "https://k", "certificate-authority": "ca.crt"}},
        users={"u": {"tokenFile": "token", "exec": {"command": "./plugin.sh", "args": ["x"]}}},
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    cluster = load()
    assert cluster.ca == CA
    assert cluster.user.token_file == folder / "token"
    assert cluster.user.exec == ExecConfig(command=str(folder / "plugin.sh"), args=("x",))


def test_an_exec_command_without_a_path_is_looked_up_on_path(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exec_entry = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": ["eks", "get-token"],
        "env": [{"name": "AWS_PROFILE", "value": "prod"}],
        "provideClusterInfo": True,
    }
    path = kubeconfig(
        home / "c",
        contexts={"c1": ("k", "u")},
        clusters={"k": {"server": "https://k"}},
        users={"u": {"exec": exec_entry}},
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load().user.exec == ExecConfig(
        command="aws",
        args=("eks", "get-token"),
        env=(("AWS_PROFILE", "prod"),),
        api_version="client.authentication.k8s.io/v1beta1",
        provide_cluster_info=True,
    )


def test_an_oidc_auth_provider_token_is_used_as_it_is(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = {"name": "oidc", "config": {"id-token": "eyJ", "idp-issuer-url": "https://idp"}}
    path = kubeconfig(
        home / "c",
        contexts={"c1": ("k", "u")},
        clusters={"k": {"server": "https://k"}},
        users={"u": {"auth-provider": provider}},
    )
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load().user.token == "eyJ"


@pytest.mark.parametrize(
    ("name", "document", "context", "message"),
    [
        ("no current context", {"current": None}, None, "no current-context; pass --context"),
        ("unknown context", {}, "nope", "no context named 'nope'"),
        (
            "context without its cluster",
            {"contexts": {"c1": ("gone", "u")}},
            None,
            "context 'c1' names no known cluster",
        ),
        (
            "cluster without a server",
            {"clusters": {"k": {}}},
            None,
            "cluster 'k' has no server",
        ),
        (
            "auth provider without a token",
            {"users": {"u": {"auth-provider": {"name": "gcp", "config": {}}}}},
            None,
            "auth-provider 'gcp' holds no token; use an exec credential plugin",
        ),
    ],
)
def test_a_kubeconfig_that_cannot_work_is_refused_saying_why(
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    document: dict[str, Any],
    context: str | None,
    message: str,
) -> None:
    fields: dict[str, Any] = {
        "current": "c1",
        "contexts": {"c1": ("k", "u")},
        "clusters": {"k": {"server": "https://k"}},
        "users": {"u": {"token": "t"}},
        **document,
    }
    path = kubeconfig(home / "c", **fields)
    monkeypatch.setenv("KUBECONFIG", str(path))
    with pytest.raises(ConfigError, match=message):
        load(context=context)


def test_nothing_to_connect_with_says_what_to_do(home: Path) -> None:
    with pytest.raises(ConfigError, match="pass --kubeconfig, set KUBECONFIG"):
        load()


def test_an_explicit_file_must_exist(home: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load(str(home / "missing"))


def test_in_a_pod_the_service_account_is_used(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sa = home / "sa"
    sa.mkdir()
    (sa / "token").write_text("pod-token")
    (sa / "ca.crt").write_bytes(CA)
    (sa / "namespace").write_text("ops\n")
    monkeypatch.setattr("rerunnable.kube.config.IN_CLUSTER_DIR", sa)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    cluster = load()
    assert cluster.server == "https://10.0.0.1:443"
    assert cluster.user.token_file == sa / "token"
    assert (cluster.ca, cluster.namespace) == (CA, "ops")


def two_of_each(home: Path) -> Path:
    return kubeconfig(
        home / "config",
        contexts={"c1": ("k1", "u1")},
        clusters={"k1": {"server": "https://one"}, "k2": {"server": "https://two"}},
        users={"u1": {"token": "first"}, "u2": {"token": "second"}},
    )


@pytest.mark.parametrize(
    ("case", "cluster", "user", "server", "token"),
    [
        ("the context's", None, None, "https://one", "first"),
        ("--cluster replaces the cluster only", "k2", None, "https://two", "first"),
        ("--user replaces the user only", None, "u2", "https://one", "second"),
        ("both", "k2", "u2", "https://two", "second"),
    ],
)
def test_cluster_and_user_overrides_replace_the_contexts(
    home: Path, case: str, cluster: str | None, user: str | None, server: str, token: str
) -> None:
    path = two_of_each(home)
    found = load(str(path), cluster=cluster, user=user)
    assert (found.server, found.user.token) == (server, token), case
    assert found.user.impersonate is None


@pytest.mark.parametrize(
    ("flag", "kwargs", "message"),
    [
        ("--cluster", {"cluster": "nope"}, "--cluster: no cluster named 'nope' in "),
        ("--user", {"user": "nope"}, "--user: no user named 'nope' in "),
    ],
)
def test_an_unknown_cluster_or_user_names_the_flag_and_the_file(
    home: Path, flag: str, kwargs: dict[str, str], message: str
) -> None:
    path = two_of_each(home)
    with pytest.raises(ConfigError) as raised:
        load(str(path), **kwargs)
    assert str(raised.value) == f"{message}{path}", flag


def test_without_a_kubeconfig_cluster_or_user_is_not_the_service_account(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sa = home / "sa"
    sa.mkdir()
    (sa / "token").write_text("t")
    monkeypatch.setattr("rerunnable.kube.config.IN_CLUSTER_DIR", sa)
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        load(cluster="k2")
    with pytest.raises(ConfigError, match="no kubeconfig found"):
        load(user="u2")
