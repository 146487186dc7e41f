"""Every bad-input fixture, through `opsflow validate`: one clear line naming file, column and row; no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from opsflow.cli import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bad_inputs"
CASES: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "cases.yaml").read_text(encoding="utf-8"))["cases"]


def test_at_least_fifteen_cases_cover_the_three_stages() -> None:
    assert len(CASES) >= 15
    assert {c["stage"] for c in CASES} == {"load", "reject", "validate"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input_gets_one_clear_line(case: dict[str, Any], tmp_path: Path) -> None:
    workspace = tmp_path / case["name"]
    shutil.copytree(FIXTURES / case["name"], workspace)
    result = CliRunner().invoke(app, ["validate", "--workspace", str(workspace)])
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code == 1, out  # each fixture has one bad row among a few: over the 5% threshold
    assert "Traceback" not in out, out
    assert result.exception is None or isinstance(result.exception, SystemExit), out
    lines = [line for line in out.splitlines() if case["message"] in line]
    assert lines, f"no line says {case['message']!r}:\n{out}"
    if case["stage"] in ("reject", "validate"):
        # Row-level problems name the source file and the row, on the same line as the column and the problem.
        assert any(f"row {case['row']}:" in line and case["dataset"] in line for line in lines), out
