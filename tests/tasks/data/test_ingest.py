"""Tests of tasks.data.ingest: reading each source type, mapping onto the contract, and the bad-input cases."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml
from prefect.states import Failed

from opsflow.config import SourceSpec, load_config
from opsflow.contract import contract
from opsflow.datasets import REASON, ROW, DataSourceError
from tasks.data.ingest import (
    SourceUnavailableError,
    is_transient,
    load_dataset,
    load_workspace,
    map_to_contract,
    read_source,
    should_retry,
)

BAD_INPUTS = Path(__file__).parents[2] / "fixtures" / "bad_inputs"
CASES = yaml.safe_load((BAD_INPUTS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _case_ids(stage: str) -> list[dict]:
    return [pytest.param(c, id=c["name"]) for c in CASES if c["stage"] == stage]


def test_cases_cover_the_brief() -> None:
    names = {c["name"] for c in CASES}
    assert len(CASES) >= 17
    assert {
        "missing_file",
        "empty_file",
        "header_only",
        "ragged_row",
        "sql_unreachable",
        "excel_sheet_missing",
    } <= names
    assert {c["stage"] for c in CASES} == {"load", "reject", "validate"}


@pytest.mark.parametrize("case", _case_ids("load"))
def test_load_cases_stop_with_one_line(case: dict) -> None:
    workspace = BAD_INPUTS / case["name"]
    config = load_config(workspace)
    started = time.perf_counter()
    with pytest.raises(DataSourceError) as raised:
        load_dataset(case["dataset"], config.sources[case["dataset"]], workspace)
    message = str(raised.value)
    assert case["message"] in message
    assert "\n" not in message and "Traceback" not in message
    assert "hunter2" not in message  # the SQL case's password
    assert time.perf_counter() - started < 15  # an unreachable host fails fast (connect_timeout), not in minutes


@pytest.mark.parametrize("case", _case_ids("reject"))
def test_reject_cases_set_the_row_aside(case: dict) -> None:
    workspace = BAD_INPUTS / case["name"]
    config = load_config(workspace)
    loaded = load_dataset(case["dataset"], config.sources[case["dataset"]], workspace)
    assert loaded.rejected[ROW].tolist() == [case["row"]]
    assert case["message"] in loaded.rejected[REASON].iloc[0]
    assert case["row"] not in loaded.frame[ROW].tolist()
    assert loaded.rows_in == len(loaded.frame) + len(loaded.rejected)


@pytest.mark.parametrize("case", _case_ids("validate"))
def test_validate_cases_load_cleanly(case: dict) -> None:
    workspace = BAD_INPUTS / case["name"]
    datasets, errors = load_workspace(workspace, load_config(workspace))
    assert errors == {}
    assert all(ds.rejected.empty for ds in datasets.values())
    assert case["row"] in datasets[case["dataset"]].frame[ROW].tolist()


def test_load_workspace_reports_the_unreadable_dataset_and_loads_the_rest(tmp_path: Path) -> None:
    (tmp_path / "vendors.csv").write_text(
        "vendor_id,name,ontime_target,quality_target,renewal_date\nV-1,Acme,95%,0.98,2026-12-31\n"
    )
    (tmp_path / "opsflow.yaml").write_text(
        "sources:\n  vendors: {path: vendors.csv}\n  incidents: {path: tickets.csv}\n"
    )
    datasets, errors = load_workspace(tmp_path, load_config(tmp_path))
    assert list(datasets) == ["vendors"]
    assert datasets["vendors"].frame["ontime_target"].tolist() == [0.95]  # 95% in a ratio column
    assert errors["incidents"].startswith("tickets.csv: file not found")


# ----------------------------------------------------------------------------------------- the worked example

SERVICENOW_EXPORT = """\
Number,Short description,Priority,State,Business service,Opened,Resolved,Updated,Vendor
INC0010001,Checkout returns 502,1 - Critical,New,checkout,28/03/2026 23:40,?,28/03/2026 23:41,?
INC0010002,Search is slow,3 - Moderate,New,search,29/03/2026 01:30,,29/03/2026 01:31,?
INC0010001,?,,In Progress,,,,29/03/2026 00:10,
INC0010001,,,Resolved,,,29/03/2026 03:15,29/03/2026 03:16,ACME
INC0010002, Search is slow (cache) ,4 - Low,Resolved,,,31/03/2026 09:00,31/03/2026 09:05,
INC0010003,Login errors,2 - High,New,login,25/10/2026 02:30,25/10/2026 04:00,25/10/2026 04:01,?
"""

SERVICENOW_MAPPING = """\
path: servicenow.csv
rename:
  Number: incident_id
  Short description: title
  Priority: severity
  Business service: service
  Opened: opened_at
  Resolved: resolved_at
  Vendor: vendor_id
values:
  severity: {1 - Critical: SEV1, 2 - High: SEV2, 3 - Moderate: SEV3, 4 - Low: SEV4}
null_values: ['?']
date_format: '%d/%m/%Y %H:%M'
timezone: Europe/Berlin
collapse:
  key: incident_id
  order_by: Updated
  columns: {opened_at: first}
"""


def test_servicenow_audit_log_collapses_to_one_row_per_ticket(tmp_path: Path) -> None:
    (tmp_path / "servicenow.csv").write_text(SERVICENOW_EXPORT, encoding="utf-8")
    spec = SourceSpec.model_validate(yaml.safe_load(SERVICENOW_MAPPING))
    loaded = load_dataset("incidents", spec, tmp_path)
    frame = loaded.frame.set_index("incident_id")

    assert loaded.rejected.empty
    assert (loaded.rows_read, loaded.rows_in) == (6, 3)  # 6 audit rows read, 3 tickets after the collapse
    assert list(frame.index) == ["INC0010001", "INC0010002", "INC0010003"]  # in order of their last update row
    # ROW is the line of each ticket's last update: INC1 line 5, INC2 line 6, INC3 line 7 (header = line 1).
    assert frame[ROW].tolist() == [5, 6, 7]
    assert frame["severity"].tolist() == ["SEV1", "SEV4", "SEV2"]  # INC2 was re-rated 3 - Moderate -> 4 - Low
    assert frame.loc["INC0010002", "title"] == "Search is slow (cache)"  # last non-empty value, stripped
    assert frame.loc["INC0010001", "title"] == "Checkout returns 502"  # '?' is a null marker, not a value
    assert frame.loc["INC0010001", "vendor_id"] == "ACME"
    assert pd.isna(frame.loc["INC0010002", "vendor_id"])
    assert frame["kind"].tolist() == ["real"] * 3  # the contract default for a column the export lacks
    # Berlin: CET (UTC+1) until 29 March 2026 02:00, CEST (UTC+2) after; CEST ends 25 October 2026 03:00.
    # INC1 opened 28/03 23:40 CET  = 22:40 UTC; resolved 29/03 03:15 CEST = 01:15 UTC.
    # INC2 opened 29/03 01:30 CET  = 00:30 UTC; resolved 31/03 09:00 CEST = 07:00 UTC.
    # INC3 opened 25/10 02:30, the hour that happens twice: taken as the first (CEST) = 00:30 UTC;
    #      resolved 25/10 04:00 CET = 03:00 UTC.
    utc = pd.Timestamp
    assert frame["opened_at"].tolist() == [
        utc("2026-03-28 22:40", tz="UTC"),
        utc("2026-03-29 00:30", tz="UTC"),
        utc("2026-10-25 00:30", tz="UTC"),
    ]
    assert frame["resolved_at"].tolist() == [
        utc("2026-03-29 01:15", tz="UTC"),
        utc("2026-03-31 07:00", tz="UTC"),
        utc("2026-10-25 03:00", tz="UTC"),
    ]
    assert str(frame["opened_at"].dtype) == "datetime64[us, UTC]"
    assert frame["acknowledged_at"].isna().all()  # optional column the export lacks: all NA, right dtype
    assert str(frame["acknowledged_at"].dtype) == "datetime64[us, UTC]"
    assert "Updated" not in frame.columns and "State" not in frame.columns  # extra columns dropped


# ------------------------------------------------------------------------------------------- type coercion


def _raw(**columns: list[str | None]) -> pd.DataFrame:
    frame = pd.DataFrame({k: pd.array(v, dtype="string") for k, v in columns.items()})
    frame[ROW] = range(2, len(frame) + 2)
    return frame


def test_types_follow_the_contract_and_bad_cells_reject_their_row() -> None:
    raw = _raw(
        project_id=["P1", "P1", "P1", "P1"],
        task_id=["T1", "T2", "T3", "T4"],
        name=["Design", "Build", "Test", "Ship"],
        duration_optimistic=["1", "2.5", "1,5", "2"],
        duration_likely=["2", "3", "2", "3"],
        duration_pessimistic=["4", "5", "3", "abc"],
        depends_on=[None, "T1", " T1 , T2| T3;", ""],
        planned_start=["2026-03-02", "2026-03-05T00:00:00+02:00", "2026-03-09", "2026-03-10"],
        percent_complete=["100", "40%", "0", "0"],
        milestone=["No", "Y", "yes", "TRUE"],
    )
    spec = SourceSpec(path="tasks.csv")
    loaded = map_to_contract(raw, spec, contract("project_tasks"), "tasks.csv")
    frame = loaded.frame
    assert frame[ROW].tolist() == [2, 3]
    assert frame["duration_optimistic"].tolist() == [1.0, 2.5]
    assert frame["depends_on"].tolist()[1] == "T1"
    assert pd.isna(frame["depends_on"].iloc[0])
    assert frame["percent_complete"].tolist() == [100.0, 40.0]  # '40%' in a percent column is 40
    assert frame["milestone"].tolist() == [False, True]
    assert str(frame["milestone"].dtype) == "boolean"
    # a date with an offset keeps the date as written; dates are naive midnight timestamps
    assert frame["planned_start"].tolist() == [pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-05")]
    assert str(frame["planned_start"].dtype) == "datetime64[us]"
    assert str(frame["name"].dtype) == "string"
    rejected = loaded.rejected.set_index(ROW)
    assert rejected.loc[4, REASON] == (
        "duration_optimistic: cannot read '1,5' as a number (plain digits, '.' for decimals)"
    )
    assert rejected.loc[4, "depends_on"] == "T1 , T2| T3;"  # the source text (stripped), not a converted value
    assert rejected.loc[5, REASON].startswith("duration_pessimistic: cannot read 'abc' as a number")
    assert loaded.rows_in == 4


def test_list_separators_and_several_reasons_in_one_row() -> None:
    raw = _raw(
        service_id=["S1", "S2"],
        name=["Checkout", "Search"],
        tier=["critical", "standard"],
        depends_on=[" db , cache| queue;;", "db"],
        rto_hours=["4", "four"],
        runbook_tested_on=["2026-01-05", "05/01/2026x"],
    )
    loaded = map_to_contract(raw, SourceSpec(path="s.csv"), contract("services"), "s.csv")
    assert loaded.frame["depends_on"].tolist() == ["db;cache;queue"]
    assert loaded.frame["vendor_ids"].isna().all()
    reason = loaded.rejected[REASON].iloc[0]
    assert reason.startswith("rto_hours: cannot read 'four' as a number")
    assert "; runbook_tested_on: cannot read '05/01/2026x' as a date (expected ISO 8601" in reason


def test_integers_ratios_and_offsets() -> None:
    raw = _raw(
        vendor_id=["V1", "V2", "V3"],
        name=["A", "B", "C"],
        ontime_target=["95%", "0.9", "0.97"],
        quality_target=["0.98", "98.5%", "1"],
        renewal_date=["2026-12-31", "2026-12-31", "2026-12-31"],
        notice_period_days=["90", "30.0", "45.5"],
        annual_value=["1200000", "5e4", "12%"],
    )
    loaded = map_to_contract(raw, SourceSpec(path="v.csv"), contract("vendors"), "v.csv")
    assert loaded.frame["ontime_target"].tolist() == [0.95, 0.9]
    assert loaded.frame["quality_target"].tolist() == [0.98, 0.985]
    assert loaded.frame["notice_period_days"].tolist() == [90, 30]
    assert str(loaded.frame["notice_period_days"].dtype) == "Int64"
    assert loaded.frame["annual_value"].tolist() == [1_200_000.0, 50_000.0]
    assert loaded.rejected[REASON].iloc[0] == (  # reasons in contract column order
        "annual_value: cannot read '12%' as a number (plain digits, '.' for decimals); "
        "notice_period_days: cannot read '45.5' as a whole number"
    )


def test_datetimes_with_and_without_offsets() -> None:
    raw = _raw(
        category=["uptime"] * 7,
        service=["api"] * 7,
        measured_at=[
            "2026-03-02 10:00",  # naive: New York, EST (UTC-5) -> 15:00 UTC
            "2026-03-02T10:00:00Z",  # explicit UTC stays 10:00
            "2026-03-02 10:00:00+01:00",  # offset kept -> 09:00 UTC
            "03/02/2026 10:00",  # not ISO: month-first -> 2 March 10:00 EST = 15:00 UTC
            "2026-03-08 02:30",  # spring-forward gap in New York: moves forward to 03:00 EDT = 07:00 UTC
            "2026-03-02 11:00 UTC",  # named UTC stays 11:00
            "2026-03-02 12:00 GMT",  # as does GMT
        ],
        objective=["0.999"] * 7,
        met=["t", "f", "1", "0", None, "t", "t"],
    )
    spec = SourceSpec(path="sla.csv", timezone="America/New_York")
    loaded = map_to_contract(raw, spec, contract("sla_events"), "sla.csv")
    assert loaded.rejected.empty
    assert loaded.frame["measured_at"].tolist() == [
        pd.Timestamp("2026-03-02 15:00", tz="UTC"),
        pd.Timestamp("2026-03-02 10:00", tz="UTC"),
        pd.Timestamp("2026-03-02 09:00", tz="UTC"),
        pd.Timestamp("2026-03-02 15:00", tz="UTC"),
        pd.Timestamp("2026-03-08 07:00", tz="UTC"),
        pd.Timestamp("2026-03-02 11:00", tz="UTC"),
        pd.Timestamp("2026-03-02 12:00", tz="UTC"),
    ]
    assert loaded.frame["met"].tolist()[:4] == [True, False, True, False]
    assert pd.isna(loaded.frame["met"].iloc[4])


def test_day_first_and_explicit_formats() -> None:
    raw = _raw(kpi_id=["K1", "K1", "K1"], observed_on=["03/04/2026", "4.5.2026", "2026-05-06"], value=["1", "2", "3"])
    loaded = map_to_contract(raw, SourceSpec(path="k.csv", dayfirst=True), contract("kpi_observations"), "k.csv")
    assert loaded.frame["observed_on"].tolist() == [
        pd.Timestamp("2026-04-03"),
        pd.Timestamp("2026-05-04"),
        pd.Timestamp("2026-05-06"),
    ]
    spec = SourceSpec(path="k.csv", date_formats={"observed_on": "%d %b %Y"})
    raw = _raw(kpi_id=["K1", "K1"], observed_on=["3 Apr 2026", "31 Apr 2026"], value=["1", "2"])
    loaded = map_to_contract(raw, spec, contract("kpi_observations"), "k.csv")
    assert loaded.frame["observed_on"].tolist() == [pd.Timestamp("2026-04-03")]
    assert loaded.rejected[REASON].tolist() == ["observed_on: cannot read '31 Apr 2026' as a date (expected %d %b %Y)"]


def test_defaults_and_value_maps() -> None:
    raw = _raw(
        risk_id=["R1", "R2"],
        title=["Flood", "Fire"],
        category=["operational", None],
        likelihood=["2", "3"],
        impact=["5", "4"],
        Status=["Offen", "In Bearbeitung"],
    )
    spec = SourceSpec(
        path="r.csv",
        rename={"Status": "status"},
        values={"status": {"Offen": "open", "In Bearbeitung": "mitigating"}},
        defaults={"category": "operational", "owner": "COO office"},
    )
    frame = map_to_contract(raw, spec, contract("risks"), "r.csv").frame
    assert frame["status"].tolist() == ["open", "mitigating"]
    assert frame["category"].tolist() == ["operational", "operational"]  # an empty cell takes the default
    assert frame["owner"].tolist() == ["COO office", "COO office"]  # a column the source lacks takes it too


def test_collapse_min_max_and_rows_without_key() -> None:
    raw = _raw(
        ticket=["A", "A", "A", None, "B"],
        service=["s", None, "s2", "s", "s"],
        severity=["SEV2", "SEV1", None, "SEV3", "SEV4"],
        opened_at=["2026-03-02 10:00", "2026-03-02 09:00", None, "2026-03-01 00:00", "2026-03-02 12:00"],
        seq=["2", "10", "3", "1", "1"],
    )
    spec = SourceSpec(
        path="t.csv",
        rename={"ticket": "incident_id"},
        collapse={"key": "incident_id", "order_by": "seq", "columns": {"opened_at": "min", "severity": "first"}},
    )
    loaded = map_to_contract(raw, spec, contract("incidents"), "t.csv")
    frame = loaded.frame
    # seq orders numerically (2 < 3 < 10), so A's rows in order are lines 2, 4, 3: the last row is line 3.
    assert frame[ROW].tolist() == [3, 5, 6]
    a = frame.iloc[0]
    assert a["incident_id"] == "A"
    assert a["service"] == "s2"  # last non-empty in seq order (line 4: s2; line 3 is empty)
    assert a["severity"] == "SEV2"  # first in seq order (line 2)
    assert a["opened_at"] == pd.Timestamp("2026-03-02 09:00", tz="UTC")  # min of 10:00 and 09:00
    assert pd.isna(frame.iloc[1]["incident_id"])  # no key: kept as it is, the validator flags it


# ---------------------------------------------------------------------------------------------- file formats


def test_csv_line_numbers_survive_blank_lines_and_quoted_breaks(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_bytes(
        b'\xef\xbb\xbfkpi_id;name;note\r\nK1;"Two\r\nlines";x\r\n\r\nK2; Churn ;\r\n'  # BOM, CRLF, ';'
    )
    raw = read_source(SourceSpec(path="k.csv", delimiter=";"), tmp_path, "kpis")
    # header line 1; K1 starts on line 2 and spans 2-3; line 4 is blank; K2 is on line 5
    assert raw[ROW].tolist() == [2, 5]
    assert raw["kpi_id"].tolist() == ["K1", "K2"]
    assert raw["name"].tolist() == ["Two\r\nlines", " Churn "]
    assert pd.isna(raw["note"].iloc[1])


def test_encoding_option_reads_windows_files(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_bytes("kpi_id,name\nK1,Qualité\n".encode("cp1252"))
    with pytest.raises(DataSourceError, match=r"k\.csv line 2: .*set `encoding: cp1252`"):
        read_source(SourceSpec(path="k.csv"), tmp_path, "kpis")
    raw = read_source(SourceSpec(path="k.csv", encoding="cp1252"), tmp_path, "kpis")
    assert raw["name"].tolist() == ["Qualité"]


def test_repeated_header_is_an_error_only_when_used(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_text("kpi_id,x,x\nK1,1,2\n")
    raw = read_source(SourceSpec(path="k.csv"), tmp_path, "kpis")
    assert list(raw.columns) == ["kpi_id", "x", "x (repeat 2)", ROW]
    (tmp_path / "k.csv").write_text("kpi_id,name,kpi_id\nK1,a,K2\n")
    with pytest.raises(DataSourceError, match="column 'kpi_id' appears more than once"):
        read_source(SourceSpec(path="k.csv"), tmp_path, "kpis")


def test_missing_column_message_suggests_the_rename(tmp_path: Path) -> None:
    (tmp_path / "k.csv").write_text("KPI Id,Name,Perspective,Direction,Baseline\nK1,Churn,customer,decrease,5\n")
    with pytest.raises(DataSourceError) as raised:
        load_dataset("kpis", SourceSpec(path="k.csv"), tmp_path)
    assert str(raised.value) == (
        "k.csv: required columns kpi_id, name, perspective, direction, baseline missing for kpis "
        "(the source has 5 columns); map one with "
        "`rename: {'KPI Id': kpi_id, 'Name': name, 'Perspective': perspective, 'Direction': direction, "
        "'Baseline': baseline}`"
    )


def test_excel_sheet_rows_and_typed_cells(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Info"
    other = book.create_sheet("Vendors")
    other.append(["Vendor list, exported 2026-03-01"])  # a title row above the header
    other.append([])
    other.append(["vendor_id", "name", "ontime_target", "quality_target", "renewal_date", "notice_period_days"])
    other.append(["V-1", "Acme", 0.95, 0.98, dt.datetime(2026, 12, 31), 90])
    other.append([None, None, None, None, None, None])
    other.append(["V-2", "Boxes", "95%", 1, dt.date(2027, 1, 31), 30.0])
    book.save(tmp_path / "v.xlsx")
    # a date_format for text cells does not stop typed date cells from being read
    spec = SourceSpec(type="excel", path="v.xlsx", sheet="Vendors", date_format="%d.%m.%Y")
    loaded = load_dataset("vendors", spec, tmp_path)
    frame = loaded.frame
    assert loaded.rejected.empty
    # Title on row 1, blank row 2, header on row 3: V-1 is sheet row 4, V-2 row 6 (row 5 is empty).
    assert frame[ROW].tolist() == [4, 6]
    assert frame["ontime_target"].tolist() == [0.95, 0.95]
    assert frame["notice_period_days"].tolist() == [90, 30]
    assert frame["renewal_date"].tolist() == [pd.Timestamp("2026-12-31"), pd.Timestamp("2027-01-31")]
    spec = SourceSpec(type="excel", path="v.xlsx", sheet=5)
    with pytest.raises(DataSourceError, match=r"v\.xlsx: no sheet number 5 \(sheets, numbered from 0: Info, Vendors\)"):
        read_source(spec, tmp_path, "vendors")


def test_parquet_typed_columns(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "case_id": ["C1", "C1"],
            "process": ["returns", "returns"],
            "activity": ["receive", "refund"],
            "started_at": pd.to_datetime(["2026-03-02 09:00", "2026-03-02 10:00"]).tz_localize("Europe/Berlin"),
            "ended_at": pd.to_datetime(["2026-03-02 09:30", "2026-03-02 11:00"]),  # naive: local in the timezone
            "count": [1, 2],
        }
    )
    frame.to_parquet(tmp_path / "events.parquet")
    spec = SourceSpec(type="parquet", path="events.parquet", timezone="Europe/Berlin")
    loaded = load_dataset("process_events", spec, tmp_path)
    # 09:00 and 09:30 Berlin (CET, UTC+1) are 08:00 and 08:30 UTC
    assert loaded.frame["started_at"].tolist()[0] == pd.Timestamp("2026-03-02 08:00", tz="UTC")
    assert loaded.frame["ended_at"].tolist()[0] == pd.Timestamp("2026-03-02 08:30", tz="UTC")
    assert loaded.frame[ROW].tolist() == [2, 3]


# ---------------------------------------------------------------------------------------------------- SQL


def test_sql_unreachable_is_one_line_without_the_password() -> None:
    spec = SourceSpec(type="sql", url="postgresql+psycopg://ops:s3cr3t@127.0.0.1:1/ops", query="select 1")
    started = time.perf_counter()
    with pytest.raises(SourceUnavailableError) as raised:
        read_source(spec, Path("."), "incidents")
    assert time.perf_counter() - started < 12
    message = str(raised.value)
    assert message.startswith("postgresql 127.0.0.1:1/ops: cannot connect (")
    assert "s3cr3t" not in message and "ops@" not in message


def test_sql_url_env_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = SourceSpec(type="sql", url="postgresql+psycopg://ops:${OPSFLOW_TEST_PW}@127.0.0.1:1/ops", query="select 1")
    monkeypatch.delenv("OPSFLOW_TEST_PW", raising=False)
    with pytest.raises(DataSourceError, match="environment variable OPSFLOW_TEST_PW is not set"):
        read_source(spec, Path("."), "incidents")
    monkeypatch.setenv("OPSFLOW_TEST_PW", "topsecret")
    with pytest.raises(SourceUnavailableError) as raised:
        read_source(spec, Path("."), "incidents")
    assert "topsecret" not in str(raised.value)


@pytest.mark.slow
def test_sql_source_against_postgres() -> None:
    from sqlalchemy import create_engine, text

    table = f"opsflow_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"create table {table} (ticket text, prio text, opened timestamp, "
                    "resolved timestamptz, impact text, vendor text)"
                )
            )
            conn.execute(
                text(
                    f"insert into {table} values "
                    "('INC-1', 'P1', '2026-03-02 10:00', '2026-03-02 12:00+00', 'high', NULL), "
                    "('INC-2', 'P3', '2026-03-03 08:30', NULL, NULL, 'V-1')"
                )
            )
        spec = SourceSpec(
            type="sql",
            url=PG_URL,
            query=f"select * from {table} order by ticket",
            rename={"ticket": "incident_id", "prio": "severity", "opened": "opened_at", "resolved": "resolved_at"},
            values={"severity": {"P1": "SEV1", "P3": "SEV3"}},
            defaults={"service": "shop"},
            timezone="Europe/Berlin",
        )
        loaded = load_dataset("incidents", spec, Path("."))
        frame = loaded.frame
        assert loaded.source == "postgresql 127.0.0.1:5432/test"
        assert frame["severity"].tolist() == ["SEV1", "SEV3"]
        # `timestamp` (naive) is Berlin time: 10:00 CET = 09:00 UTC; `timestamptz` keeps its instant (12:00 UTC)
        assert frame["opened_at"].tolist() == [
            pd.Timestamp("2026-03-02 09:00", tz="UTC"),
            pd.Timestamp("2026-03-03 07:30", tz="UTC"),
        ]
        assert frame["resolved_at"].iloc[0] == pd.Timestamp("2026-03-02 12:00", tz="UTC")
        assert frame[ROW].tolist() == [2, 3]
        bad = spec.model_copy(update={"query": f"select nope from {table}"})
        with pytest.raises(DataSourceError, match=r"^postgresql 127\.0\.0\.1:5432/test: the query failed \(.*nope"):
            load_dataset("incidents", bad, Path("."))
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"drop table if exists {table}"))
        engine.dispose()


# ---------------------------------------------------------------------------------------------------- retries


def test_only_unreachable_sources_are_retried() -> None:
    unreachable = SourceUnavailableError("postgresql db:5432/ops: cannot connect")
    missing = DataSourceError("incidents.csv: file not found")
    assert is_transient(None, None, Failed(data=unreachable))
    assert not is_transient(None, None, Failed(data=missing))
    # with 3 retries: attempts 1-3 fail to trigger a retry, the 4th returns the error like any other
    assert should_retry({"incidents": unreachable}, run_count=1)
    assert should_retry({"incidents": unreachable}, run_count=3)
    assert not should_retry({"incidents": unreachable}, run_count=4)
    assert not should_retry({"incidents": missing}, run_count=1)


def test_load_source_returns_the_one_line_error_instead_of_raising(tmp_path: Path) -> None:
    from tasks.data.ingest import load_source

    spec = SourceSpec(type="csv", path="data/missing.csv")
    outcome = load_source("incidents", spec, tmp_path)
    assert isinstance(outcome, str) and "missing.csv" in outcome and "\n" not in outcome


# ---------------------------------------------------------------------- mappings that express real log shapes


def test_single_timestamp_event_log_own_time_and_next_start() -> None:
    # One time per event (the usual process-mining export). Case C1: pick 08:00, pack 09:30, ship 12:00.
    raw = _raw(
        case=["C1", "C1", "C1", "C2"],
        process=["of", "of", "of", "of"],
        step=["pack", "pick", "ship", "pick"],
        at=["2026-03-02 09:30", "2026-03-02 08:00", "2026-03-02 12:00", "2026-03-03 10:00"],
    )
    rename = {"case": "case_id", "step": "activity"}
    own = map_to_contract(
        raw, SourceSpec(path="e.csv", rename=rename, single_timestamp={"column": "at"}), contract("process_events"), "e"
    ).frame
    # own_time: each event starts and ends at its time.
    assert (own["started_at"] == own["ended_at"]).all()
    nxt = map_to_contract(
        raw,
        SourceSpec(path="e.csv", rename=rename, single_timestamp={"column": "at", "end": "next_start"}),
        contract("process_events"),
        "e",
    ).frame
    ends = dict(zip(nxt["activity"].astype(str) + "/" + nxt["case_id"].astype(str), nxt["ended_at"], strict=True))
    # next_start: pick ends when pack starts (09:30), pack when ship starts (12:00); the case's last event (ship) and
    # C2's only event end at their own time.
    utc = lambda t: pd.Timestamp(t, tz="UTC")  # noqa: E731
    assert ends == {
        "pick/C1": utc("2026-03-02 09:30"),
        "pack/C1": utc("2026-03-02 12:00"),
        "ship/C1": utc("2026-03-02 12:00"),
        "pick/C2": utc("2026-03-03 10:00"),
    }


def test_derived_columns_copy_constant_concat_and_date_plus_time() -> None:
    raw = _raw(
        number=["INC1", "INC2"],
        ci=["checkout", "wms"],
        day=["2026-03-02", "2026-03-03"],
        clock=["09:15", "23:50"],
        prio=["SEV2", "SEV3"],
        short=["Card payments fail", None],
        detail=["at checkout", "scanner down"],
    )
    spec = SourceSpec(
        path="i.csv",
        rename={"number": "incident_id", "ci": "service", "prio": "severity"},
        derive={
            "opened_at": {"date": "day", "time": "clock"},
            "title": {"concat": ["short", "detail"], "sep": " - "},
            "kind": {"constant": "real"},
            "root_cause": {"copy": "ci"},  # one source column feeding a second contract column
        },
    )
    frame = map_to_contract(raw, spec, contract("incidents"), "i.csv").frame
    assert frame["opened_at"].tolist() == [
        pd.Timestamp("2026-03-02 09:15", tz="UTC"),
        pd.Timestamp("2026-03-03 23:50", tz="UTC"),
    ]
    # A missing part drops out with its separator.
    assert frame["title"].tolist() == ["Card payments fail - at checkout", "scanner down"]
    assert frame["kind"].tolist() == ["real", "real"] and frame["root_cause"].tolist() == ["checkout", "wms"]
    assert frame["service"].tolist() == ["checkout", "wms"]


def test_collapse_rules_acknowledgement_reassignments_and_reopenings() -> None:
    # INC1's audit log in update order: New (team A) 08:00, Active (team A) 08:20, Active (team B) 09:00,
    # Resolved 10:00, Reopened 11:00, Active (team C) 11:30, Resolved 12:00. INC2: New 09:00 only.
    # acknowledged_at = first update with state Active: 08:20. Assignee A -> B -> C: 2 changes (empty cells skipped).
    # Reopened entered once. INC2: never active (empty), 0 changes, 0 reopenings.
    raw = _raw(
        number=["INC1"] * 7 + ["INC2"],
        ci=["wms"] * 8,
        priority=["SEV2"] * 8,
        opened=["2026-03-02 08:00"] * 7 + ["2026-03-02 09:00"],
        state=["New", "Active", "Active", "Resolved", "Reopened", "Active", "Resolved", "New"],
        team=["A", "A", "B", None, None, "C", "C", "A"],
        updated=["2026-03-02 08:00", "2026-03-02 08:20", "2026-03-02 09:00", "2026-03-02 10:00",
                 "2026-03-02 11:00", "2026-03-02 11:30", "2026-03-02 12:00", "2026-03-02 09:00"],
    )  # fmt: skip
    spec = SourceSpec.model_validate(
        {
            "path": "audit.csv",
            "rename": {"number": "incident_id", "ci": "service", "priority": "severity", "opened": "opened_at"},
            "collapse": {
                "key": "incident_id",
                "order_by": "updated",
                "columns": {
                    "opened_at": "first",
                    "acknowledged_at": {"first_time": {"column": "state", "in": ["Active", "In Progress"]}},
                    "resolved_at": {"last_time": {"column": "state", "in": ["Resolved"]}},
                    "reassignment_count": {"changes": "team"},
                    "reopen_count": {"entries": {"column": "state", "in": ["Reopened"]}},
                },
            },
        }
    )
    frame = map_to_contract(raw, spec, contract("incidents"), "audit.csv").frame.set_index("incident_id")
    utc = lambda t: pd.Timestamp(t, tz="UTC")  # noqa: E731
    assert frame.loc["INC1", "acknowledged_at"] == utc("2026-03-02 08:20")
    assert frame.loc["INC1", "resolved_at"] == utc("2026-03-02 12:00")
    assert (frame.loc["INC1", "reassignment_count"], frame.loc["INC1", "reopen_count"]) == (2, 1)
    assert pd.isna(frame.loc["INC2", "acknowledged_at"]) and pd.isna(frame.loc["INC2", "resolved_at"])
    assert (frame.loc["INC2", "reassignment_count"], frame.loc["INC2", "reopen_count"]) == (0, 0)
    assert "state" not in frame.columns and "team" not in frame.columns


def test_then_by_breaks_ties_in_the_update_time() -> None:
    # Two updates in the same second: the file has them in the wrong order; `then_by` (a sequence) puts SEV1 last.
    raw = _raw(
        number=["INC1", "INC1"], ci=["wms", "wms"], priority=["SEV1", "SEV3"], opened=["2026-03-02 08:00"] * 2,
        updated=["2026-03-02 09:00", "2026-03-02 09:00"], seq=["2", "1"],
    )  # fmt: skip
    collapse = {"key": "incident_id", "order_by": "updated"}
    rename = {"number": "incident_id", "ci": "service", "priority": "severity", "opened": "opened_at"}
    by_line = map_to_contract(raw, SourceSpec(path="a", rename=rename, collapse=collapse), contract("incidents"), "a")
    by_seq = map_to_contract(
        raw, SourceSpec(path="a", rename=rename, collapse={**collapse, "then_by": "seq"}), contract("incidents"), "a"
    )
    assert by_line.frame["severity"].tolist() == ["SEV3"] and by_seq.frame["severity"].tolist() == ["SEV1"]


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ({"derive": {"opened_at": {"copy": "opend"}}}, "derive.opened_at: column 'opend' is not in the source"),
        ({"derive": {"opened": {"constant": "x"}}}, "derive: 'opened' is not a column of the incidents contract"),
        ({"single_timestamp": {"column": "opened"}}, "single_timestamp: only an event log (process_events) has one"),
        (
            {"collapse": {"key": "incident_id", "order_by": "opened",
                          "columns": {"acknowledged_at": {"first_time": {"column": "status", "in": ["Active"]}}}}},
            "collapse.columns.acknowledged_at: column 'status' is not in the source after renaming",
        ),
    ],
)  # fmt: skip
def test_a_bad_mapping_key_is_one_line(spec: dict, needle: str) -> None:
    raw = _raw(number=["INC1"], ci=["wms"], priority=["SEV1"], opened=["2026-03-02 08:00"])
    rename = {"number": "incident_id", "ci": "service", "priority": "severity", "opened": "opened_at"}
    if "derive" in spec and "opened_at" in spec["derive"]:
        rename.pop("opened")
    with pytest.raises(DataSourceError) as caught:
        map_to_contract(
            raw, SourceSpec.model_validate({"path": "i.csv", "rename": rename, **spec}), contract("incidents"), "i.csv"
        )
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_offsets_are_kept_when_a_date_format_is_set() -> None:
    # date_format without an offset; values with Z, +02:00 (with and without a space) and none (local Berlin time).
    raw = _raw(
        number=["I1", "I2", "I3", "I4"], ci=["s"] * 4, priority=["SEV3"] * 4,
        opened=["02/03/2026 10:00Z", "02/03/2026 10:00+02:00", "02/03/2026 10:00 +0200", "02/03/2026 10:00"],
    )  # fmt: skip
    spec = SourceSpec(
        path="i.csv",
        rename={"number": "incident_id", "ci": "service", "priority": "severity", "opened": "opened_at"},
        date_format="%d/%m/%Y %H:%M",
        timezone="Europe/Berlin",
    )
    loaded = map_to_contract(raw, spec, contract("incidents"), "i.csv")
    assert len(loaded.rejected) == 0, loaded.rejected[REASON].tolist()
    utc = lambda t: pd.Timestamp(t, tz="UTC")  # noqa: E731
    # 10:00Z; 10:00+02:00 = 08:00Z (twice); 10:00 in Berlin (CET, +01:00) = 09:00Z.
    assert loaded.frame["opened_at"].tolist() == [
        utc("2026-03-02 10:00"),
        utc("2026-03-02 08:00"),
        utc("2026-03-02 08:00"),
        utc("2026-03-02 09:00"),
    ]


def test_a_collapse_key_the_contract_has_no_place_for_groups_without_a_traceback() -> None:
    # An SLA log keyed by a ticket number (no contract column): it crashed with KeyError 'number'. Now the number
    # groups the rows and is dropped after: 3 rows read, 2 records, S1 as last updated (met false).
    workspace = BAD_INPUTS / "collapse_key_not_in_contract"
    config = load_config(workspace)
    loaded = load_dataset("sla_events", config.sources["sla_events"], workspace)
    assert (loaded.rows_read, loaded.rows_in, len(loaded.frame)) == (3, 2, 2)
    assert loaded.frame["met"].tolist() == [False, True] and "number" not in loaded.frame.columns
