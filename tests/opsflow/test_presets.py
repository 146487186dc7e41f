"""The export presets (opsflow/presets/*.yml): each maps a generated export in its tool's shape with the preset
alone, and any key can still be overridden."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import yaml

from opsflow.config import ConfigError, load_config, preset_names
from tasks.data.ingest import load_dataset

UTC = "UTC"


def _workspace(tmp_path: Path, header: list[str], rows: list[list[str]], source: dict) -> Path:
    with (tmp_path / "export.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    config = {"timezone": UTC, "sources": {"incidents": {"path": "export.csv", **source}}}
    (tmp_path / "opsflow.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


def _load(ws: Path) -> pd.DataFrame:
    config = load_config(ws)
    return load_dataset("incidents", config.sources["incidents"], ws).frame.set_index("incident_id")


def test_every_preset_is_listed() -> None:
    assert preset_names() == [
        "jira-sm-issues",
        "pagerduty-incidents",
        "servicenow-incident",
        "servicenow-incident-audit",
    ]


def test_servicenow_incident_table_export(tmp_path: Path) -> None:
    header = ["number", "short_description", "cmdb_ci", "priority", "state", "category", "opened_at", "resolved_at",
              "assigned_to", "made_sla", "reassignment_count", "reopen_count", "caller_id"]  # fmt: skip
    rows = [
        ["INC0010001", "Checkout down", "checkout", "1 - Critical", "Resolved", "Software", "2026-03-02 10:00:00",
         "2026-03-02 12:30:00", "Ann Lee", "false", "2", "0", "Bob"],
        ["INC0010002", "Slow search", "search", "4 - Low", "In Progress", "Inquiry / Help", "2026-03-03 09:00:00",
         "", "", "", "0", "1", "Eve"],
    ]  # fmt: skip
    frame = _load(_workspace(tmp_path, header, rows, {"preset": "servicenow-incident"}))
    first = frame.loc["INC0010001"]
    assert (first["severity"], first["service"], first["category"], first["owner"]) == (
        "SEV1",
        "checkout",
        "Software",
        "Ann Lee",
    )
    assert first["resolved_at"] - first["opened_at"] == pd.Timedelta(hours=2, minutes=30)
    assert bool(first["sla_met"]) is False and first["reassignment_count"] == 2
    assert frame.loc["INC0010002", "severity"] == "SEV4" and frame.loc["INC0010002", "reopen_count"] == 1
    assert (frame["kind"] == "real").all()


def test_servicenow_audit_log_collapses_with_acknowledgement(tmp_path: Path) -> None:
    header = ["number", "short_description", "cmdb_ci", "priority", "state", "category", "opened_at", "resolved_at",
              "assigned_to", "assignment_group", "made_sla", "sys_updated_on", "sys_mod_count"]  # fmt: skip
    base = ["INC0020001", "Label printer down", "shipping", "3 - Moderate"]
    rows = [
        [*base, "New", "Hardware", "2026-03-02 08:00:00", "", "", "Service Desk", "", "2026-03-02 08:00:00", "0"],
        [*base[:3], "2 - High", "In Progress", "Hardware", "2026-03-02 08:00:00", "", "Mia", "Fulfilment", "",
         "2026-03-02 08:40:00", "1"],
        [*base[:3], "2 - High", "Resolved", "Hardware", "2026-03-02 08:00:00", "2026-03-02 11:00:00", "Mia",
         "Fulfilment", "true", "2026-03-02 11:00:00", "2"],
    ]  # fmt: skip
    frame = _load(_workspace(tmp_path, header, rows, {"preset": "servicenow-incident-audit"}))
    row = frame.loc["INC0020001"]
    # Raised to SEV2 at 08:40; acknowledged (first In Progress) at 08:40; one change of group; resolved 11:00.
    assert row["severity"] == "SEV2" and row["reassignment_count"] == 1
    assert row["acknowledged_at"] == pd.Timestamp("2026-03-02 08:40", tz=UTC)
    assert row["resolved_at"] == pd.Timestamp("2026-03-02 11:00", tz=UTC) and bool(row["sla_met"]) is True


def test_jira_service_management_export(tmp_path: Path) -> None:
    header = ["Issue key", "Summary", "Issue Type", "Status", "Priority", "Component/s", "Assignee", "Created",
              "Resolved", "Updated"]  # fmt: skip
    rows = [
        ["OPS-101", "VPN drops", "Incident", "Done", "Highest", "vpn", "Kim", "02/Mar/26 9:05 AM", "02/Mar/26 1:35 PM",
         "02/Mar/26 1:35 PM"],
        ["OPS-102", "Laptop slow", "Service request", "Open", "Low", "it-desk", "", "03/Mar/26 4:00 PM", "", ""],
    ]  # fmt: skip
    frame = _load(_workspace(tmp_path, header, rows, {"preset": "jira-sm-issues"}))
    assert frame.loc["OPS-101", "opened_at"] == pd.Timestamp("2026-03-02 09:05", tz=UTC)
    assert frame.loc["OPS-101", "resolved_at"] == pd.Timestamp("2026-03-02 13:35", tz=UTC)
    assert (frame.loc["OPS-101", "severity"], frame.loc["OPS-102", "severity"]) == ("SEV1", "SEV4")
    assert frame.loc["OPS-102", "service"] == "it-desk" and pd.isna(frame.loc["OPS-102", "resolved_at"])


def test_pagerduty_incidents_export_and_an_override(tmp_path: Path) -> None:
    header = ["id", "incident_number", "title", "urgency", "priority_name", "service_name", "team_name", "created_at",
              "resolved_at", "seconds_to_first_ack"]  # fmt: skip
    rows = [
        ["Q1ABC", "4711", "Database CPU high", "high", "P2", "orders-db", "Platform", "2026-03-02T10:00:00Z",
         "2026-03-02T10:45:00Z", "120"],
        ["Q1ABD", "4712", "Disk 80%", "low", "", "orders-db", "Platform", "2026-03-02T11:00:00+01:00", "", ""],
    ]  # fmt: skip
    frame = _load(_workspace(tmp_path, header, rows, {"preset": "pagerduty-incidents"}))
    assert frame.loc["4711", "severity"] == "SEV2" and frame.loc["4712", "severity"] == "SEV3"  # no priority: default
    assert frame.loc["4712", "opened_at"] == pd.Timestamp("2026-03-02 10:00", tz=UTC)  # the offset is kept
    # Any key can still be given: the id becomes the incident id instead of the number (the preset's rename to
    # incident_id gives way), and P2 reads as SEV1 in this company.
    override = {
        "preset": "pagerduty-incidents",
        "rename": {"id": "incident_id"},
        "values": {"severity": {"P2": "SEV1"}},
    }
    other = _load(_workspace(tmp_path, header, rows, override))
    assert list(other.index) == ["Q1ABC", "Q1ABD"] and other.loc["Q1ABC", "severity"] == "SEV1"
    # The rest of the preset's priority map still holds: P1 is SEV1, P3 SEV3 (checked on the merged mapping).
    values = load_config(tmp_path).sources["incidents"].values["severity"]
    assert (values["P1"], values["P2"], values["P3"]) == ("SEV1", "SEV1", "SEV3")


def test_an_unknown_preset_is_one_line(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, ["a"], [["1"]], {"preset": "servicenow"})
    with pytest.raises(ConfigError) as caught:
        load_config(ws)
    assert "preset 'servicenow' is not known (presets: jira-sm-issues, pagerduty-incidents" in str(caught.value)
    assert "\n" not in str(caught.value)
