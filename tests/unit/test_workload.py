"""`rerunnable-report` (rerunnable.workload): the report its flags make, and a real HTTPS POST
to a server of the test's own with the CA and token a pod would have."""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from rerunnable.core.reports import termination_report
from rerunnable.workload import _parser, keep_result, main, report_body
from tests.e2e.certs import make_certs


@pytest.mark.parametrize(
    ("name", "argv", "body"),
    [
        pytest.param("heartbeat", [], {}, id="a heartbeat"),
        pytest.param(
            "progress",
            ["--progress", "42/100"],
            {"progress": {"completed": 42, "total": 100}},
            id="progress",
        ),
        pytest.param(
            "done only", ["--progress", "7"], {"progress": {"completed": 7}}, id="done only"
        ),
        pytest.param(
            "a step",
            ["--step", "load", "--phase", "Succeeded", "--step-message", "ok"],
            {"step": {"name": "load", "phase": "Succeeded", "message": "ok"}},
            id="a step",
        ),
        pytest.param(
            "result and message",
            ["--result", "a=1", "--result", "b=x=y", "--message", "hi"],
            {"message": "hi", "result": {"a": "1", "b": "x=y"}},
            id="result and message",
        ),
    ],
)
def test_the_flags_make_the_report(name: str, argv: list[str], body: dict[str, Any]) -> None:
    assert report_body(_parser().parse_args(argv)) == body


class Server:
    """An HTTPS server answering every POST with `code`, recording what it got."""

    def __init__(self, certs: Path, code: int, answer: dict[str, Any] | None = None) -> None:
        received: list[tuple[dict[str, str], Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                received.append((dict(self.headers), json.loads(self.rfile.read(length))))
                payload = json.dumps(answer or {}).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certs / "tls.crt", certs / "tls.key")
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/v1/report"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def pod_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The env a reporting run's container has, but for the URL (set by each test)."""
    certs = make_certs(tmp_path)
    token = tmp_path / "token"
    token.write_text("pod-token\n")
    monkeypatch.setenv("RERUNNABLE_REPORT_CA", certs.ca_pem)
    monkeypatch.setenv("RERUNNABLE_REPORT_TOKEN_FILE", str(token))
    return tmp_path


def test_a_report_is_posted_with_the_pods_token_over_tls_it_trusts(
    pod_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(pod_env, 204)
    try:
        monkeypatch.setenv("RERUNNABLE_REPORT_URL", server.url)
        assert main(["--progress", "3/4", "--step", "load"]) == 0
    finally:
        server.close()
    [(headers, body)] = server.received
    assert headers["Authorization"] == "Bearer pod-token"
    assert body == {
        "progress": {"completed": 3, "total": 4},
        "step": {"name": "load", "phase": "Running"},
    }


def test_a_refusal_exits_1_with_the_operators_message(
    pod_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = Server(pod_env, 409, {"reason": "Finished", "message": "Execution x has finished"})
    try:
        monkeypatch.setenv("RERUNNABLE_REPORT_URL", server.url)
        assert main(["--message", "late"]) == 1
    finally:
        server.close()
    assert "refused (409): Execution x has finished" in capsys.readouterr().err


def test_outside_a_reporting_run_it_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RERUNNABLE_REPORT_URL", raising=False)
    monkeypatch.delenv("RERUNNABLE_REPORT_TOKEN_FILE", raising=False)
    assert main([]) == 2
    assert "RERUNNABLE_REPORT_URL, RERUNNABLE_REPORT_TOKEN_FILE not set" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("before", "result", "after", "why"),
    [
        pytest.param("", {"rows": "7"}, {"result": {"rows": "7"}}, None, id="an empty message"),
        pytest.param(
            '{"message": "done", "result": {"rows": "1", "bytes": "9"}}',
            {"rows": "7"},
            {"message": "done", "result": {"rows": "7", "bytes": "9"}},
            None,
            id="merged into a JSON message, later keys win",
        ),
        pytest.param(
            "panic: out of memory",
            {"rows": "7"},
            "panic: out of memory",
            "a message of the workload's own",
            id="the workload's own words are left alone",
        ),
        pytest.param(
            "",
            {"blob": "x" * 4090},
            "",
            "would not fit",
            id="a result the kubelet would cut is not written",
        ),
    ],
)
def test_a_result_is_kept_in_the_termination_message(
    tmp_path: Path, before: str, result: dict[str, str], after: object, why: str | None
) -> None:
    path = tmp_path / "termination-log"
    path.write_text(before)
    told = keep_result(str(path), result)
    if why is None:
        assert told is None
        assert json.loads(path.read_text()) == after
    else:
        assert told is not None
        assert why in told
        assert path.read_text() == after


def test_a_result_survives_an_operator_it_cannot_reach_and_the_operator_reads_it_at_the_end(
    pod_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = pod_env / "termination-log"
    log.write_text("")
    monkeypatch.setenv("RERUNNABLE_REPORT_URL", "https://127.0.0.1:1/v1/report")
    argv = ["--termination-log", str(log), "--timeout", "2"]
    assert main([*argv, "--result", "rows=7", "--result", "file=a"]) == 1
    assert main([*argv, "--result", "file=b"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    # What the operator makes of the container's termination message when the run ends.
    assert termination_report([log.read_text()]) == ({"rows": "7", "file": "b"}, None)


def test_outside_a_container_the_result_goes_only_to_the_operator(
    pod_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = Server(pod_env, 204)
    missing = pod_env / "no-such-termination-log"
    try:
        monkeypatch.setenv("RERUNNABLE_REPORT_URL", server.url)
        assert main(["--termination-log", str(missing), "--result", "rows=7"]) == 0
    finally:
        server.close()
    assert [body for _, body in server.received] == [{"result": {"rows": "7"}}]
    assert not missing.exists()
    assert "does not exist" in capsys.readouterr().err
