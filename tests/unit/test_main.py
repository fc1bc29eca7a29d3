"""The command line refuses what cannot work, before it connects to anything."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from rerunnable.__main__ import parse_args


def rerunnable(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rerunnable", *args], capture_output=True, text=True, timeout=60
    )


def test_a_webhook_port_needs_a_certificate_dir() -> None:
    done = rerunnable("--webhook-port", "9443")
    assert done.returncode == 2
    assert "--webhook-port needs --webhook-cert-dir" in done.stderr


@pytest.mark.parametrize(
    ("present", "missing"),
    [((), "tls.crt or tls.key"), (("tls.crt",), "tls.key"), (("tls.key",), "tls.crt")],
)
def test_the_certificate_dir_must_hold_the_certificate_and_key(
    tmp_path: Path, present: tuple[str, ...], missing: str
) -> None:
    for name in present:
        (tmp_path / name).write_text("PEM")
    done = rerunnable("--webhook-port", "9443", "--webhook-cert-dir", str(tmp_path))
    assert done.returncode == 2
    assert f"--webhook-cert-dir {tmp_path}: no {missing} there" in done.stderr


@pytest.mark.parametrize("seconds", ["-1", "3601"])
def test_runs_are_armed_at_most_an_hour_ahead(seconds: str) -> None:
    done = rerunnable("--arm-ahead-seconds", seconds)
    assert done.returncode == 2
    assert f"--arm-ahead-seconds {seconds}: must be 0 to 3600" in done.stderr


def test_the_health_probes_are_served_on_a_port_of_their_own() -> None:
    args = parse_args(["--health-port", "8081"])
    assert (args.health_port, args.health_addr) == (8081, "0.0.0.0")
    assert parse_args(["--health-port", "8081", "--health-addr", "::"]).health_addr == "::"
    assert parse_args([]).health_port == 0  # off


def test_the_kopf_liveness_flag_is_gone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--liveness", "http://0.0.0.0:8081/healthz"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --liveness" in capsys.readouterr().err


def test_a_health_port_in_use_is_an_error_before_anything_starts(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        done = rerunnable(
            "--kubeconfig", str(kubeconfig), "--metrics-port", "0", "--health-port", port
        )
    assert done.returncode == 1
    assert f"rerunnable: cannot serve health probes on port {port}: " in done.stderr
    assert "choose another --health-port, or 0 to turn them off" in done.stderr
