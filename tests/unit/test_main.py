"""The command line refuses what cannot work, before it connects to anything."""

import subprocess
import sys
from pathlib import Path

import pytest


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
