"""`kubectl_complete-rerun`: what `complete` offers for the words after `kubectl rerun`, read
from the real parser, with the names from a fake lister; `main`'s output as kubectl reads it;
`ApiLister` on a kubeconfig and on an API server that never answers."""

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from rerunnable.plugin.cli import build_parser
from rerunnable.plugin.completion import (
    DEFAULT,
    NO_FILE_COMP,
    ApiLister,
    Kind,
    Target,
    complete,
    main,
)

NAMES: dict[Kind, list[str]] = {
    "rerunnablejobs": ["nightly-backup", "export-day"],
    "executions": ["nightly-backup-m1a2b3c4d", "export-day-m0f0f0f0f"],
    "namespaces": ["default", "team-a", "team-b"],
    "contexts": ["prod", "staging"],
    "clusters": ["prod-cluster"],
    "users": ["admin", "ci"],
}
COMMANDS = ["run", "cancel", "history", "status", "logs", "next", "suspend", "resume", "backfill"]


class FakeLister:
    def __init__(self) -> None:
        self.asked: list[tuple[Kind, Target]] = []

    def names(self, kind: Kind, target: Target) -> list[str]:
        self.asked.append((kind, target))
        return NAMES[kind]


CASES: list[tuple[str, list[str], list[str], int]] = [
    # (id, words, the candidates, the directive)
    ("command word, empty", [""], COMMANDS, NO_FILE_COMP),
    ("command word, prefix", ["r"], ["run", "resume"], NO_FILE_COMP),
    ("command after a global flag", ["-n", "team-a", "h"], ["history"], NO_FILE_COMP),
    ("flag of run", ["run", "--t"], ["--token", "--timeout"], NO_FILE_COMP),
    ("flag of next", ["next", "x", "--c"], ["--context", "--cluster", "--count"], NO_FILE_COMP),
    ("a flag given is not offered again", ["run", "--wait", "--wa"], [], NO_FILE_COMP),
    ("-o value", ["run", "x", "-o", ""], ["name", "json", "yaml"], NO_FILE_COMP),
    ("-o value of history", ["history", "x", "-o", "w"], ["wide"], NO_FILE_COMP),
    ("--output= value", ["next", "x", "--output=j"], ["json"], NO_FILE_COMP),
    ("NAME of run", ["run", ""], ["export-day", "nightly-backup"], NO_FILE_COMP),
    ("NAME of run, prefix", ["run", "ni"], ["nightly-backup"], NO_FILE_COMP),
    ("NAME after flags", ["suspend", "--until", "2h", "e"], ["export-day"], NO_FILE_COMP),
    (
        "EXECUTION of cancel",
        ["cancel", ""],
        ["export-day-m0f0f0f0f", "nightly-backup-m1a2b3c4d"],
        NO_FILE_COMP,
    ),
    ("EXECUTION of status, prefix", ["status", "ex"], ["export-day-m0f0f0f0f"], NO_FILE_COMP),
    ("EXECUTION of logs, prefix", ["logs", "-f", "ni"], ["nightly-backup-m1a2b3c4d"], NO_FILE_COMP),
    ("flag of logs", ["logs", "x", "--t"], ["--tail", "--timestamps"], NO_FILE_COMP),
    ("after the positional: nothing", ["history", "x", ""], [], NO_FILE_COMP),
    ("required flags of backfill", ["backfill", "x", ""], ["--from", "--to"], NO_FILE_COMP),
    ("namespace value", ["run", "-n", ""], ["default", "team-a", "team-b"], NO_FILE_COMP),
    ("--namespace value, prefix", ["run", "--namespace", "team-"], ["team-a", "team-b"], 4),
    ("context value", ["history", "--context", ""], ["prod", "staging"], NO_FILE_COMP),
    ("cluster value", ["--cluster", ""], ["prod-cluster"], NO_FILE_COMP),
    ("user value", ["status", "x", "--user", "a"], ["admin"], NO_FILE_COMP),
    ("kubeconfig value gets files", ["run", "--kubeconfig", ""], [], DEFAULT),
    ("--kubeconfig= value gets files", ["run", "--kubeconfig=~/."], [], DEFAULT),
    ("free value: nothing", ["run", "x", "--token", ""], [], NO_FILE_COMP),
    ("unknown command: nothing, NoFileComp", ["bogus", ""], [], NO_FILE_COMP),
    ("unknown command, flag: nothing", ["bogus", "-"], [], NO_FILE_COMP),
]


@pytest.mark.parametrize(
    ("words", "expected", "directive"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_complete(words: list[str], expected: list[str], directive: int) -> None:
    result = complete(words, build_parser(), FakeLister())
    assert [word for word, _ in result.candidates] == expected
    assert result.directive == directive


def test_commands_and_flags_carry_their_help() -> None:
    commands = dict(complete([""], build_parser(), FakeLister()).candidates)
    assert commands["run"] == "start a manual run of a RerunnableJob now"
    assert commands["cancel"].startswith("cancel a run")
    flags = dict(complete(["run", "x", "-"], build_parser(), FakeLister()).candidates)
    assert {"-n", "--namespace", "--kubeconfig", "--wait", "-o", "-p", "-h"} <= set(flags)
    assert flags["--wait"] == "follow the run until it ends; exit 0, 1 or 2"
    assert "\n" not in "".join(flags.values())
    top = dict(complete(["-"], build_parser(), FakeLister()).candidates)
    assert "--version" in top
    assert "--wait" not in top


@pytest.mark.parametrize(
    ("words", "target"),
    [
        (["run", ""], Target()),
        (["run", "-n", "team-a", ""], Target(namespace="team-a")),
        (["-n", "team-a", "run", ""], Target(namespace="team-a")),
        (["run", "--namespace=team-b", ""], Target(namespace="team-b")),
        (["run", "-nteam-c", ""], Target(namespace="team-c")),
        (
            ["cancel", "--kubeconfig", "/k", "--context=prod", "--cluster=c", "--user", "u", ""],
            Target(kubeconfig="/k", context="prod", cluster="c", user="u"),
        ),
        (
            ["--context", "prod", "-n", "a", "--namespace", ""],
            Target(context="prod", namespace="a"),
        ),
    ],
)
def test_the_lister_gets_the_flags_given_in_the_words(words: list[str], target: Target) -> None:
    lister = FakeLister()
    complete(words, build_parser(), lister)
    assert [t for _, t in lister.asked] == [target]


def test_main_prints_the_lines_kubectl_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x", "-o", ""], lister=FakeLister()) == 0
    assert capsys.readouterr().out == "name\njson\nyaml\n:4\n"
    assert main(["st"], lister=FakeLister()) == 0
    assert capsys.readouterr().out == (
        "status\tshow one run: its phase, progress, steps, result and pods\n:4\n"
    )


def test_main_never_fails(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def names(self, kind: Kind, target: Target) -> list[str]:
            raise RuntimeError("boom")

    assert main(["run", ""], lister=Broken()) == 0
    assert capsys.readouterr().out == ":4\n"


def write_kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "prod",
                "contexts": [
                    {"name": "prod", "context": {"cluster": "k1", "user": "u1"}},
                    {"name": "dev", "context": {"cluster": "k1", "user": "u2"}},
                ],
                "clusters": [{"name": "k1", "cluster": {"server": server}}],
                "users": [{"name": "u1", "user": {"token": "t"}}, {"name": "u2", "user": {}}],
            }
        )
    )
    return path


def test_the_api_lister_reads_the_kubeconfigs_names(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1")
    lister = ApiLister()
    target = Target(kubeconfig=str(config))
    assert lister.names("contexts", target) == ["prod", "dev"]
    assert lister.names("clusters", target) == ["k1"]
    assert lister.names("users", target) == ["u1", "u2"]
    assert lister.names("contexts", Target(kubeconfig=str(tmp_path / "missing"))) == []


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        yield listening.getsockname()[1]


def test_the_api_lister_gives_up_at_its_deadline(tmp_path: Path, silent_server: int) -> None:
    config = write_kubeconfig(tmp_path / "config", f"https://127.0.0.1:{silent_server}")
    lister = ApiLister(deadline=0.5)
    started = time.monotonic()
    assert lister.names("rerunnablejobs", Target(kubeconfig=str(config))) == []
    assert time.monotonic() - started < 2


def test_the_api_lister_without_a_server(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", "https://127.0.0.1:1")  # refused
    assert ApiLister().names("executions", Target(kubeconfig=str(config))) == []
    assert ApiLister().names("namespaces", Target(kubeconfig=str(tmp_path / "nope"))) == []
