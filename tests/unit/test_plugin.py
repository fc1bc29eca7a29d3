"""The pure parts of `kubectl rerun` (rerunnable.plugin): no cluster, `now` fixed.

2026-11-22 is a Sunday; Europe/Berlin is on CET (+01:00) then, and springs
forward on 2026-03-29 (02:00 -> 03:00 CEST).
"""

import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from rerunnable.core.cron import parse_cron
from rerunnable.core.naming import manual_execution_name
from rerunnable.plugin import main
from rerunnable.plugin.cli import build_parser, parse_args
from rerunnable.plugin.cluster import Cluster, TransientError
from rerunnable.plugin.commands import (
    Console,
    cancel_command,
    default_token,
    resume_command,
    run_command,
    suspend_command,
)
from rerunnable.plugin.errors import PluginError
from rerunnable.plugin.follow import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    Snapshot,
    assess,
    exit_code_for_phase,
    final_line,
    outcome_from_events,
    progress_line,
    refusal,
)
from rerunnable.plugin.history import HEADERS, history_row, history_table, newest_first
from rerunnable.plugin.output import dump, human_age, render_table, short_duration
from rerunnable.plugin.parsing import parse_duration, parse_until
from rerunnable.plugin.upcoming import format_local, upcoming_json, upcoming_runs, upcoming_text

NOW = datetime(2026, 11, 22, 8, 0, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return moment


# -- argument parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "argv", "expected"),
    [
        ("namespace after the command", ["history", "x", "-n", "a"], {"namespace": "a"}),
        ("namespace before the command", ["-n", "a", "history", "x"], {"namespace": "a"}),
        ("the later namespace wins", ["-n", "a", "history", "x", "-n", "b"], {"namespace": "b"}),
        ("long forms", ["next", "x", "--namespace=a", "--context", "c"], {"context": "c"}),
        (
            "kubeconfig",
            ["resume", "x", "--kubeconfig", "/k"],
            {"kubeconfig": "/k", "command": "resume", "name": "x"},
        ),
        (
            "run defaults",
            ["run", "x"],
            {"wait": False, "timeout": None, "token": None, "name": "x"},
        ),
        (
            "run with token, wait and timeout",
            ["run", "x", "--token", "ci-42", "--wait", "--timeout", "10m"],
            {"token": "ci-42", "wait": True, "timeout": timedelta(minutes=10)},
        ),
        ("next counts 5 by default", ["next", "x"], {"count": 5, "output": None}),
        ("next -c", ["next", "x", "-c", "3", "-o", "yaml"], {"count": 3, "output": "yaml"}),
        ("next -n is the namespace", ["next", "x", "-n", "5"], {"namespace": "5", "count": 5}),
        ("history -o json", ["history", "x", "-o", "json"], {"output": "json"}),
        ("run without -p", ["run", "x"], {"parameters": []}),
        (
            "run -p, repeated; a value may hold = and be empty",
            ["run", "x", "-p", "DAY=2026-11-30", "--parameter", "Q=a=b", "-p", "E="],
            {"parameters": [("DAY", "2026-11-30"), ("Q", "a=b"), ("E", "")]},
        ),
        ("cancel", ["cancel", "x-m1"], {"name": "x-m1", "wait": False, "timeout": None}),
        (
            "cancel --wait --timeout",
            ["cancel", "x-m1", "--wait", "--timeout", "2m"],
            {"wait": True, "timeout": timedelta(minutes=2)},
        ),
        ("suspend", ["suspend", "x"], {"until": None}),
        ("suspend --until", ["suspend", "x", "--until", "2h"], {"until": "2h"}),
    ],
)
def test_arguments(case: str, argv: list[str], expected: Mapping[str, Any]) -> None:
    args = parse_args(argv)
    for key, value in expected.items():
        assert getattr(args, key) == value, (case, key)


def test_absent_global_flags_are_absent() -> None:
    args = parse_args(["history", "x"])
    assert not hasattr(args, "namespace")
    assert not hasattr(args, "kubeconfig")
    assert not hasattr(args, "context")


@pytest.mark.parametrize(
    ("case", "argv", "message"),
    [
        ("no command", [], ""),
        ("unknown command", ["rerun", "x"], "invalid choice"),
        ("missing name", ["run"], "NAME"),
        ("timeout without wait", ["run", "x", "--timeout", "5m"], "--timeout needs --wait"),
        ("bad timeout", ["run", "x", "--wait", "--timeout", "5"], "not a duration"),
        ("zero timeout", ["run", "x", "--wait", "--timeout", "0s"], "longer than zero"),
        ("empty token", ["run", "x", "--token", " "], "--token must not be empty"),
        ("-p without =", ["run", "x", "-p", "DAY"], "'DAY' is not NAME=VALUE"),
        ("-p without a name", ["run", "x", "-p", "=1"], "'=1' is not NAME=VALUE"),
        ("-p twice", ["run", "x", "-p", "A=1", "-p", "A=2"], "-p A: given more than once"),
        ("cancel timeout without wait", ["cancel", "x", "--timeout", "5m"], "needs --wait"),
        ("zero count", ["next", "x", "-c", "0"], "between 1 and 1000"),
        ("count not a number", ["next", "x", "-c", "five"], "not a whole number"),
        ("unknown output", ["history", "x", "-o", "table"], "invalid choice"),
        ("next has no -o name", ["next", "x", "-o", "name"], "invalid choice"),
    ],
)
def test_usage_errors_exit_1(
    case: str, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(argv)
    assert exited.value.code == 1, case  # 2 is kept for run --wait timeouts
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", [None, "run", "cancel", "history", "next", "suspend", "resume"])
def test_help_has_examples(command: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--help"] if command is None else [command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text or "example:" in text
    assert "kubectl rerun" in text
    assert "--namespace" in text


def test_next_help_says_that_n_is_the_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["next", "--help"])
    text = capsys.readouterr().out
    assert "-c COUNT, --count COUNT" in text
    assert '"next NAME -n 5" means namespace "5"' in text


def test_the_parser_is_named_like_the_kubectl_command() -> None:
    assert build_parser().prog == "kubectl rerun"


def test_a_bad_kubeconfig_is_an_error_without_traceback(tmp_path: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["history", "x", "--kubeconfig", str(tmp_path / "missing")], out=out, err=err)
    assert code == 1
    assert err.getvalue().startswith("error: kubeconfig")
    assert "Traceback" not in err.getvalue()
    (tmp_path / "empty").write_text("{}\n")
    code = main(["history", "x", "--kubeconfig", str(tmp_path / "empty")], out=out, err=err)
    assert code == 1
    assert "is not valid" in err.getvalue()


def test_default_token() -> None:
    moment = datetime(2026, 11, 22, 9, 3, 4, tzinfo=BERLIN)
    assert default_token(moment, "a1b2c3") == "kubectl-rerun-20261122T080304Z-a1b2c3"


# -- durations and times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        ("seconds", "30s", timedelta(seconds=30)),
        ("minutes", "10m", timedelta(minutes=10)),
        ("hours", "1h", timedelta(hours=1)),
        ("days", "1d", timedelta(days=1)),
        ("milliseconds", "500ms", timedelta(milliseconds=500)),
        ("combined, Go style", "1h30m", timedelta(minutes=90)),
        ("all units", "1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        ("decimal", "1.5h", timedelta(minutes=90)),
        ("surrounding blanks", " 2h ", timedelta(hours=2)),
        ("large", "90m", timedelta(minutes=90)),
    ],
)
def test_durations(case: str, text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected, case


@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        ("empty", "", "is not a duration"),
        ("no unit", "10", "is not a duration"),
        ("unknown unit", "10x", "is not a duration"),
        ("unit only", "h", "is not a duration"),
        ("negative", "-5m", "is not a duration"),
        ("upper case unit, as Go refuses", "1H", "is not a duration"),
        ("blank inside", "1h 30m", "is not a duration"),
        ("zero", "0s", "longer than zero"),
    ],
)
def test_bad_durations(case: str, text: str, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        parse_duration(text, what="--timeout")


@pytest.mark.parametrize(
    ("case", "text", "expected"),
    [
        ("duration from now", "2h", "2026-11-22T10:00:00+00:00"),
        ("days from now", "1d", "2026-11-23T08:00:00+00:00"),
        ("RFC 3339 UTC", "2026-11-23T06:00:00Z", "2026-11-23T06:00:00+00:00"),
        ("RFC 3339 with offset", "2026-11-23T07:00:00+01:00", "2026-11-23T06:00:00+00:00"),
        ("fractional seconds", "2026-11-23T06:00:00.5Z", "2026-11-23T06:00:00.500000+00:00"),
    ],
)
def test_until(case: str, text: str, expected: str) -> None:
    assert parse_until(text, now=NOW).astimezone(UTC).isoformat() == expected, case


@pytest.mark.parametrize(
    ("case", "text", "message"),
    [
        ("no time zone", "2026-11-23T06:00:00", "has no time zone"),
        ("date only", "2026-11-23", "has no time zone"),
        ("in the past", "2026-11-22T07:59:59Z", "not in the future"),
        ("now", "2026-11-22T08:00:00Z", "not in the future"),
        ("words", "tomorrow", "neither an RFC 3339 time"),
        ("zero duration", "0m", "longer than zero"),
    ],
)
def test_bad_until(case: str, text: str, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        parse_until(text, now=NOW)


# -- output ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "seconds", "expected"),
    [
        ("a little in the future is now", -1, "0s"),
        ("further in the future is invalid", -5, "<invalid>"),
        ("zero", 0, "0s"),
        ("seconds below two minutes", 119, "119s"),
        ("two minutes", 120, "2m"),
        ("minutes and seconds below ten minutes", 330, "5m30s"),
        ("whole minutes below three hours", 17 * 60 + 40, "17m"),
        ("whole hours", 3 * 3600, "3h"),
        ("hours and minutes below eight hours", 5 * 3600 + 3 * 60, "5h3m"),
        ("hours below two days", 30 * 3600 + 59 * 60, "30h"),
        ("days and hours below eight days", 2 * 86400 + 5 * 3600, "2d5h"),
        ("days below two years", 30 * 86400 + 3600, "30d"),
        ("years and days", (2 * 365 + 10) * 86400, "2y10d"),
        ("years", 10 * 365 * 86400, "10y"),
    ],
)
def test_human_age_as_kubectl(case: str, seconds: int, expected: str) -> None:
    assert human_age(timedelta(seconds=seconds)) == expected, case


@pytest.mark.parametrize(
    ("case", "seconds", "expected"),
    [
        ("zero", 0, "0s"),
        ("negative is zero", -3, "0s"),
        ("seconds", 45, "45s"),
        ("minutes and seconds", 90, "1m30s"),
        ("zero parts are left out", 2 * 3600 + 5, "2h5s"),
        ("days", 86400 + 3 * 3600, "1d3h"),
        ("fractions are cut", 59.9, "59s"),
    ],
)
def test_short_duration(case: str, seconds: float, expected: str) -> None:
    assert short_duration(timedelta(seconds=seconds)) == expected, case


def test_table_columns_are_aligned_without_trailing_blanks() -> None:
    table = render_table(
        ["NAME", "PHASE", "X"], [["a", "Succeeded", ""], ["longer-name", "Ok", "1"]]
    )
    assert table == (
        "NAME          PHASE       X\na             Succeeded\nlonger-name   Ok          1\n"
    )


def test_table_rows_must_fit_the_headers() -> None:
    with pytest.raises(ValueError, match="expected 2"):
        render_table(["A", "B"], [["only one"]])


def test_dump() -> None:
    obj = {"b": 1, "a": [True, None]}
    assert json.loads(dump(obj, "json")) == obj
    assert dump(obj, "json").startswith('{\n    "b"')
    assert yaml.safe_load(dump(obj, "yaml")) == obj
    assert dump(obj, "yaml").startswith("b: 1\n")  # keys keep their order


# -- history ---------------------------------------------------------------------------------------


def execution(
    name: str,
    *,
    created: str,
    trigger: str = "Manual",
    scheduled: str | None = None,
    by: str | None = None,
    **status: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"rerunnableJob": "job", "trigger": trigger}
    if scheduled:
        spec["scheduledTime"] = scheduled
    if by:
        spec["requestedBy"] = by
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": spec,
        "status": status,
    }


def test_history_rows() -> None:
    now = at("2026-11-22T08:10:00Z")
    succeeded = execution(
        "job-29922248",
        created="2026-11-22T08:08:00Z",
        trigger="Schedule",
        scheduled="2026-11-22T08:08:00Z",
        phase="Succeeded",
        reason="CompletionsReached",
        startTime="2026-11-22T08:08:01Z",
        completionTime="2026-11-22T08:09:31Z",
        progress={"succeeded": 3, "failed": 0, "active": 0, "total": 3},
    )
    running = execution(
        "job-mabc",
        created="2026-11-22T08:09:40Z",
        by="rui@example.com",
        phase="Running",
        startTime="2026-11-22T08:09:45Z",
        progress={"succeeded": 1, "failed": 1, "active": 1, "total": 3},
    )
    pending = execution("job-mdef", created="2026-11-22T08:09:59Z")
    assert history_row(succeeded, now) == [
        "job-29922248",
        "Schedule",
        "<none>",
        "Succeeded",
        "2m",
        "119s",
        "1m30s",
        "3/3",
        "CompletionsReached",
    ]
    assert history_row(running, now) == [
        "job-mabc",
        "Manual",
        "rui@example.com",
        "Running",
        "<none>",
        "15s",
        "15s",
        "1/3",
        "<none>",
    ]
    assert history_row(pending, now) == [
        "job-mdef",
        "Manual",
        "<none>",
        "Pending",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
    ]
    table = history_table(newest_first([succeeded, running, pending]), now)
    lines = table.splitlines()
    assert lines[0].split() == list(HEADERS)
    assert [line.split()[0] for line in lines[1:]] == ["job-mdef", "job-mabc", "job-29922248"]


def test_history_order_breaks_ties_by_slot_then_name() -> None:
    same = "2026-11-22T08:00:00Z"
    items = [
        execution("b", created=same),
        execution("late-slot", created=same, scheduled="2026-11-22T08:00:00Z"),
        execution("a", created=same),
        execution("older", created="2026-11-22T07:59:59Z"),
        execution("early-slot", created=same, scheduled="2026-11-22T07:59:00Z"),
    ]
    names = [e["metadata"]["name"] for e in newest_first(items)]
    assert names == ["late-slot", "early-slot", "b", "a", "older"]


# -- next ----------------------------------------------------------------------------------


def rjob(spec: Mapping[str, Any], name: str = "job", namespace: str = "ns") -> dict[str, Any]:
    template: dict[str, Any] = {"spec": {"template": {"spec": {"containers": []}}}}
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"jobTemplate": template, **spec},
    }


def iso(times: tuple[datetime, ...]) -> list[str]:
    return [t.isoformat() for t in times]


def test_next_times_in_the_jobs_zone() -> None:
    up = upcoming_runs(
        rjob({"schedule": "0 9 * * MON-FRI", "timeZone": "Europe/Berlin"}), count=3, now=NOW
    )
    assert iso(up.times) == [
        "2026-11-23T09:00:00+01:00",
        "2026-11-24T09:00:00+01:00",
        "2026-11-25T09:00:00+01:00",
    ]
    assert up.time_zone == "Europe/Berlin"
    assert up.schedules == ("0 9 * * MON-FRI",)


def test_next_times_default_to_utc() -> None:
    up = upcoming_runs(rjob({"schedule": "*/20 * * * *"}), count=2, now=NOW)
    assert iso(up.times) == ["2026-11-22T08:20:00+00:00", "2026-11-22T08:40:00+00:00"]
    assert up.time_zone == "UTC"


def test_next_merges_all_schedules_once_each() -> None:
    spec = {"schedules": ["0 8-10 * * *", "30 8 * * *", "0 9 * * *"]}
    up = upcoming_runs(rjob(spec), count=5, now=NOW)
    assert iso(up.times) == [
        "2026-11-22T08:30:00+00:00",
        "2026-11-22T09:00:00+00:00",  # two schedules, one run
        "2026-11-22T10:00:00+00:00",
        "2026-11-23T08:00:00+00:00",
        "2026-11-23T08:30:00+00:00",
    ]


def test_next_across_a_dst_gap() -> None:
    spec = {"schedule": "30 2 * * *", "timeZone": "Europe/Berlin"}
    up = upcoming_runs(rjob(spec), count=3, now=at("2026-03-27T12:00:00Z"))
    assert iso(up.times) == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",  # 02:30 does not exist: the next valid instant
        "2026-03-30T02:30:00+02:00",
    ]


def test_next_resolves_h_with_the_operators_key() -> None:
    up = upcoming_runs(
        rjob({"schedule": "H H * * *"}, name="backup", namespace="team-a"), count=1, now=NOW
    )
    minute, hour = parse_cron("H H * * *", hash_key="team-a/backup").normalized.split()[:2]
    assert (up.times[0].minute, up.times[0].hour) == (int(minute), int(hour))


def test_next_of_a_suspended_job_is_empty() -> None:
    up = upcoming_runs(rjob({"schedule": "* * * * *", "suspend": True}), count=3, now=NOW)
    assert up.suspended
    assert up.times == ()
    assert "is suspended (spec.suspend is true)" in upcoming_text(up, now=NOW)


def test_next_starts_at_suspend_until_inclusive() -> None:
    spec = {"schedule": "0 * * * *", "suspendUntil": "2026-11-22T10:00:00Z"}
    up = upcoming_runs(rjob(spec), count=2, now=NOW)
    assert up.suspend_until == at("2026-11-22T10:00:00Z")
    assert iso(up.times) == ["2026-11-22T10:00:00+00:00", "2026-11-22T11:00:00+00:00"]
    text = upcoming_text(up, now=NOW)
    assert "suspended until 2026-11-22T10:00:00Z (in 120m)" in text


def test_next_ignores_a_past_suspend_until() -> None:
    spec = {"schedule": "0 * * * *", "suspendUntil": "2026-11-22T07:00:00Z"}
    up = upcoming_runs(rjob(spec), count=1, now=NOW)
    assert up.suspend_until is None
    assert iso(up.times) == ["2026-11-22T09:00:00+00:00"]


def test_next_of_a_manual_only_job() -> None:
    up = upcoming_runs(rjob({}), count=5, now=NOW)
    assert up.times == ()
    assert upcoming_text(up, now=NOW) == (
        "rerunnablejob/job has no schedule: it runs only on demand (kubectl rerun run job).\n"
    )
    assert upcoming_json(up)["times"] == []


@pytest.mark.parametrize(
    ("case", "spec", "message"),
    [
        ("bad field", {"schedule": "61 * * * *"}, "spec.schedule: minute field '61'"),
        ("second of several", {"schedules": ["@daily", "@every 5m"]}, r"spec.schedules\[1\]"),
        ("never fires", {"schedule": "0 0 30 2 *"}, "never fires"),
        ("unknown zone", {"schedule": "@daily", "timeZone": "Mars/Base"}, "spec.timeZone"),
        ("not a spec", {"suspend": "sometimes"}, "spec.suspend"),
    ],
)
def test_next_of_an_invalid_job(case: str, spec: Mapping[str, Any], message: str) -> None:
    with pytest.raises(PluginError, match=message):
        upcoming_runs(rjob(spec), count=1, now=NOW)


def test_next_text_and_json() -> None:
    spec = {"schedule": "0 9 * * *", "timeZone": "Europe/Berlin"}
    up = upcoming_runs(rjob(spec), count=2, now=NOW)
    assert upcoming_text(up, now=NOW) == (
        "rerunnablejob/job: 0 9 * * * (Europe/Berlin)\n"
        "TIME (Europe/Berlin)          UTC                    IN\n"
        "Mon 2026-11-23 09:00 +01:00   2026-11-23T08:00:00Z   24h\n"
        "Tue 2026-11-24 09:00 +01:00   2026-11-24T08:00:00Z   2d\n"
    )
    assert upcoming_json(up) == {
        "rerunnableJob": "job",
        "namespace": "ns",
        "schedules": ["0 9 * * *"],
        "timeZone": "Europe/Berlin",
        "suspend": False,
        "suspendUntil": None,
        "times": [
            {"time": "2026-11-23T09:00:00+01:00", "utc": "2026-11-23T08:00:00Z"},
            {"time": "2026-11-24T09:00:00+01:00", "utc": "2026-11-24T08:00:00Z"},
        ],
        "stopped": None,
    }


def armed_execution(name: str, slot: str, **status: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": "2026-11-22T07:59:00Z",
            "annotations": {"rerunnable.dev/armed": "true"},
        },
        "spec": {
            "rerunnableJob": "job",
            "trigger": "Schedule",
            "scheduledTime": slot,
            "templateGeneration": 1,
        },
        "status": {"phase": "Pending", "reason": "Scheduled", **status},
    }


def test_next_names_the_run_armed_for_a_time() -> None:
    spec = {"schedule": "0 9 * * *", "timeZone": "Europe/Berlin"}
    executions = [
        armed_execution("job-29923680", "2026-11-23T08:00:00Z"),
        # Armed once, but its slot came: it has its Job, it is a run.
        armed_execution("job-29922240", "2026-11-22T08:00:00Z", jobName="job-29922240"),
    ]
    up = upcoming_runs(rjob(spec), count=2, now=NOW, executions=executions)
    assert upcoming_text(up, now=NOW) == (
        "rerunnablejob/job: 0 9 * * * (Europe/Berlin)\n"
        "TIME (Europe/Berlin)          UTC                    IN    ARMED\n"
        "Mon 2026-11-23 09:00 +01:00   2026-11-23T08:00:00Z   24h   job-29923680\n"
        "Tue 2026-11-24 09:00 +01:00   2026-11-24T08:00:00Z   2d\n"
    )
    assert [t.get("armedExecution") for t in upcoming_json(up)["times"]] == ["job-29923680", None]


def test_next_says_which_rule_stops_the_schedule() -> None:
    rjob = {
        "metadata": {"name": "nightly", "namespace": "ops"},
        "spec": {"schedule": "0 9 * * *", "maxRuns": 2, "jobTemplate": {"spec": {}}},
        "status": {
            "scheduledRuns": 2,
            "conditions": [
                {
                    "type": "Suspended",
                    "status": "True",
                    "reason": "MaxRunsReached",
                    "message": "2 scheduled runs have started (spec.maxRuns)",
                }
            ],
        },
    }
    up = upcoming_runs(rjob, count=3, now=NOW)
    assert up.times == ()
    assert upcoming_text(up, now=NOW).splitlines()[-1] == (
        "rerunnablejob/nightly: no scheduled runs: 2 scheduled runs have started (spec.maxRuns)."
    )


def test_local_times_parse_back() -> None:
    moment = datetime(2026, 7, 1, 9, 5, tzinfo=BERLIN)
    text = format_local(moment)
    assert text == "Wed 2026-07-01 09:05 +02:00"
    assert datetime.strptime(text, "%a %Y-%m-%d %H:%M %z") == moment


# -- following a run ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "code"),
    [("Succeeded", EXIT_OK), ("Failed", EXIT_FAILED), ("Interrupted", EXIT_FAILED)],
)
def test_exit_code_for_phase(phase: str, code: int) -> None:
    assert exit_code_for_phase(phase) == code


@pytest.mark.parametrize("phase", ["Pending", "Running", ""])
def test_only_finished_phases_have_an_exit_code(phase: str) -> None:
    with pytest.raises(ValueError, match="not terminal"):
        exit_code_for_phase(phase)


def test_exit_codes_are_distinct() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_TIMEOUT) == (0, 1, 2)


def rjob_status(generation: int = 1, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "job", "generation": generation}, "status": status}


def ready_false(reason: str, generation: int = 1) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "False",
        "reason": reason,
        "message": "spec.schedule: minute field '61' is out of range 0-59"
        " (manual run 'older' starts once this is fixed)",
        "observedGeneration": generation,
    }


SKIPPED = {
    "time": "2026-11-22T08:00:00Z",
    "trigger": "Manual",
    "token": "t1",
    "reason": "ConcurrencyForbidden",
    "message": "manual run 't1' skipped: job-mabc still active (concurrencyPolicy Forbid)",
}


@pytest.mark.parametrize(
    ("case", "rjob_obj", "expected"),
    [
        ("fresh object", rjob_status(), None),
        ("token handled, run created", rjob_status(lastRunToken="t1"), None),
        (
            "token handled and skipped",
            rjob_status(lastRunToken="t1", lastSkipped=SKIPPED),
            "did not start the run (ConcurrencyForbidden): manual run 't1' skipped",
        ),
        (
            "another token was skipped",
            rjob_status(lastRunToken="t1", lastSkipped={**SKIPPED, "token": "t0"}),
            None,
        ),
        (
            "invalid spec holds the token",
            rjob_status(conditions=[ready_false("InvalidSchedule")]),
            "is not ready (InvalidSchedule): spec.schedule: minute field '61' is out of range"
            " 0-59; run 't1' starts once the object is fixed",
        ),
        (
            "Ready of an older generation",
            rjob_status(generation=2, conditions=[ready_false("InvalidSchedule", 1)]),
            None,
        ),
        (
            "a rejected template still creates the run",
            rjob_status(conditions=[ready_false("InvalidJobTemplate")]),
            None,
        ),
    ],
)
def test_refusal(case: str, rjob_obj: Mapping[str, Any], expected: str | None) -> None:
    found = refusal(rjob_obj, "t1")
    if expected is None:
        assert found is None, case
    else:
        assert found is not None, case
        assert expected in found, case
        assert "older" not in found  # the operator's note about a held token is not ours


def running_execution(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "job-mx"}, "status": status}


@pytest.mark.parametrize(
    ("case", "rjob_obj", "execution_obj", "seen", "state"),
    [
        ("not yet", rjob_status(), None, False, "waiting"),
        ("pending", rjob_status(), running_execution(), False, "running"),
        ("running", rjob_status(), running_execution(phase="Running"), True, "running"),
        ("succeeded", rjob_status(), running_execution(phase="Succeeded"), True, "finished"),
        ("interrupted", None, running_execution(phase="Interrupted"), True, "finished"),
        ("gone after being seen", rjob_status(), None, True, "vanished"),
        ("handled but never seen", rjob_status(lastRunToken="t1"), None, False, "vanished"),
        ("skipped", rjob_status(lastRunToken="t1", lastSkipped=SKIPPED), None, False, "refused"),
        ("invalid", rjob_status(conditions=[ready_false("InvalidSpec")]), None, False, "refused"),
        ("RerunnableJob deleted", None, None, False, "refused"),
    ],
)
def test_assess(
    case: str,
    rjob_obj: Mapping[str, Any] | None,
    execution_obj: Mapping[str, Any] | None,
    seen: bool,
    state: str,
) -> None:
    verdict = assess(
        token="t1", execution_name="job-mx", rjob=rjob_obj, execution=execution_obj, seen=seen
    )
    assert verdict.state == state, case
    assert (verdict.snapshot is not None) == (execution_obj is not None)
    assert bool(verdict.message) == (state in ("refused", "vanished"))


def test_progress_lines() -> None:
    moment = datetime(2026, 11, 22, 12, 3, 4)
    running = Snapshot.of(
        running_execution(
            phase="Running", progress={"succeeded": 1, "failed": 0, "active": 2, "total": 3}
        )
    )
    assert progress_line(moment, running) == (
        "12:03:04  Running      1/3 succeeded, 0 failed, 2 active"
    )
    queued = Snapshot.of(
        running_execution(phase="Pending", reason="Queued", message="waits for job-m1")
    )
    assert progress_line(moment, queued) == "12:03:04  Pending      Queued: waits for job-m1"
    fresh = Snapshot.of(running_execution())
    assert progress_line(moment, fresh) == "12:03:04  Pending      waiting for its Job"
    assert running.reported() != fresh.reported()


def test_final_lines() -> None:
    times = {"startTime": "2026-11-22T08:00:00Z", "completionTime": "2026-11-22T08:01:30Z"}
    succeeded = Snapshot.of(
        running_execution(
            phase="Succeeded",
            progress={"succeeded": 1, "failed": 0, "active": 0, "total": 1},
            **times,
        )
    )
    assert final_line("job-mx", succeeded) == (
        "Execution job-mx Succeeded in 1m30s (1/1 succeeded, 0 failed, 0 active)"
    )
    failed = Snapshot.of(
        running_execution(
            phase="Failed",
            reason="BackoffLimitExceeded",
            message="Job has reached the specified backoff limit",
            **times,
        )
    )
    assert final_line("job-mx", failed) == (
        "Execution job-mx Failed after 1m30s: BackoffLimitExceeded:"
        " Job has reached the specified backoff limit"
    )
    interrupted = Snapshot.of(running_execution(phase="Interrupted", reason="JobDeleted"))
    assert final_line("job-mx", interrupted) == "Execution job-mx Interrupted: JobDeleted"


def test_outcome_from_events() -> None:
    events = [
        ("RunStarted", "Started Execution job-mx: manual run 't1'"),
        ("RunSucceeded", "Execution job-mxy succeeded"),
        ("RunFailed", "Execution job-mx failed: BackoffLimitExceeded: ..."),
    ]
    assert outcome_from_events(events, "job-mx") == "Failed"
    assert outcome_from_events(events, "job-mxy") == "Succeeded"
    assert outcome_from_events(events, "job-other") is None


# -- the commands, against a scripted cluster --------------------------------------------------


class ScriptedCluster(Cluster):
    """Answers from scripts: each look at the RerunnableJob or the Execution takes the next
    state (the last one repeats); records patches."""

    def __init__(
        self,
        rjobs: list[dict[str, Any] | None],
        executions: list[dict[str, Any] | Exception | None] | None = None,
        events: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__("ns")
        self.rjobs = rjobs
        self.executions = executions or [None]
        self.events = events or []
        self.patches: list[dict[str, Any]] = []
        self.conflicts = 0  # how many execution patches to answer with a conflict

    @staticmethod
    def _next(script: list[Any]) -> Any:
        state = script.pop(0) if len(script) > 1 else script[0]
        if isinstance(state, Exception):
            raise state
        return state

    def get_rjob(self, name: str) -> dict[str, Any]:
        found = self.find_rjob(name)
        if found is None:
            raise PluginError(f'rerunnablejob "{name}" not found in namespace "ns"')
        return found

    def find_rjob(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._next(self.rjobs)
        return found

    def find_execution(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._next(self.executions)
        return found

    def patch_rjob(self, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        self.patches.append(dict(patch))
        return self.get_rjob(name)

    def events_about_rjob(self, rjob: str) -> list[tuple[str, str]]:
        return self.events

    def get_execution(self, name: str) -> dict[str, Any]:
        found = self.find_execution(name)
        if found is None:
            raise PluginError(f'execution "{name}" not found in namespace "ns"')
        return found

    def patch_execution(
        self, name: str, patch: Mapping[str, Any], version: str
    ) -> dict[str, Any] | None:
        if self.conflicts:
            self.conflicts -= 1
            return None
        self.patches.append({**patch, "version": version})
        return self.get_execution(name)


class FakeClock:
    def __init__(self) -> None:
        self.elapsed = 0.0

    def now(self) -> datetime:
        return NOW + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.elapsed += seconds


def console(clock: FakeClock) -> tuple[Console, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return (
        Console(
            out=out,
            err=err,
            now=clock.now,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            local_zone=UTC,
        ),
        out,
        err,
    )


def job_obj(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "job", "generation": 1}, "spec": {}, "status": status}


def run_obj(phase: str | None, succeeded: int = 0, active: int = 0) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if phase:
        status = {
            "phase": phase,
            "progress": {"succeeded": succeeded, "failed": 0, "active": active, "total": 2},
        }
    return {"metadata": {"name": "job-m1"}, "status": status}


def run_it(cluster: ScriptedCluster, clock: FakeClock, **kwargs: Any) -> int:
    con = kwargs.pop("console")
    options = {"token": "t1", "wait": True, "timeout": timedelta(seconds=30), **kwargs}
    return run_command(cluster, "job", console=con, **options)


def test_run_wait_prints_each_change_and_exits_0() -> None:
    clock = FakeClock()
    con, out, err = console(clock)
    cluster = ScriptedCluster(
        [job_obj()],
        [
            None,  # before the patch
            None,
            run_obj("Running", 0, 2),
            run_obj("Running", 0, 2),  # unchanged: no line
            run_obj("Running", 1, 1),
            run_obj("Succeeded", 2, 0),
        ],
    )
    assert run_it(cluster, clock, console=con) == EXIT_OK
    assert cluster.patches == [{"metadata": {"annotations": {"rerunnable.dev/run": "t1"}}}]
    name = manual_execution_name("job", "t1")
    assert out.getvalue().splitlines() == [
        f"execution.rerunnable.dev/{name} requested (rerunnablejob/job, token t1)",
        "08:00:00  waiting for the operator to create the Execution",
        "08:00:00  Running      0/2 succeeded, 0 failed, 2 active",
        "08:00:01  Running      1/2 succeeded, 0 failed, 1 active",
        "08:00:02  Succeeded    2/2 succeeded, 0 failed, 0 active",
        f"Execution {name} Succeeded (2/2 succeeded, 0 failed, 0 active)",
    ]
    assert err.getvalue() == ""


def test_run_without_wait_only_requests() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster([job_obj()])
    assert run_it(cluster, clock, console=con, wait=False) == EXIT_OK
    assert len(cluster.patches) == 1
    assert out.getvalue().count("\n") == 1


def test_run_wait_times_out_with_2() -> None:
    clock = FakeClock()
    con, _, err = console(clock)
    cluster = ScriptedCluster([job_obj()], [None, run_obj("Running", 0, 1)])
    code = run_it(cluster, clock, console=con, timeout=timedelta(seconds=3))
    assert code == EXIT_TIMEOUT
    assert clock.elapsed == 3.0  # the deadline, not a sleep past it
    assert "timed out after 3s waiting for Execution" in err.getvalue()
    assert "last phase Running" in err.getvalue()


def test_run_wait_timeout_hints_at_a_missing_operator() -> None:
    clock = FakeClock()
    con, _, err = console(clock)
    cluster = ScriptedCluster([job_obj()])
    assert run_it(cluster, clock, console=con, timeout=timedelta(seconds=1)) == EXIT_TIMEOUT
    assert "the operator has not handled the token yet: is it running?" in err.getvalue()


def test_run_wait_refused_by_forbid() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    skipped = {**SKIPPED, "token": "t1"}
    cluster = ScriptedCluster(
        [job_obj(), job_obj(), job_obj(lastRunToken="t1", lastSkipped=skipped)]
    )
    with pytest.raises(PluginError, match="ConcurrencyForbidden"):
        run_it(cluster, clock, console=con)


def test_run_wait_failed_exits_1() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    failed = run_obj("Failed")
    failed["status"]["reason"] = "BackoffLimitExceeded"
    cluster = ScriptedCluster([job_obj()], [None, failed])
    assert run_it(cluster, clock, console=con) == EXIT_FAILED
    assert out.getvalue().splitlines()[-1].endswith("Failed: BackoffLimitExceeded")


def test_run_wait_pruned_at_once_uses_the_event() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    name = manual_execution_name("job", "t1")
    cluster = ScriptedCluster(
        [job_obj()],
        [None, run_obj("Running", 0, 1), None],
        events=[("RunSucceeded", f"Execution {name} succeeded")],
    )
    assert run_it(cluster, clock, console=con) == EXIT_OK
    assert f"Execution {name} Succeeded (from the operator's event" in out.getvalue()


def test_run_wait_vanished_without_event_is_an_error() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    cluster = ScriptedCluster([job_obj()], [None, run_obj("Running", 0, 1), None])
    with pytest.raises(PluginError, match="was deleted before it finished"):
        run_it(cluster, clock, console=con)
    assert clock.elapsed <= 30


def test_run_with_a_token_whose_execution_exists_patches_nothing() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster([job_obj(lastRunToken="t1")], [run_obj("Succeeded", 2, 0)])
    assert run_it(cluster, clock, console=con) == EXIT_OK
    assert cluster.patches == []
    assert "exists already (Succeeded)" in out.getvalue()


def test_suspend_until_patches_suspend_until_and_clears_suspend() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster([{**job_obj(), "spec": {"suspend": True}}])
    assert suspend_command(cluster, "job", until="2h", console=con) == EXIT_OK
    assert cluster.patches == [{"spec": {"suspend": False, "suspendUntil": "2026-11-22T10:00:00Z"}}]
    assert out.getvalue() == (
        "rerunnablejob/job suspended until 2026-11-22T10:00:00Z (in 2h):"
        " spec.suspend true -> false, spec.suspendUntil <none> -> 2026-11-22T10:00:00Z\n"
    )


def test_suspend_twice_changes_nothing() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster([{**job_obj(), "spec": {"suspend": True}}])
    assert suspend_command(cluster, "job", until=None, console=con) == EXIT_OK
    assert cluster.patches == []
    assert "nothing changed" in out.getvalue()


def test_resume_removes_suspend_until_with_null() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    spec = {"suspend": True, "suspendUntil": "2026-11-22T10:00:00Z"}
    cluster = ScriptedCluster([{**job_obj(), "spec": spec}])
    assert resume_command(cluster, "job", console=con) == EXIT_OK
    assert cluster.patches == [{"spec": {"suspend": False, "suspendUntil": None}}]
    assert "spec.suspendUntil 2026-11-22T10:00:00Z -> <none>" in out.getvalue()


def test_run_wait_rides_out_transient_api_errors() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    lost = TransientError("connection refused")
    script: list[dict[str, Any] | Exception | None] = [None, lost, lost, run_obj("Succeeded", 2, 0)]
    cluster = ScriptedCluster([job_obj()], script)
    assert run_it(cluster, clock, console=con) == EXIT_OK
    assert "Succeeded" in out.getvalue()


def test_a_timeout_names_the_last_api_error() -> None:
    clock = FakeClock()
    con, _, err = console(clock)
    down: list[dict[str, Any] | Exception | None] = [None, TransientError("503 etcd is down")]
    cluster = ScriptedCluster([job_obj()], down)
    assert run_it(cluster, clock, console=con, timeout=timedelta(seconds=2)) == EXIT_TIMEOUT
    assert "the API server last answered: 503 etcd is down" in err.getvalue()


# -- run -p ---------------------------------------------------------------------------------------

DECLARED = [
    {"name": "DAY", "required": True, "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    {"name": "FORMAT", "default": "csv", "enum": ["csv", "json"]},
]


def job_with_parameters(annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
    obj = job_obj()
    obj["spec"] = {"parameters": DECLARED}
    obj["metadata"]["annotations"] = dict(annotations or {})
    return obj


def test_run_with_parameters_sends_them_with_the_token_in_one_patch() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    stale = {
        "rerunnable.dev/run": "t0",
        "rerunnable.dev/parameters-for": "t0",
        "parameters.rerunnable.dev/DAY": "2026-11-01",
        "parameters.rerunnable.dev/FORMAT": "json",
    }
    cluster = ScriptedCluster([job_with_parameters(stale)])
    sent = {"DAY": "2026-11-30"}
    assert run_it(cluster, clock, console=con, wait=False, sent=sent) == EXIT_OK
    assert cluster.patches == [
        {
            "metadata": {
                "annotations": {
                    "rerunnable.dev/run": "t1",
                    "parameters.rerunnable.dev/DAY": "2026-11-30",
                    # a value of the earlier run is removed, never carried over
                    "parameters.rerunnable.dev/FORMAT": None,
                    "rerunnable.dev/parameters-for": "t1",
                }
            }
        }
    ]
    assert "token t1, parameters DAY=2026-11-30)" in out.getvalue()


def test_run_without_parameters_leaves_the_annotations_of_another_token() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    stale = {"rerunnable.dev/parameters-for": "t0", "parameters.rerunnable.dev/DAY": "2026-11-01"}
    cluster = ScriptedCluster([job_with_parameters(stale)])
    assert run_it(cluster, clock, console=con, wait=False, sent={}) == EXIT_OK
    # parameters-for names t0, so the run of t1 takes the defaults
    assert cluster.patches == [{"metadata": {"annotations": {"rerunnable.dev/run": "t1"}}}]


@pytest.mark.parametrize(
    ("case", "sent", "message"),
    [
        ("unknown", {"DAY": "2026-11-30", "DAYS": "1"}, "parameter DAYS: not declared"),
        ("required missing", {"FORMAT": "csv"}, "parameter DAY: required, and not sent"),
        ("not in enum", {"DAY": "2026-11-30", "FORMAT": "xml"}, "'xml' is not one of csv, json"),
        ("pattern", {"DAY": "yesterday"}, "'yesterday' does not match the pattern"),
    ],
)
def test_run_with_bad_parameters_changes_nothing(
    case: str, sent: dict[str, str], message: str
) -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    cluster = ScriptedCluster([job_with_parameters()])
    with pytest.raises(PluginError, match=message) as refused:
        run_it(cluster, clock, console=con, sent=sent)
    assert refused.value.message.startswith("rerunnablejob/job: invalid parameters: "), case
    assert refused.value.message.endswith("nothing changed")
    assert cluster.patches == []


def test_run_wait_refused_for_invalid_parameters_exits_1_with_the_operators_message() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    skipped = {
        **SKIPPED,
        "token": "t1",
        "reason": "InvalidParameters",
        "message": "invalid parameters: parameter DAY: required, and not sent",
    }
    cluster = ScriptedCluster(
        [job_with_parameters(), job_obj(lastRunToken="t1", lastSkipped=skipped)]
    )
    with pytest.raises(PluginError, match=r"\(InvalidParameters\): invalid parameters: parameter"):
        run_it(cluster, clock, console=con, sent={"DAY": "2026-11-30"})


# -- cancel ---------------------------------------------------------------------------------------


def an_execution(
    phase: str | None = "Running",
    annotations: Mapping[str, str] | None = None,
    version: str = "7",
    **status: Any,
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "job-m1",
            "resourceVersion": version,
            "annotations": dict(annotations or {}),
        },
        "status": {"phase": phase, **status} if phase else {},
    }


CANCELLED = an_execution(
    "Interrupted",
    {"rerunnable.dev/cancel": "true"},
    reason="Cancelled",
    message="cancelled by alice; its Job is deleted",
    completionTime="2026-11-22T08:00:03Z",
)


def cancel_it(cluster: ScriptedCluster, clock: FakeClock, con: Console, **kwargs: Any) -> int:
    options = {"wait": False, "timeout": timedelta(seconds=30), **kwargs}
    return cancel_command(cluster, "job-m1", console=con, **options)


def test_cancel_sets_the_annotation_on_the_version_it_saw() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster([], [an_execution("Running", version="7")])
    assert cancel_it(cluster, clock, con) == EXIT_OK
    assert cluster.patches == [
        {"metadata": {"annotations": {"rerunnable.dev/cancel": "true"}}, "version": "7"}
    ]
    assert out.getvalue() == "execution.rerunnable.dev/job-m1 cancel requested\n"


def test_cancel_of_a_queued_run() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    cluster = ScriptedCluster([], [an_execution("Pending", reason="Queued")])
    assert cancel_it(cluster, clock, con) == EXIT_OK
    assert len(cluster.patches) == 1


def test_cancel_looks_again_after_a_conflict() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    cluster = ScriptedCluster([], [an_execution("Pending", version="7"), an_execution(version="9")])
    cluster.conflicts = 1
    assert cancel_it(cluster, clock, con) == EXIT_OK
    assert [p["version"] for p in cluster.patches] == ["9"]


def test_a_second_cancel_is_a_no_op() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    asked = an_execution(
        "Running", {"rerunnable.dev/cancel": "true", "rerunnable.dev/cancelled-by": "alice"}
    )
    cluster = ScriptedCluster([], [asked])
    assert cancel_it(cluster, clock, con) == EXIT_OK
    assert cluster.patches == []
    assert "a cancel was requested already by alice; nothing changed" in out.getvalue()


@pytest.mark.parametrize(
    ("case", "execution", "how"),
    [
        (
            "succeeded",
            an_execution("Succeeded", completionTime="2026-11-22T07:59:00Z"),
            "has already finished: Succeeded, at 2026-11-22T07:59:00Z",
        ),
        (
            "failed",
            an_execution("Failed", reason="BackoffLimitExceeded", message="Job has reached"),
            "Failed (BackoffLimitExceeded: Job has reached)",
        ),
        (
            "cancelled",
            CANCELLED,
            "Interrupted, cancelled by alice; its Job is deleted, at 2026-11-22T08:00:03Z",
        ),
    ],
)
def test_cancel_of_a_finished_run_exits_1_saying_how_it_finished(
    case: str, execution: dict[str, Any], how: str
) -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    cluster = ScriptedCluster([], [execution])
    with pytest.raises(PluginError) as refused:
        cancel_it(cluster, clock, con)
    assert how in refused.value.message, case
    assert refused.value.message.endswith("; nothing changed")
    assert refused.value.exit_code == 1
    assert cluster.patches == []


def test_cancel_wait_follows_the_run_until_it_is_cancelled() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster([], [an_execution("Running"), an_execution("Running"), CANCELLED])
    assert cancel_it(cluster, clock, con, wait=True) == EXIT_OK
    assert out.getvalue().splitlines()[-1] == (
        "execution.rerunnable.dev/job-m1 cancelled: cancelled by alice; its Job is deleted"
    )


def test_cancel_wait_of_a_run_that_finished_first_exits_1() -> None:
    clock = FakeClock()
    con, _, _ = console(clock)
    cluster = ScriptedCluster([], [an_execution("Running"), an_execution("Succeeded")])
    with pytest.raises(PluginError, match="finished before the cancel took effect: Succeeded"):
        cancel_it(cluster, clock, con, wait=True)


def test_cancel_wait_times_out_with_2() -> None:
    clock = FakeClock()
    con, _, err = console(clock)
    cluster = ScriptedCluster([], [an_execution("Running")])
    assert cancel_it(cluster, clock, con, wait=True, timeout=timedelta(seconds=2)) == EXIT_TIMEOUT
    assert clock.elapsed == 2.0
    assert "timed out after 2s waiting for execution job-m1 to end" in err.getvalue()


def attempt_obj(n: int, phase: str, retrying: str | None = None) -> dict[str, Any]:
    """Attempt n of run t1 of job `job`; `retrying` is its Retrying condition's reason."""
    first = manual_execution_name("job", "t1")
    name = first if n == 1 else f"{first}-{n}"
    spec: dict[str, Any] = {"rerunnableJob": "job", "trigger": "Manual", "attempt": n}
    if n > 1:
        spec["retryOf"] = first
    status: dict[str, Any] = {"phase": phase}
    if retrying is not None:
        status["conditions"] = [
            {"type": "Retrying", "status": "True" if retrying == "Waiting" else "False",
             "reason": retrying, "message": "m"}
        ]  # fmt: skip
        if retrying == "Waiting":
            status["nextAttemptTime"] = "2026-11-22T08:00:30Z"
    return {"metadata": {"name": name}, "spec": spec, "status": status}


def test_run_wait_follows_the_attempts_of_a_run_to_its_end() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    waiting = attempt_obj(1, "Failed", "Waiting")
    cluster = ScriptedCluster(
        [job_obj()],
        [None, waiting, None, waiting, attempt_obj(2, "Succeeded")],
    )
    assert run_it(cluster, clock, console=con) == EXIT_OK
    first = manual_execution_name("job", "t1")
    lines = out.getvalue().splitlines()
    assert f"Execution {first} Failed" in lines
    assert any(f"attempt 2 ({first}-2) starts at 08:00:30" in line for line in lines)
    assert lines[-1] == f"Execution {first}-2 Succeeded"


def test_run_wait_ends_when_the_waiting_retry_is_called_off() -> None:
    clock = FakeClock()
    con, out, _ = console(clock)
    cluster = ScriptedCluster(
        [job_obj()],
        [None, attempt_obj(1, "Failed", "Waiting"), None, attempt_obj(1, "Failed", "Cancelled")],
    )
    assert run_it(cluster, clock, console=con) == EXIT_FAILED
    first = manual_execution_name("job", "t1")
    assert out.getvalue().splitlines()[-1] == f"Execution {first}: its retry was called off"
