"""The `opsflow` command: sample, validate and run, their one-line errors, and a clean run on a temporary server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from opsflow.cli import app
from opsflow.config import CONFIG_FILE

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _copy(sample_workspace: Path, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(sample_workspace, ws)
    return ws


def _opsflow(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it (the timeout only guards against a hang: imports alone took
    20 s when this machine was slow)."""
    return subprocess.run(
        [str(BIN / "opsflow"), *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT
    )


def _one_error_line(stderr: str, only: bool = True) -> str:
    """The error line; with `only`, it must be all of stderr, else it is the last line (after logged warnings)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "nothing on stderr"
    if only:
        assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[-1].startswith("opsflow: error: ")
    assert sum(line.startswith("opsflow: error: ") for line in lines) == 1
    assert "Traceback" not in stderr
    return lines[-1]


def test_sample_writes_a_workspace(tmp_path: Path) -> None:
    out = tmp_path / "sample"
    result = runner.invoke(app, ["sample", "--out", str(out), "--scale", "0.02", "--end", "2026-03-29"])
    assert result.exit_code == 0, result.output
    assert (out / CONFIG_FILE).is_file()
    assert "incidents" in result.stdout
    assert f"Wrote the sample workspace to {out}" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["sample"], 2, "--out"),
        (["sample", "--out", "x", "--end", "2026-13-01"], 1, "--end: '2026-13-01' is not a date"),
        (["sample", "--out", "x", "--scale", "0"], 1, "--scale: must be above 0"),
        (["sample", "--out", "x", "--format", "xml"], 2, "xml"),
        (["run", "no-such-flow"], 1, "unknown flow 'no-such-flow'"),
        (["run", "data-check", "--as-of", "last week"], 1, "--as-of: 'last week' is not a date"),
        (["frobnicate"], 2, "frobnicate"),
    ],
)
def test_user_errors_are_one_line_on_stderr(args: list[str], code: int, needle: str, tmp_path: Path) -> None:
    result = _opsflow(*args)
    assert result.returncode == code, result.stdout + result.stderr
    assert needle in _one_error_line(result.stderr)


def test_validate_prints_the_summary_and_writes_report_and_quarantine(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    result = runner.invoke(app, ["validate", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["dataset", "rows", "in", "used", "quarantined", "share", "status"]
    assert any(row.startswith("incidents ") and row.endswith("ok") for row in rows)
    assert "Data usable." in result.stdout
    assert any((ws / "reports" / "data-quality").iterdir())
    assert (ws / "quarantine").is_dir()


def test_validate_exits_1_with_one_line_when_data_is_not_usable(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    config = yaml.safe_load((ws / CONFIG_FILE).read_text(encoding="utf-8"))
    path = ws / config["sources"]["incidents"]["path"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.iloc[: len(frame) // 2, :] = "???"  # half the rows junk: far above the 5 % quarantine limit
    frame.to_csv(path, index=False)
    (ws / config["sources"]["vendors"]["path"]).unlink()

    result = runner.invoke(app, ["validate", "--workspace", str(ws)])

    assert result.exit_code == 1
    # Warnings logged on the way (the missing file, references not checked) precede the one error line.
    line = _one_error_line(result.stderr, only=False)
    assert "data not usable" in line and "incidents:" in line and "vendors: could not be read" in line
    # The table still shows both, and the load error gets its own line on stdout.
    assert any(r.startswith("vendors ") and r.endswith("NOT READ") for r in result.stdout.splitlines())
    assert any(r.startswith("incidents ") and "NOT USABLE" in r for r in result.stdout.splitlines())
    assert any(r.startswith("vendors: ") for r in result.stdout.splitlines())


def test_validate_without_a_workspace_is_one_line(tmp_path: Path) -> None:
    result = _opsflow("validate", "--workspace", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert CONFIG_FILE in _one_error_line(result.stderr)


def test_broken_opsflow_yaml_is_one_line_before_any_server_starts(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    (ws / CONFIG_FILE).write_text("sources: [not, a, mapping\n", encoding="utf-8")
    result = _opsflow("run", "data-check", "--workspace", str(ws))
    assert result.returncode == 1
    assert "not valid YAML" in _one_error_line(result.stderr)
    assert "temporary server" not in result.stdout + result.stderr


def test_run_data_check_prints_where_outputs_are(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    result = runner.invoke(app, ["run", "data-check", "--workspace", str(ws), "--as-of", "2026-03-29"])
    assert result.exit_code == 0, result.output
    assert "data-check finished in" in result.stdout
    listed = [line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("  report")]
    assert listed and all(Path(p).is_file() for p in listed)


def test_run_fails_in_one_line_when_data_is_not_usable(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    config = yaml.safe_load((ws / CONFIG_FILE).read_text(encoding="utf-8"))
    (ws / config["sources"]["vendors"]["path"]).unlink()
    result = runner.invoke(app, ["run", "data-check", "--workspace", str(ws)])
    assert result.exit_code == 1
    line = _one_error_line(result.stderr, only=False)
    assert line.startswith("opsflow: error: data-check failed: ")
    assert "data not usable" in line and "vendors" in line


@pytest.mark.slow
def test_run_creates_the_workspace_from_the_sample_when_absent(tmp_path: Path) -> None:
    ws = tmp_path / "fresh"
    result = runner.invoke(app, ["run", "data-check", "--workspace", str(ws)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Created a sample workspace in {ws}")
    assert (ws / CONFIG_FILE).is_file()


def _standalone_env(tmp_path: Path) -> dict[str, str]:
    """No Prefect setting of the test session (so no PREFECT_API_URL): the CLI starts its own temporary server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return env


@pytest.mark.slow
def test_cli_run_on_a_temporary_server_prints_no_error_or_traceback(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    result = _opsflow("run", "data-check", "--workspace", str(ws), env=_standalone_env(tmp_path), timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Starting temporary server" in output and "Stopping temporary server" in output
    assert "Traceback" not in output
    assert "ERROR" not in output
    assert "data-check finished in" in result.stdout


RECORDER_BACKLOG_FLOW = textwrap.dedent(
    """
    from prefect import flow, task
    from opsflow.runtime import prefect_runtime

    @task
    def step(x: int) -> int:
        return x + 1

    @flow(name="many-tasks")
    def many_tasks() -> int:
        return sum(f.result() for f in [step.submit(i) for i in range(100)])

    with prefect_runtime():
        print("result", many_tasks())
    """
)


@pytest.mark.slow
def test_temporary_server_is_stopped_after_it_recorded_every_task_run(tmp_path: Path) -> None:
    # 100 tasks finishing at once leave the server's task-run recorder a backlog when the flow returns. Stopped
    # then (what Prefect's own exit hook does) it logs "ERROR ... Error flushing 1 events" with CancelledError
    # tracebacks; prefect_runtime waits until every task run's last state is recorded, then stops it.
    script = tmp_path / "many_tasks.py"
    script.write_text(RECORDER_BACKLOG_FLOW, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=_standalone_env(tmp_path),
        cwd=ROOT,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "result 5050" in result.stdout
    assert "Traceback" not in output
    assert "ERROR" not in output
