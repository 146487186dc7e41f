"""Tests for tasks/data/suggest.py: a starting mapping from an export's header and values, which loads once its
questions are answered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from opsflow.cli import app
from opsflow.config import load_config
from opsflow.datasets import DataSourceError
from tasks.data.ingest import load_dataset
from tasks.data.suggest import suggest_mapping

EXPORT = (
    "Number;Opened;Short description;Priority;Configuration item;Resolved;Assignment group;Team code\n"
    "INC001;02/03/2026 09:15;Checkout down;1 - Critical;checkout;02/03/2026 11:00;Payments;G97\n"
    "INC002;03/03/2026 14:00;Search slow;3 - Moderate;search;;Web;G12\n"
    "INC003;04/03/2026 08:30;Disk full;2 - High;db;04/03/2026 09:10;Platform;G97\n"
)


def test_a_semicolon_export_gets_a_working_start(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    text = suggest_mapping(tmp_path / "export.csv", "incidents")
    assert "# detected: encoding utf-8, delimiter ';'" in text
    assert "# QUESTION: in which time zone are Opened, Resolved written?" in text
    source = yaml.safe_load(text)["sources"]["incidents"]
    assert source["delimiter"] == ";" and source["date_format"] == "%d/%m/%Y %H:%M"
    assert source["rename"] == {
        "Number": "incident_id", "Short description": "title", "Configuration item": "service",
        "Priority": "severity", "Opened": "opened_at", "Resolved": "resolved_at", "Assignment group": "owner",
    }  # fmt: skip
    # A small value set that is not the contract's gets a stub to fill in.
    assert source["values"] == {"severity": {"1 - Critical": "?", "2 - High": "?", "3 - Moderate": "?"}}
    # Answer the questions and the suggestion loads: 3 tickets, Berlin times.
    source["values"]["severity"] = {"1 - Critical": "SEV1", "2 - High": "SEV2", "3 - Moderate": "SEV3"}
    source["timezone"] = "Europe/Berlin"
    (tmp_path / "opsflow.yaml").write_text(yaml.safe_dump({"sources": {"incidents": source}}), encoding="utf-8")
    config = load_config(tmp_path)
    frame = load_dataset("incidents", config.sources["incidents"], tmp_path).frame
    assert frame["severity"].tolist() == ["SEV1", "SEV3", "SEV2"]
    assert str(frame["opened_at"].iloc[0]) == "2026-03-02 08:15:00+00:00"  # 09:15 CET


def test_cli_prints_it_and_an_unknown_dataset_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text(EXPORT, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["map", "suggest", str(tmp_path / "export.csv"), "--dataset", "incidents"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# opsflow map suggest: export.csv as incidents (3 rows sampled)")
    with pytest.raises(DataSourceError, match="--dataset 'incident' is not a dataset"):
        suggest_mapping(tmp_path / "export.csv", "incident")
