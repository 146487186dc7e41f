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
    assert header.split() == ["dataset", "source", "rows", "rows", "in", "used", "quarantined", "share", "status"]
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


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_mistyped_workspace_is_one_line_and_no_sample_is_made_up(command: str, tmp_path: Path) -> None:
    # Before: `run` wrote the sample company into the mistyped folder, audited it and posted it, exit 0.
    typo = tmp_path / "wrokspace"
    args = ["run", "weekly-audit"] if command == "run" else ["validate"]
    result = _opsflow(*args, "--workspace", str(typo))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{typo}: no such workspace folder" in _one_error_line(result.stderr)
    assert not typo.exists()
    assert "temporary server" not in result.stdout + result.stderr


def test_a_folder_without_opsflow_yaml_is_one_line_and_left_as_it_was(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _opsflow("run", "weekly-audit", "--workspace", str(empty))
    assert result.returncode == 1
    assert f"no {CONFIG_FILE} here (run `opsflow sample --out {empty}`" in _one_error_line(result.stderr)
    assert list(empty.iterdir()) == []


def _config_workspace(tmp_path: Path, text: str) -> Path:
    ws = tmp_path / "ws"
    (ws / "data").mkdir(parents=True)
    (ws / CONFIG_FILE).write_text(textwrap.dedent(text), encoding="utf-8")
    return ws


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        # The case: this passed `validate` ("Data usable.") and crashed the run with a 30-line traceback.
        ("timezone: Europe/Berln\n", "timezone: 'Europe/Berln' is not a known time zone"),
        (
            "sources:\n  risks: {path: data/r.csv, timezone: Mars/Olympus}\n",
            "sources.risks.timezone: 'Mars/Olympus' is not a known time zone",
        ),
        ("slack: {default_channel: ops weekly}\n", "slack.default_channel: 'ops weekly' is not a Slack channel"),
        ("slack: {severity_channels: {SEV1: '#Inc Major'}}\n", "slack.severity_channels: '#Inc Major' is not a"),
        ("history_url: 'sqlite//history.db'\n", "history_url: not a SQLAlchemy URL"),
        (
            "sources:\n  risks: {type: sql, url: 'postgresql+psycopg//ops:hunter2@db/grc', query: select 1}\n",
            "sources.risks.url: not a SQLAlchemy URL",
        ),
        ("sources:\n  risks: {path: ../../etc/passwd}\n", "sources.risks.path: '../../etc/passwd' is outside"),
        ("sources:\n  risks: {path: /etc/passwd}\n", "sources.risks.path: '/etc/passwd' is outside the workspace"),
        # An unknown key lists the keys allowed where it stands.
        (
            "sources:\n  incidents: {path: i.csv, copy: {title: t}}\n",
            "sources.incidents.copy: not a known key (allowed here: type, preset, path, sheet,",
        ),
        (
            "sources:\n  incidents: {path: i.csv, collapse: {key: a, order_by: b, sort: c}}\n",
            "sources.incidents.collapse.sort: not a known key (allowed here: key, order_by, keep, columns, then_by)",
        ),
    ],
)
def test_validate_checks_the_whole_opsflow_yaml(text: str, needle: str, tmp_path: Path) -> None:
    ws = _config_workspace(tmp_path, text)
    result = _opsflow("validate", "--workspace", str(ws))
    assert result.returncode == 1, result.stdout + result.stderr
    line = _one_error_line(result.stderr)
    assert f"{ws / CONFIG_FILE}: {needle}" in line
    assert "hunter2" not in line
    assert not (ws / "reports").exists()  # refused before anything was read


def test_a_link_out_of_the_workspace_is_refused_and_data_roots_admit_a_folder(tmp_path: Path) -> None:
    outside = tmp_path / "exports"
    outside.mkdir()
    (outside / "risks.csv").write_text("risk_id,title\nR1,Flood\n", encoding="utf-8")
    ws = _config_workspace(tmp_path, "sources:\n  risks: {path: data/risks.csv}\n")
    (ws / "data" / "risks.csv").symlink_to(outside / "risks.csv")
    refused = _opsflow("validate", "--workspace", str(ws))
    assert refused.returncode == 1
    assert "sources.risks.path: 'data/risks.csv' is outside the workspace" in _one_error_line(refused.stderr)

    (ws / CONFIG_FILE).write_text(f"data_roots: [{outside}]\nsources:\n  risks: {{path: data/risks.csv}}\n")
    admitted = runner.invoke(app, ["validate", "--workspace", str(ws)])
    assert "outside the workspace" not in admitted.output
    assert any(r.startswith("risks ") for r in admitted.stdout.splitlines())  # read: it has its row in the table


SECRET = "hunter2-do-not-print"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        # A .env mapped by mistake: its first line was the "header" quoted in the missing-columns message.
        (f"DB_PASSWORD={SECRET}\nAPI_KEY=abc\n", "required columns risk_id, title"),
        (f"DB_PASSWORD={SECRET}\n", "header only, no data rows (the source has 1 column)"),
        # A ragged line: its text was quoted.
        (f"risk_id,title\nR1,Flood\nR2,{SECRET},x,y\n", "line 3: 4 fields where the header has 2"),
    ],
)
def test_no_line_of_a_file_reaches_the_console_or_the_report(
    content: str, needle: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ws = _config_workspace(tmp_path, "sources:\n  risks: {path: data/secrets.env}\n")
    (ws / "data" / "secrets.env").write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["validate", "--workspace", str(ws)])
    assert result.exit_code == 1
    assert needle in result.output
    written = [p.read_text(encoding="utf-8") for p in (ws / "reports").rglob("*.*")]
    assert len(written) == 2  # the data-quality report, HTML and Markdown, names the dataset that was not read
    assert SECRET not in result.output + caplog.text + "".join(written)


def test_sample_marks_its_workspace(tmp_path: Path) -> None:
    from opsflow.config import load_config

    out = tmp_path / "sample"
    result = runner.invoke(app, ["sample", "--out", str(out), "--scale", "0.02", "--end", "2026-03-29"])
    assert result.exit_code == 0, result.output
    assert load_config(out).sample is True
    assert load_config(out).slack.from_sample is True


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


@pytest.mark.slow
def test_an_expected_failure_is_one_line_naming_the_log_file(sample_workspace: Path, tmp_path: Path) -> None:
    from tests.standins.slack_api import SlackStandIn

    ws = _copy(sample_workspace, tmp_path)
    with SlackStandIn() as slack:
        env = {
            **_standalone_env(tmp_path),
            "SLACK_BOT_TOKEN": "xoxb-revoked-SECRET",  # the stand-in answers invalid_auth
            "OPSFLOW_SLACK_API_URL": slack.api_url,
        }
        result = _opsflow("run", "daily-brief", "--workspace", str(ws), "--as-of", "2026-03-27", env=env, timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    line = _one_error_line(result.stderr, only=False)  # the run's log lines come first, without tracebacks
    assert line.startswith("opsflow: error: daily-brief failed: ") and "invalid_auth" in line
    (log,) = (ws / "logs").glob("opsflow-run-*.log")
    assert line.endswith(f"(details in {log})")
    assert "Traceback" not in result.stdout + result.stderr
    assert "Traceback" in log.read_text(encoding="utf-8")  # the details are kept, in the file
    assert "xoxb-revoked-SECRET" not in result.stdout + result.stderr + log.read_text(encoding="utf-8")


# -- a flow's parameters from the command line ----------------------------------------------------------------------


def test_run_flow_help_lists_the_flows_parameters_from_its_run_form() -> None:
    result = runner.invoke(app, ["run", "problem-solution-metrics", "--help"])
    assert result.exit_code == 0, result.output
    assert "Parameters of problem-solution-metrics" in result.output
    assert "  challenge: text; required." in result.output
    assert "The operational challenge in your words" in result.output
    assert "  register_kpis: true or false; default: true." in result.output
    other = runner.invoke(app, ["run", "vendor-sla-review", "--help"])
    assert "  vendor_ids: a JSON list of texts, or empty; default: empty." in other.output
    # Without a flow: the command's own help only.
    assert "--param" in runner.invoke(app, ["run", "--help"]).output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--param", "iterations=abc"], "--param iterations='abc': Input should be a valid integer"),
        (["--param", "iteration=5"], "risk-aware-planning has no parameter 'iteration' (its parameters: "),
        (["--param", "iterations"], "--param 'iterations': expected NAME=VALUE"),
        (["--param", "workspace=x"], "--param workspace: use --workspace"),
        (["--param", "initiative={bad"], "--param initiative: the value is not valid JSON"),
        (["--as-of", "2026-03-29", "--param", "as_of=2026-03-29"], "--as-of and --param as_of both set as_of"),
        (["--as-of", "2026-03-26"], "--as-of 2026-03-26 is a Thursday; a week ends on a Sunday: use 2026-03-22"),
    ],
)
def test_a_bad_parameter_is_one_line_before_any_server_starts(
    args: list[str], needle: str, sample_workspace: Path
) -> None:
    result = _opsflow("run", "risk-aware-planning", "--workspace", str(sample_workspace), *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert needle in _one_error_line(result.stderr)
    assert "temporary server" not in result.stdout + result.stderr


@pytest.mark.slow
def test_every_flow_with_a_required_parameter_runs_from_the_cli(sample_workspace: Path, tmp_path: Path) -> None:
    from opsflow.flow_params import params_model
    from opsflow.runtime import flow_names, load_flow

    required = {
        name: [f for f, info in params_model(load_flow(name).fn).model_fields.items() if info.is_required()]
        for name in flow_names()
    }
    assert {name: fields for name, fields in required.items() if fields} == {"problem-solution-metrics": ["challenge"]}
    ws = _copy(sample_workspace, tmp_path)
    env = _standalone_env(tmp_path)
    missing = _opsflow("run", "problem-solution-metrics", "--workspace", str(ws), env=env, timeout=300)
    assert missing.returncode == 1
    assert _one_error_line(missing.stderr, only=False).startswith(
        "opsflow: error: problem-solution-metrics needs --param challenge=VALUE (The operational challenge"
    )
    challenge = "order fulfilment takes 48 hours, we need 24"
    result = _opsflow(
        "run", "problem-solution-metrics", "--workspace", str(ws), "--as-of", "2026-03-29",
        "--param", f"challenge={challenge}", "--param", "owner=Head of Fulfilment", "--param", "register_kpis=false",
        "--param", "post_to_slack=false",
        env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "problem-solution-metrics finished in" in result.stdout
    (report,) = (ws / "reports" / "problem-solution-metrics").glob("2026-03-29-*/report.json")
    text = report.read_text(encoding="utf-8")
    assert challenge in text and "Head of Fulfilment" in text


def test_validate_says_a_load_error_once(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "tests" / "fixtures" / "bad_inputs" / "typed_suggestion", ws)
    result = runner.invoke(app, ["validate", "--workspace", str(ws)])
    assert result.exit_code == 1
    output = result.stdout + result.stderr
    assert output.count("required column ended_at missing") == 1, output
    assert _one_error_line(result.stderr, only=False).endswith("process_events: could not be read (see above)")


def test_slo_export_round_trips_and_an_edited_target_is_used(sample_workspace: Path, tmp_path: Path) -> None:
    from opsflow import openslo

    ws = _copy(sample_workspace, tmp_path)
    (ws / "slos").mkdir()
    out = ws / "slos" / "opsflow.yaml"
    result = runner.invoke(app, ["slo", "export", "--workspace", str(ws), "--out", str(out)])
    assert result.exit_code == 0, result.output
    slos = openslo.load(out.read_text(encoding="utf-8"))
    checkout = next(s for s in slos if s.key == ("uptime", "checkout"))
    assert checkout.target == 0.999  # the sample's uptime objective
    # The team tightens checkout to 99.95%: the events every flow reads carry it; re-exporting shows it.
    out.write_text(out.read_text(encoding="utf-8").replace("target: 0.999\n", "target: 0.9995\n", 1), "utf-8")
    again = runner.invoke(app, ["slo", "export", "--workspace", str(ws)])
    assert again.exit_code == 0, again.output
    first = openslo.load(again.stdout)
    assert sorted(s.target for s in first) != sorted(s.target for s in slos)
    # A broken file is one line naming it.
    (ws / "slos" / "broken.yaml").write_text("apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: x}\n", "utf-8")
    broken = runner.invoke(app, ["slo", "export", "--workspace", str(ws)])
    assert broken.exit_code == 1 and "slos/broken.yaml document 1 (SLO x)" in broken.stderr
