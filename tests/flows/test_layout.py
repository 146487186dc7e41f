"""The flows' layout, read from their source with ast: each flow is a short list of task calls; timing, memory and
how arguments reach Prefect are the run skeleton's and the tasks' business (tasks/run, tasks/*)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
FLOW_FILES = sorted(p for p in FLOWS_DIR.glob("*.py") if p.name != "__init__.py")
MAX_LINES = 40
FORBIDDEN_CALLS = {"as_is", "timer", "release_free_memory", "StageTimer"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _functions(tree: ast.Module) -> list[ast.FunctionDef]:
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]


def _is_flow(fn: ast.FunctionDef) -> bool:
    for deco in fn.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        if isinstance(target, ast.Name) and target.id == "flow":
            return True
    return False


def _body_lines(fn: ast.FunctionDef) -> int:
    """Lines from the first statement (the docstring) to the last, as a reader sees them."""
    return (fn.body[-1].end_lineno or fn.body[-1].lineno) - fn.body[0].lineno + 1


def test_every_flow_file_is_found() -> None:
    assert len(FLOW_FILES) == 11, [p.name for p in FLOW_FILES]


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_each_flow_file_defines_a_flow(path: Path) -> None:
    assert any(_is_flow(fn) for fn in _functions(_tree(path))), f"flows/{path.name} defines no @flow function"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_flow_bodies_and_the_steps_they_share_fit_in_40_lines(path: Path) -> None:
    # Not only the @flow functions: a flow whose body is one call to a shared function in flows/ (the improvement
    # initiative runs the transformation's steps) would otherwise hide its length there.
    long = {fn.name: _body_lines(fn) for fn in _functions(_tree(path)) if _body_lines(fn) > MAX_LINES}
    assert not long, f"flows/{path.name}: bodies over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_flows_leave_timing_memory_and_handoff_to_the_skeleton(path: Path) -> None:
    tree = _tree(path)
    calls = [
        f"{node.func.id if isinstance(node.func, ast.Name) else node.func.attr}() line {node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) in FORBIDDEN_CALLS
    ]
    imported = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name in FORBIDDEN_CALLS
    ]
    assert not calls and not imported, f"flows/{path.name}: {calls + imported}"


def test_the_checks_catch_what_they_look_for() -> None:
    # The same walk over a made-up flow that breaks every rule: it must report each one.
    source = "@flow\ndef f():\n" + "    x = 1\n" * 41 + "    with timer('compute'):\n        as_is(x)\n"
    tree = ast.parse(source)
    (fn,) = _functions(tree)
    assert _is_flow(fn) and _body_lines(fn) == 43  # 41 assignments + the with line + the call inside it
    names = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert names & FORBIDDEN_CALLS == {"timer", "as_is"}
