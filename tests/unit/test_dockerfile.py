"""The container image, checked without a container engine (none runs on CI).

What a platform team's admission policies and scanners would refuse is
refused here first: an unpinned base, a root user, source in the final image.
"""

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions, with continuation lines joined and comments dropped."""
    found: list[Instruction] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        found.append(Instruction(keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends in a continuation line"
    return found


def stages(found: list[Instruction]) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for instruction in found:
        if instruction.keyword == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def resolve(image: str, found: list[Instruction]) -> str:
    defaults = dict(i.args.split("=", 1) for i in found if i.keyword == "ARG" and "=" in i.args)
    return re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)


@pytest.fixture(scope="module")
def dockerfile() -> list[Instruction]:
    return instructions((REPO / "Dockerfile").read_text())


def test_the_build_has_a_separate_final_stage(dockerfile: list[Instruction]) -> None:
    assert len(stages(dockerfile)) >= 2


def test_every_base_image_is_pinned(dockerfile: list[Instruction]) -> None:
    for stage in stages(dockerfile):
        image = resolve(stage[0].args.split()[0], dockerfile)
        pinned_digest = "@sha256:" in image
        tag = image.rsplit(":", 1)[1] if ":" in image.split("/")[-1] else ""
        pinned_version = re.match(r"\d+\.\d+\.\d+", tag) is not None
        assert pinned_digest or pinned_version, f"{image}: pin a full version or a digest"


def test_the_final_stage_runs_as_a_non_root_user(dockerfile: list[Instruction]) -> None:
    final = stages(dockerfile)[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), "a numeric uid lets runAsNonRoot verify it"
    assert int(uid) != 0
    assert gid.isdigit()
    assert int(gid) != 0


def test_the_entrypoint_is_the_console_script(dockerfile: list[Instruction]) -> None:
    final = stages(dockerfile)[-1]
    (entrypoint,) = [i.args for i in final if i.keyword == "ENTRYPOINT"]
    assert entrypoint.startswith("["), "exec form, so signals reach the operator"
    command = shlex.split(entrypoint.strip("[]").replace(",", " "))
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert command == ["rerunnable"]
    assert command[0] in scripts


def test_the_final_stage_installs_wheels_only(dockerfile: list[Instruction]) -> None:
    final = stages(dockerfile)[-1]
    assert not [i for i in final if i.keyword in ("COPY", "ADD") and "--from=" not in i.args], (
        "no source enters the final image"
    )
    installs = [i.args for i in final if i.keyword == "RUN" and "pip install" in i.args]
    assert installs
    assert all("--no-index" in run for run in installs), "only the wheels built before"
