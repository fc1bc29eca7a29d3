"""`kubectl rerun`'s kubectl flags (--cluster, --user, --as, --as-group, --request-timeout)
and -o on every command.

Parsing is checked on `parse_args`; the flags' effect through `main` against a small
HTTP server of the test's own (what reaches the API server: the path, the credential and
the Impersonate-* headers); -o through `main` against an in-memory cluster that stands in
for the API server and the operator.
"""

import copy
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from rerunnable.api.names import ANNOTATION_BACKFILL, ANNOTATION_CANCEL, ANNOTATION_RUN
from rerunnable.core.naming import manual_execution_name, scheduled_execution_name
from rerunnable.plugin import main
from rerunnable.plugin.cli import parse_args
from rerunnable.plugin.cluster import Cluster
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.history import HEADERS, WIDE_HEADERS
from rerunnable.plugin.parsing import parse_request_timeout

API_VERSION = "rerunnable.dev/v1alpha1"

# -- parsing ----------------------------------------------------------------------------------

GLOBAL = [
    (["--cluster", "k2"], {"cluster": "k2"}),
    (["--user", "u2"], {"user": "u2"}),
    (["--as", "jane"], {"as_user": "jane"}),
    (["--as=system:serviceaccount:ns:ci"], {"as_user": "system:serviceaccount:ns:ci"}),
    (["--as", "jane", "--as-group", "dev"], {"as_user": "jane", "as_groups": ["dev"]}),
    (
        ["--as", "jane", "--as-group", "dev", "--as-group=ops"],
        {"as_user": "jane", "as_groups": ["dev", "ops"]},
    ),
    (["--request-timeout", "30s"], {"request_timeout": 30.0}),
    (["--request-timeout=0"], {"request_timeout": None}),
    (["--request-timeout", "5"], {"request_timeout": 5.0}),
]
COMMANDS = [
    ["run", "x"],
    ["cancel", "x-m1"],
    ["history", "x"],
    ["status", "x-m1"],
    ["next", "x"],
    ["suspend", "x"],
    ["resume", "x"],
    ["backfill", "x", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-02T00:00:00Z"],
]


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize(("flags", "expected"), GLOBAL)
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_global_flags_before_and_after_the_command(
    where: str, flags: list[str], expected: Mapping[str, Any], command: list[str]
) -> None:
    argv = [*flags, *command] if where == "before" else [*command, *flags]
    args = parse_args(argv)
    for key, value in expected.items():
        assert getattr(args, key) == value, (argv, key)
    assert args.command == command[0]


def test_absent_new_flags_are_absent() -> None:
    args = parse_args(["history", "x"])
    for key in ("cluster", "user", "as_user", "as_groups", "as_groups_before", "request_timeout"):
        assert not hasattr(args, key), key


@pytest.mark.parametrize(
    ("flag", "key"),
    [
        ("--cluster", "cluster"),
        ("--user", "user"),
        ("--as", "as_user"),
        ("--request-timeout", "request_timeout"),
    ],
)
def test_a_flag_before_and_after_the_command_takes_the_later(flag: str, key: str) -> None:
    args = parse_args([flag, "1", "next", "x", flag, "2"])
    assert getattr(args, key) in ("2", 2.0)


def test_as_groups_before_and_after_the_command_add_up() -> None:
    args = parse_args(["--as-group", "a", "history", "x", "--as", "jane", "--as-group", "b"])
    assert (args.as_user, args.as_groups) == ("jane", ["a", "b"])
    assert not hasattr(args, "as_groups_before")


@pytest.mark.parametrize(
    ("case", "argv", "message"),
    [
        (
            "--as-group without --as",
            ["history", "x", "--as-group", "dev"],
            "--as-group: needs --as",
        ),
        ("--as-group before, no --as", ["--as-group", "d", "next", "x"], "--as-group: needs --as"),
        ("empty --as", ["history", "x", "--as", ""], "--as must not be empty"),
        ("--as without a value", ["history", "x", "--as"], "expected one argument"),
        ("--cluster without a value", ["history", "x", "--cluster"], "expected one argument"),
        ("--user without a value", ["history", "x", "--user"], "expected one argument"),
        ("a unit kubectl lacks", ["next", "x", "--request-timeout", "1d"], "'1d' is not a timeout"),
        ("negative", ["next", "x", "--request-timeout", "-1"], "'-1' is not a timeout"),
        ("negative, joined", ["next", "x", "--request-timeout=-1s"], "'-1s' is not a timeout"),
        ("a word", ["next", "x", "--request-timeout", "soon"], "--request-timeout: 'soon' is not"),
        ("run --timeout with -o name", ["run", "x", "-o", "name", "--timeout", "1m"], "--wait or"),
        ("wide on an object", ["status", "x-m1", "-o", "wide"], "invalid choice"),
        ("wide on run", ["run", "x", "-o", "wide"], "invalid choice"),
        ("name on next", ["next", "x", "-o", "name"], "invalid choice"),
    ],
)
def test_bad_new_flags_are_usage_errors(
    case: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 1, case
    assert message in capsys.readouterr().err, case


def test_run_timeout_without_wait_is_for_json_and_yaml() -> None:
    args = parse_args(["run", "x", "-o", "json", "--timeout", "1m"])
    assert (args.output, args.timeout, args.wait) == ("json", timedelta(minutes=1), False)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", None),
        ("0s", None),
        ("0m0s", None),
        ("30", 30.0),
        ("30s", 30.0),
        ("1m", 60.0),
        ("1h2m3s", 3723.0),
        ("1.5s", 1.5),
        ("500ms", 0.5),
        (" 2m ", 120.0),
    ],
)
def test_request_timeouts_as_kubectl_reads_them(text: str, seconds: float | None) -> None:
    assert parse_request_timeout(text) == seconds


@pytest.mark.parametrize("text", ["", "-1", "1d", "30 s", "m", "1.5", "soon", "1h-2m"])
def test_bad_request_timeouts(text: str) -> None:
    with pytest.raises(PluginError) as raised:
        parse_request_timeout(text)
    assert raised.value.message.startswith(f"--request-timeout: {text!r} is not a timeout")


@pytest.mark.parametrize("command", [None, *[c[0] for c in COMMANDS]], ids=str)
def test_help_lists_the_new_flags_and_output(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"] if command is None else [command, "--help"])
    text = capsys.readouterr().out
    for flag in ("--cluster", "--user", "--as USER", "--as-group", "--request-timeout"):
        assert flag in text, (command, flag)
    assert "--output" in text


# -- the flags' effect: what reaches the API server ----------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """Answers GET of an Execution (a `slow` one after a second); records each request."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        type(self).seen.append(
            {
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "user": self.headers.get_all("Impersonate-User") or [],
                "groups": self.headers.get_all("Impersonate-Group") or [],
            }
        )
        name = self.path.rstrip("/").rsplit("/", 1)[-1]
        if name == "slow":
            time.sleep(1)
        body = json.dumps(
            {"apiVersion": API_VERSION, "kind": "Execution", "metadata": {"name": name}}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def api(tmp_path: Path) -> Iterator[tuple[Path, list[dict[str, Any]]]]:
    """A kubeconfig (context c1: cluster k1, user u1; also k2 at /two and u2) for the server."""
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c1",
        "contexts": [{"name": "c1", "context": {"cluster": "k1", "user": "u1"}}],
        "clusters": [
            {"name": "k1", "cluster": {"server": url}},
            {"name": "k2", "cluster": {"server": f"{url}/two"}},
        ],
        "users": [
            {"name": "u1", "user": {"token": "one"}},
            {"name": "u2", "user": {"token": "two"}},
        ],
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    try:
        yield path, seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


EXECUTION_PATH = f"/apis/{API_VERSION}/namespaces/default/executions/x-m1"


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize(
    ("case", "flags", "expected"),
    [
        ("the context's", [], {"path": EXECUTION_PATH, "authorization": "Bearer one"}),
        ("--cluster", ["--cluster", "k2"], {"path": "/two" + EXECUTION_PATH}),
        ("--user", ["--user", "u2"], {"authorization": "Bearer two"}),
        ("--as", ["--as", "jane"], {"user": ["jane"], "groups": [], "authorization": "Bearer one"}),
        (
            "--as and --as-group twice",
            ["--as", "jane", "--as-group", "dev", "--as-group", "ops"],
            {"user": ["jane"], "groups": ["dev", "ops"]},
        ),
        ("no --as: no Impersonate headers", [], {"user": [], "groups": []}),
    ],
)
def test_what_reaches_the_api_server(
    api: tuple[Path, list[dict[str, Any]]],
    where: str,
    case: str,
    flags: list[str],
    expected: Mapping[str, Any],
) -> None:
    kubeconfig, seen = api
    command = ["status", "x-m1", "-o", "name"]
    argv = ["--kubeconfig", str(kubeconfig)]
    argv = [*flags, *argv, *command] if where == "before" else [*argv, *command, *flags]
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 0, err.getvalue()
    assert out.getvalue() == "execution.rerunnable.dev/x-m1\n"
    assert len(seen) == 1
    for key, value in expected.items():
        assert seen[0][key] == value, (case, key)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--cluster", "nope"], "error: --cluster: no cluster named 'nope' in {kubeconfig}\n"),
        (["--user", "nope"], "error: --user: no user named 'nope' in {kubeconfig}\n"),
    ],
)
def test_an_unknown_cluster_or_user_is_an_error_naming_the_flag(
    api: tuple[Path, list[dict[str, Any]]], flags: list[str], message: str
) -> None:
    kubeconfig, seen = api
    out, err = io.StringIO(), io.StringIO()
    code = main(["status", "x-m1", "--kubeconfig", str(kubeconfig), *flags], out=out, err=err)
    assert code == 1
    assert err.getvalue() == message.format(kubeconfig=kubeconfig)
    assert seen == []


def test_the_request_timeout_limits_each_request(api: tuple[Path, list[dict[str, Any]]]) -> None:
    kubeconfig, _ = api
    out, err = io.StringIO(), io.StringIO()
    argv = ["status", "slow", "--kubeconfig", str(kubeconfig), "--request-timeout", "200ms"]
    started = time.monotonic()
    assert main(argv, out=out, err=err) == 1
    assert time.monotonic() - started < 0.9  # the server answers after 1 s
    assert err.getvalue().startswith("error: cannot reach the API server: ")
    assert "request timeout, 0.2s; --request-timeout" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    argv = [
        "status",
        "slow",
        "--kubeconfig",
        str(kubeconfig),
        "--request-timeout",
        "0",
        "-o",
        "name",
    ]
    assert main(argv, out=out, err=err) == 0, err.getvalue()  # 0: no limit
    assert out.getvalue() == "execution.rerunnable.dev/slow\n"


# -- -o on every command ---------------------------------------------------------------------


def merged(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) applied to a copy of `target`."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


MANAGED = [{"manager": "kubectl-rerun", "operation": "Update"}]


def an_rjob() -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "RerunnableJob",
        "metadata": {"name": "job", "namespace": "ns", "generation": 1, "managedFields": MANAGED},
        "spec": {
            "schedule": "0 3 * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}},
        },
        "status": {},
    }


def an_execution(name: str, token: str | None = None, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": "7",
            "creationTimestamp": "2026-11-22T08:00:00Z",
            "labels": {"rerunnable.dev/rerunnable-job": "job"},
            "managedFields": MANAGED,
        },
        "spec": {
            "rerunnableJob": "job",
            "trigger": "Manual",
            "token": token,
            "templateGeneration": 1,
        },
        "status": status,
    }


class StoreCluster(Cluster):
    """The API server and the operator in memory: a run annotation makes its Execution."""

    def __init__(self) -> None:
        super().__init__("ns")
        self.rjob = an_rjob()
        done = {"phase": "Succeeded", "jobName": "job-m0", "message": "all done"}
        done["completionTime"] = "2026-11-22T08:05:00Z"
        done["startTime"] = "2026-11-22T08:00:10Z"
        self.executions = {
            "job-m0": an_execution("job-m0", "t0", **done),
            "job-m1": an_execution("job-m1", "t1", phase="Running", jobName="job-m1"),
        }

    def get_rjob(self, name: str) -> dict[str, Any]:
        if name != "job":
            raise PluginError(f'rerunnablejob "{name}" not found in namespace "ns"')
        return copy.deepcopy(self.rjob)

    def find_rjob(self, name: str) -> dict[str, Any] | None:
        return self.get_rjob(name) if name == "job" else None

    def find_execution(self, name: str) -> dict[str, Any] | None:
        found = self.executions.get(name)
        return copy.deepcopy(found) if found else None

    def executions_of(self, rjob: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(e) for e in self.executions.values()]

    def pods_of(self, execution: str) -> list[dict[str, Any]]:
        return []

    def events_about_rjob(self, rjob: str) -> list[tuple[str, str]]:
        return []

    def patch_rjob(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        self.rjob = merged(self.rjob, patch)
        token = ((patch.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_RUN)
        if token:  # the operator's part
            created = manual_execution_name(name, token)
            self.executions[created] = an_execution(created, token)
        return self.get_rjob(name)

    def patch_execution(
        self, name: str, patch: Mapping[str, Any], version: str
    ) -> dict[str, Any] | None:
        self.executions[name] = merged(self.executions[name], patch)
        return self.find_execution(name)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> StoreCluster:
    cluster = StoreCluster()

    @contextmanager
    def connect(**_: Any) -> Iterator[Cluster]:
        yield cluster

    monkeypatch.setattr("rerunnable.plugin.cli.connect", connect)
    return cluster


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def as_json(text: str) -> Any:
    return json.loads(text)


def as_yaml(text: str) -> Any:
    return yaml.safe_load(text)


NEW_RUN = manual_execution_name("job", "ci-7")
DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
FROM, TO = (DAY - timedelta(days=2)).isoformat(), (DAY - timedelta(days=1)).isoformat()
BACKFILL = ["backfill", "job", "--from", FROM, "--to", TO]


def no_managed_fields(obj: Mapping[str, Any]) -> bool:
    return "managedFields" not in obj["metadata"]


# (argv, what stdout must be: the exact text, or a check of the parsed object)
Expect = str | tuple[Callable[[str], Any], Callable[[Any], bool]]
OUTPUTS: list[tuple[list[str], Expect]] = [
    (["run", "job", "--token", "ci-7", "-o", "name"], f"execution.rerunnable.dev/{NEW_RUN}\n"),
    (
        ["run", "job", "--token", "ci-7", "-o", "json"],
        (as_json, lambda o: o["metadata"]["name"] == NEW_RUN and no_managed_fields(o)),
    ),
    (
        ["run", "job", "--token", "ci-7", "-o", "yaml"],
        (as_yaml, lambda o: o["kind"] == "Execution" and o["spec"]["token"] == "ci-7"),
    ),
    (["cancel", "job-m1", "-o", "name"], "execution.rerunnable.dev/job-m1\n"),
    (
        ["cancel", "job-m1", "-o", "json"],
        (as_json, lambda o: o["metadata"]["annotations"][ANNOTATION_CANCEL] == "true"),
    ),
    (
        ["cancel", "job-m1", "-o", "yaml"],
        (as_yaml, lambda o: o["metadata"]["annotations"][ANNOTATION_CANCEL] == "true"),
    ),
    (["status", "job-m1", "-o", "name"], "execution.rerunnable.dev/job-m1\n"),
    (
        ["status", "job-m1", "-o", "json"],
        (as_json, lambda o: o["status"]["phase"] == "Running" and no_managed_fields(o)),
    ),
    (["status", "job-m1", "-o", "yaml"], (as_yaml, lambda o: o["metadata"]["name"] == "job-m1")),
    (
        ["history", "job", "-o", "name"],
        "execution.rerunnable.dev/job-m1\nexecution.rerunnable.dev/job-m0\n",
    ),
    (
        ["history", "job", "-o", "json"],
        (as_json, lambda o: o["kind"] == "List" and all(map(no_managed_fields, o["items"]))),
    ),
    (["history", "job", "-o", "yaml"], (as_yaml, lambda o: len(o["items"]) == 2)),
    (["next", "job", "-c", "2", "-o", "json"], (as_json, lambda o: len(o["times"]) == 2)),
    (
        ["next", "job", "-c", "2", "-o", "yaml"],
        (as_yaml, lambda o: o["schedules"] == ["0 3 * * *"]),
    ),
    (["suspend", "job", "-o", "name"], "rerunnablejob.rerunnable.dev/job\n"),
    (["suspend", "job", "-o", "json"], (as_json, lambda o: o["spec"]["suspend"] is True)),
    (
        ["suspend", "job", "--until", "2h", "-o", "yaml"],
        (as_yaml, lambda o: o["spec"]["suspendUntil"] and no_managed_fields(o)),
    ),
    (["resume", "job", "-o", "name"], "rerunnablejob.rerunnable.dev/job\n"),
    (["resume", "job", "-o", "json"], (as_json, lambda o: o["kind"] == "RerunnableJob")),
    (["resume", "job", "-o", "yaml"], (as_yaml, lambda o: o["metadata"]["name"] == "job")),
    ([*BACKFILL, "-o", "name"], "rerunnablejob.rerunnable.dev/job\n"),
    (
        [*BACKFILL, "-o", "json"],
        (as_json, lambda o: ANNOTATION_BACKFILL in o["metadata"]["annotations"]),
    ),
    ([*BACKFILL, "-o", "yaml"], (as_yaml, lambda o: o["kind"] == "RerunnableJob")),
]


@pytest.mark.parametrize(("argv", "expected"), OUTPUTS, ids=[" ".join(a) for a, _ in OUTPUTS])
def test_output_of_every_command(store: StoreCluster, argv: list[str], expected: Expect) -> None:
    code, out, err = run_main(argv)
    assert code == 0, err
    if isinstance(expected, str):
        assert out == expected
    else:
        parse, check = expected
        assert check(parse(out)), out
    assert "error" not in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["run", "job", "--token", "ci-7", "-o", "name"], "requested"),
        (["cancel", "job-m1", "-o", "json"], "cancel requested"),
        (["suspend", "job", "-o", "name"], "suspended"),
        (["resume", "job", "-o", "name"], "is not suspended; nothing changed"),
        ([*BACKFILL, "-o", "name"], "backfill requested"),
    ],
)
def test_with_o_the_lines_for_people_go_to_stderr(
    store: StoreCluster, argv: list[str], said: str
) -> None:
    code, out, err = run_main(argv)
    assert code == 0
    assert said in err
    assert said not in out


def test_the_commands_change_what_they_print(store: StoreCluster) -> None:
    run_main(["run", "job", "--token", "ci-7", "-o", "name"])
    assert store.rjob["metadata"]["annotations"][ANNOTATION_RUN] == "ci-7"
    run_main(["cancel", "job-m1", "-o", "name"])
    assert store.executions["job-m1"]["metadata"]["annotations"][ANNOTATION_CANCEL] == "true"


def test_run_json_waits_for_the_operator_to_create_the_execution(
    store: StoreCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Execution appears on the third look (the operator is slower than the request)."""
    looks = 0
    find = store.find_execution

    def late(name: str) -> dict[str, Any] | None:
        nonlocal looks
        looks += 1
        return find(name) if looks > 3 else None

    monkeypatch.setattr(store, "find_execution", late)
    monkeypatch.setattr("rerunnable.plugin.commands.POLL_INTERVAL", 0.01)
    code, out, _ = run_main(["run", "job", "--token", "ci-7", "-o", "json"])
    assert code == 0
    assert json.loads(out)["metadata"]["name"] == NEW_RUN
    assert looks == 4  # one before the request, three after


def test_run_json_of_a_refused_run_prints_nothing_and_exits_1(
    store: StoreCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.rjob["status"] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "InvalidSchedule",
                "message": "spec.schedule: bad",
                "lastTransitionTime": "2026-11-22T08:00:00Z",
            }
        ]
    }
    monkeypatch.setattr(store, "patch_rjob", lambda name, patch: store.get_rjob(name))
    code, out, err = run_main(["run", "job", "--token", "ci-7", "-o", "json"])
    assert (code, out) == (1, "")
    assert "is not ready (InvalidSchedule)" in err


def test_run_json_times_out_with_2(store: StoreCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "patch_rjob", lambda name, patch: store.get_rjob(name))
    monkeypatch.setattr("rerunnable.plugin.commands.POLL_INTERVAL", 0.01)
    argv = ["run", "job", "--token", "ci-7", "-o", "json", "--timeout", "50ms"]
    code, out, err = run_main(argv)
    assert (code, out) == (2, "")
    assert "timed out after 0s waiting for Execution" in err


def test_history_wide_adds_columns(store: StoreCluster) -> None:
    code, out, _ = run_main(["history", "job", "-o", "wide"])
    assert code == 0
    header, *rows = [line.split() for line in out.splitlines()]
    assert header == list(WIDE_HEADERS)
    assert WIDE_HEADERS[: len(HEADERS)] == HEADERS
    assert WIDE_HEADERS[len(HEADERS) :] == ("JOB", "TOKEN", "COMPLETED", "MESSAGE")
    assert [row[0] for row in rows] == ["job-m1", "job-m0"]
    assert rows[0][-4:] == ["job-m1", "t1", "<none>", "<none>"]  # running: no end yet
    assert rows[1][-5:-3] == ["job-m0", "t0"]
    assert rows[1][-3] != "<none>"  # the age of its end
    assert rows[1][-2:] == ["all", "done"]
    plain = run_main(["history", "job"])[1]
    assert plain.splitlines()[0].split() == list(HEADERS)


def test_next_wide_adds_the_names_of_the_runs(store: StoreCluster) -> None:
    code, out, _ = run_main(["next", "job", "-c", "2", "-o", "wide"])
    assert code == 0
    heading, header, *rows = out.splitlines()
    assert heading == "rerunnablejob/job: 0 3 * * * (UTC)"
    assert header.split() == ["TIME", "(UTC)", "UTC", "IN", "EXECUTION", "ARMED"]
    for row in rows:
        cells = row.split("   ")
        utc = datetime.fromisoformat(cells[1].strip())
        assert row.split()[-2:] == [scheduled_execution_name("job", utc), "false"]
    assert len(rows) == 2
    plain = run_main(["next", "job", "-c", "2"])[1]
    assert plain.splitlines()[1].split() == ["TIME", "(UTC)", "UTC", "IN"]


def test_run_name_of_a_token_run_before(store: StoreCluster) -> None:
    before = manual_execution_name("job", "t9")
    store.executions[before] = an_execution(before, "t9", phase="Succeeded")
    code, out, err = run_main(["run", "job", "--token", "t9", "-o", "json"])
    assert code == 0
    assert json.loads(out)["metadata"]["name"] == before
    assert "exists already" in err
    code, out, err = run_main(["run", "job", "--token", "t9", "-o", "name"])
    assert (code, out) == (0, f"execution.rerunnable.dev/{before}\n")
    assert ANNOTATION_RUN not in (store.rjob["metadata"].get("annotations") or {})


def test_history_name_of_no_runs_prints_nothing(store: StoreCluster) -> None:
    store.executions.clear()
    code, out, err = run_main(["history", "job", "-o", "name"])
    assert (code, out) == (0, "")
    assert "No Executions of rerunnablejob/job" in err


def test_status_says_when_the_pods_cannot_be_read_and_logs_fails_on_it(
    store: StoreCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    why = 'cannot list the pods of execution job-m0: pods is forbidden: User "vera" cannot list'

    def forbidden(execution: str) -> list[dict[str, Any]]:
        raise PluginError(why)

    monkeypatch.setattr(store, "pods_of", forbidden)
    code, out, err = run_main(["status", "job-m0"])
    assert code == 0
    assert "Succeeded" in out  # the run is shown all the same
    assert err == f"warning: {why}\n"
    code, out, err = run_main(["logs", "job-m0"])
    assert (code, out, err) == (1, "", f"error: {why}\n")
