"""Every crash point the operator names is one RERUNNABLE_CRASH_AT accepts (a test that asks
for an unknown one makes the operator refuse to start, rather than crash where asked)."""

import ast
from pathlib import Path

import rerunnable
from rerunnable.controller.faults import CRASH_POINTS


def test_every_crash_point_in_the_code_is_known() -> None:
    named = set()
    for source in Path(rerunnable.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "crash_point"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                named.add(node.args[0].value)
    assert "after-armed" in named
    assert named <= CRASH_POINTS, named - CRASH_POINTS
