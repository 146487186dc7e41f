"""Tests of tasks/data/validate.py: every failing row is quarantined with its reason, and nothing is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from opsflow.config import WorkspaceConfig
from opsflow.contract import contract
from opsflow.datasets import REASON, ROW, LoadedDataset
from tasks.data.validate import build_suite, validate_dataset, validate_workspace
from tests.helpers import columns_holding_data

DTYPES = {
    "string": "string",
    "list": "string",
    "integer": "Int64",
    "number": "float64",
    "boolean": "boolean",
    "datetime": "datetime64[us, UTC]",
    "date": "datetime64[us]",
}


def frame(dataset: str, rows: list[dict[str, Any]], first_row: int = 2) -> pd.DataFrame:
    """A frame as the loader hands it over: every contract column with its contract dtype, plus ROW."""
    spec = contract(dataset)
    data: dict[str, Any] = {}
    for name, col in spec.columns.items():
        values = [r.get(name) for r in rows]
        if col.type == "datetime":
            data[name] = pd.Series(pd.to_datetime(values, utc=True), dtype=DTYPES["datetime"])
        elif col.type == "date":
            data[name] = pd.Series(pd.to_datetime(values), dtype=DTYPES["date"])
        else:
            data[name] = pd.Series(values, dtype=DTYPES[col.type])
        if col.categorical:
            data[name] = data[name].astype("category")
    out = pd.DataFrame(data)
    out[ROW] = range(first_row, first_row + len(rows))
    return out


def no_rejects() -> pd.DataFrame:
    return pd.DataFrame({ROW: pd.Series([], dtype="Int64"), REASON: pd.Series([], dtype="string")})


def loaded(dataset: str, rows: list[dict[str, Any]], rejected: pd.DataFrame | None = None) -> LoadedDataset:
    f = frame(dataset, rows)
    rej = rejected if rejected is not None else no_rejects()
    return LoadedDataset(name=dataset, source=f"{dataset}.csv", frame=f, rejected=rej, rows_in=len(f) + len(rej))


def incident(incident_id: str, **kw: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "incident_id": incident_id,
        "service": "checkout",
        "severity": "SEV2",
        "opened_at": "2026-03-02 09:00",
        "kind": "real",
    }
    row.update(kw)
    return row


INCIDENTS = [
    incident("INC1", resolved_at="2026-03-02 11:00", vendor_id="V1"),  # row 2: fine
    incident("INC2", resolved_at="2026-03-01 10:00"),  # row 3: resolved before opened
    incident("INC1"),  # row 4: duplicate of row 2
    incident("INC4", vendor_id="V999"),  # row 5: unknown vendor
    incident("INC5", severity="SEV9"),  # row 6: unknown severity
    incident("INC6", acknowledged_at="2026-03-02 09:05"),  # row 7: fine
]
REFS = {"services.service_id": pd.Series(["checkout"]), "vendors.vendor_id": pd.Series(["V1", "V2"])}


def test_incidents_quarantine_exactly_the_bad_rows_with_their_reasons() -> None:
    # One loader-rejected row (row 8) plus 6 typed rows: 7 rows in.
    # Bad typed rows are 3, 4, 5, 6 -> used = rows 2 and 7 = 2, quarantined = 4 + 1 rejected = 5, 2 + 5 = 7.
    rejected = pd.DataFrame(
        {
            "incident_id": ["INC8"],
            "opened_at": ["yesterday"],
            ROW: [8],
            REASON: ["opened_at: 'yesterday' is not a date"],
        }
    )
    v = validate_dataset(loaded("incidents", INCIDENTS, rejected), contract("incidents"), REFS, threshold=0.05)

    reasons = dict(zip(v.quarantine[ROW].tolist(), v.quarantine[REASON].tolist(), strict=True))
    assert reasons == {
        3: "resolved_at: earlier than opened_at (2026-03-01 10:00 < 2026-03-02 09:00)",
        4: "incident_id: duplicate of row 2",
        5: "vendor_id: 'V999' is not a known vendors.vendor_id",
        6: "severity: 'SEV9' is not one of SEV1, SEV2, SEV3, SEV4",
        8: "opened_at: 'yesterday' is not a date",
    }
    assert v.frame[ROW].tolist() == [2, 7]
    q = v.quality
    assert (q.rows_in, q.rows_used, q.rows_quarantined) == (7, 2, 5)
    assert q.rows_in == q.rows_used + q.rows_quarantined
    assert q.reasons == {
        "resolved_at: earlier than opened_at": 1,
        "incident_id: duplicate": 1,
        "vendor_id: unknown vendors.vendor_id": 1,
        "severity: not allowed": 1,
        "opened_at: unreadable": 1,
    }
    # The quarantined rows keep their source values.
    row3 = v.quarantine.set_index(ROW).loc[3]
    assert row3["incident_id"] == "INC2"
    assert row3["resolved_at"] == "2026-03-01T10:00:00Z"
    # GE counts both rows of the duplicated id (2 and 4) as unexpected; only the later one is quarantined.
    failed = {(e.expectation, e.column): e.unexpected_count for e in q.expectations if not e.success}
    assert failed == {
        ("expect_column_values_to_be_unique", "incident_id"): 2,
        ("expect_column_pair_values_a_to_be_greater_than_b", "resolved_at"): 1,
        ("expect_column_values_to_be_in_set", "vendor_id"): 1,
        ("expect_column_values_to_be_in_set", "severity"): 1,
    }
    # 5 of 7 rows quarantined: 71% > 5%.
    assert not q.usable


def test_a_row_failing_two_rules_is_quarantined_once_with_both_reasons() -> None:
    rows = [incident("INC1", severity="SEV0", resolved_at="2026-03-02 08:59:30")]
    v = validate_dataset(loaded("incidents", rows), contract("incidents"), REFS, threshold=1.0)
    assert v.quarantine[REASON].tolist() == [
        "severity: 'SEV0' is not one of SEV1, SEV2, SEV3, SEV4; "
        "resolved_at: earlier than opened_at (2026-03-02 08:59:30 < 2026-03-02 09:00:00)"
    ]
    assert (v.quality.rows_used, v.quality.rows_quarantined) == (0, 1)


def test_missing_required_value_and_range_and_not_above() -> None:
    rows = [
        {"delivery_id": "D1", "vendor_id": "V1", "promised_date": "2026-03-01", "quantity": 10},  # row 2: fine
        {"delivery_id": "D2", "vendor_id": "V1", "promised_date": None, "quantity": 10},  # row 3: no promised date
        {"delivery_id": "D3", "vendor_id": "V1", "promised_date": "2026-03-01", "quantity": -1},  # row 4: < 0
        # row 5: 12 defective of 10 delivered
        {
            "delivery_id": "D4",
            "vendor_id": "V1",
            "promised_date": "2026-03-01",
            "quantity": 10,
            "defective_quantity": 12,
        },
    ]
    v = validate_dataset(
        loaded("vendor_deliveries", rows),
        contract("vendor_deliveries"),
        {"vendors.vendor_id": pd.Series(["V1"])},
        threshold=0.05,
    )
    reasons = dict(zip(v.quarantine[ROW].tolist(), v.quarantine[REASON].tolist(), strict=True))
    assert reasons == {
        3: "promised_date: empty, but required",
        4: "quantity: -1 is below 0",
        5: "defective_quantity: above quantity (12 > 10)",
    }
    assert v.frame[ROW].tolist() == [2]


def test_exclusive_minimum_and_met_or_measurable_row_check() -> None:
    base = {"category": "shipping", "service": "wh", "measured_at": "2026-03-02 10:00", "objective": 0.95}
    rows = [
        {**base, "met": True},  # row 2: the flag is enough
        {**base, "measured_value": 30.0, "target_value": 48.0},  # row 3: measurable
        {**base, "measured_value": 30.0},  # row 4: neither flag nor target
        {**base, "met": False, "objective": 0.0},  # row 5: objective must be > 0
    ]
    v = validate_dataset(loaded("sla_events", rows), contract("sla_events"), {}, threshold=0.5)
    reasons = dict(zip(v.quarantine[ROW].tolist(), v.quarantine[REASON].tolist(), strict=True))
    assert reasons == {
        4: "met: empty, and measured_value or target_value is empty too",
        5: "objective: 0 is outside (0, 1]",
    }
    # 2 of 4 quarantined = 0.5, not above the 0.5 threshold.
    assert v.quality.quarantined_share == 0.5
    assert v.quality.usable


def test_threshold_breach_makes_the_dataset_unusable() -> None:
    # 1 bad row of 6 = 16.7%: usable at a 20% threshold, not at 10%.
    rows = [incident(f"INC{i}") for i in range(5)] + [incident("INC9", severity="SEV9")]
    ok = validate_dataset(loaded("incidents", rows), contract("incidents"), REFS, threshold=0.2)
    strict = validate_dataset(loaded("incidents", rows), contract("incidents"), REFS, threshold=0.1)
    assert ok.quality.rows_quarantined == strict.quality.rows_quarantined == 1
    assert ok.quality.usable
    assert not strict.quality.usable


def task_row(project: str, task: str, depends_on: str | None = None) -> dict[str, Any]:
    return {
        "project_id": project,
        "task_id": task,
        "name": f"{project}/{task}",
        "duration_optimistic": 1.0,
        "duration_likely": 2.0,
        "duration_pessimistic": 3.0,
        "percent_complete": 0.0,
        "depends_on": depends_on,
    }


def test_list_column_items_must_each_exist_within_the_project() -> None:
    rows = [
        task_row("P1", "T1"),  # row 2
        task_row("P1", "T2", "T1"),  # row 3: fine
        task_row("P1", "T3", "T1; T9"),  # row 4: T9 exists nowhere
        task_row("P2", "T9"),  # row 5
        task_row("P2", "T4", "T9;T2"),  # row 6: T2 is a task of P1, not of P2
        task_row("P1", "T2"),  # row 7: (P1, T2) again
    ]
    v = validate_dataset(
        loaded("project_tasks", rows),
        contract("project_tasks"),
        {"projects.project_id": pd.Series(["P1", "P2"])},
        threshold=1.0,
    )
    reasons = dict(zip(v.quarantine[ROW].tolist(), v.quarantine[REASON].tolist(), strict=True))
    assert reasons == {
        4: "depends_on: 'T9' is not a known project_tasks.task_id in project_id 'P1'",
        6: "depends_on: 'T2' is not a known project_tasks.task_id in project_id 'P2'",
        7: "project_id, task_id: duplicate of row 3",
    }
    assert v.quality.reasons["depends_on: unknown project_tasks.task_id"] == 2


def test_list_column_reference_to_another_dataset() -> None:
    rows = [
        {"service_id": "web", "name": "Web", "tier": "critical", "vendor_ids": "V1;V2"},  # row 2: fine
        {"service_id": "db", "name": "DB", "tier": "critical", "vendor_ids": "V3", "depends_on": "web;cache"},  # 3
    ]
    v = validate_dataset(
        loaded("services", rows), contract("services"), {"vendors.vendor_id": pd.Series(["V1", "V2"])}, threshold=1.0
    )
    assert v.quarantine[REASON].tolist() == [
        "depends_on: 'cache' is not a known services.service_id; vendor_ids: 'V3' is not a known vendors.vendor_id"
    ]


def test_build_suite_states_the_contract() -> None:
    suite = build_suite(contract("kpi_observations"), {"kpis.kpi_id": pd.Series(["K1"])})
    kinds = set()
    for e in suite.expectations:
        kw = e.configuration.kwargs
        kinds.add((e.expectation_type, str(kw.get("column") or kw.get("column_list"))))
    assert ("expect_compound_columns_to_be_unique", "['kpi_id', 'observed_on']") in kinds
    assert ("expect_column_values_to_be_in_set", "kpi_id") in kinds
    assert ("expect_column_values_to_not_be_null", "value") in kinds
    sla = build_suite(contract("sla_events"), {}).expectations
    between = [e.configuration.kwargs for e in sla if e.expectation_type == "expect_column_values_to_be_between"]
    objective = next(kw for kw in between if kw["column"] == "objective")
    assert (objective["min_value"], objective["max_value"], objective["strict_min"]) == (0, 1, True)


def vendor(vendor_id: str, **kw: Any) -> dict[str, Any]:
    row = {
        "vendor_id": vendor_id,
        "name": vendor_id,
        "ontime_target": 0.95,
        "quality_target": 0.98,
        "renewal_date": "2026-12-31",
    }
    row.update(kw)
    return row


def test_workspace_checks_references_against_validated_ids_and_writes_quarantine_files(tmp_path: Path) -> None:
    # V2 is quarantined (ontime_target 1.5 > 1), so an incident naming V2 is quarantined too.
    vendors = [vendor("V1"), vendor("V2", ontime_target=1.5)]
    incidents = [incident("INC1", vendor_id="V1"), incident("INC2", vendor_id="V2")]
    config = WorkspaceConfig.model_validate({"sources": {"vendors": {"path": "v.csv"}, "incidents": {"path": "i.csv"}}})
    data = validate_workspace(
        {"incidents": loaded("incidents", incidents), "vendors": loaded("vendors", vendors)}, config, tmp_path
    )
    assert list(data.datasets) == ["vendors", "incidents"]

    vq = pd.read_csv(tmp_path / "vendors.quarantine.csv", dtype=str)
    assert vq[[ROW, REASON, "vendor_id", "ontime_target"]].values.tolist() == [
        ["3", "ontime_target: 1.5 is outside [0, 1]", "V2", "1.5"]
    ]
    iq = pd.read_csv(tmp_path / "incidents.quarantine.csv", dtype=str)
    assert iq[[ROW, REASON, "incident_id"]].values.tolist() == [
        ["3", "vendor_id: 'V2' is not a known vendors.vendor_id", "INC2"]
    ]
    assert data.datasets["incidents"].quality.quarantine_path == str(tmp_path / "incidents.quarantine.csv")

    # services is not configured: the incidents.service reference is skipped and said so.
    notes = [e for e in data.datasets["incidents"].quality.expectations if e.expectation == "not_checked"]
    assert [n.column for n in notes] == ["service"]
    assert "services is not configured" in notes[0].description


def test_a_missing_required_column_quarantines_every_row() -> None:
    ld = loaded("incidents", [incident("INC1"), incident("INC2")])
    ld.frame = ld.frame.drop(columns=["severity"])
    v = validate_dataset(ld, contract("incidents"), REFS, threshold=0.05)
    assert v.quarantine[REASON].tolist() == ["severity: required column is missing"] * 2
    assert v.quality.rows_used == 0


def test_release_hands_the_rows_over_and_keeps_no_copy() -> None:
    kept = validate_dataset(loaded("incidents", INCIDENTS), contract("incidents"), REFS, 1.0)
    handed = loaded("incidents", INCIDENTS)
    released = validate_dataset(handed, contract("incidents"), REFS, 1.0, release=True)
    pd.testing.assert_frame_equal(released.frame, kept.frame)
    pd.testing.assert_frame_equal(released.quarantine, kept.quarantine)
    # The caller's dataset is emptied, text columns included (an empty slice of them would hold all their text).
    assert len(handed.frame) == 0 and list(handed.frame.columns) == list(kept.frame.columns)
    assert columns_holding_data(handed.frame) == []


def test_rows_in_must_add_up() -> None:
    ld = loaded("incidents", [incident("INC1")])
    ld.rows_in = 5
    with pytest.raises(AssertionError, match="1 rows used"):
        validate_dataset(ld, contract("incidents"), REFS, threshold=0.05)


def test_services_are_validated_after_the_vendors_they_reference() -> None:
    from tasks.data.validate import validation_order

    # services.vendor_ids references vendors: vendors first, whatever order the datasets come in.
    assert validation_order(["incidents", "services", "vendors"]) == ["vendors", "services", "incidents"]
    config = WorkspaceConfig.model_validate({"sources": {"vendors": {"path": "v.csv"}, "services": {"path": "s.csv"}}})
    services = [{"service_id": "web", "name": "Web", "tier": "critical", "vendor_ids": "V1;V7"}]
    data = validate_workspace(
        {"services": loaded("services", services), "vendors": loaded("vendors", [vendor("V1")])}, config, None
    )
    assert list(data.datasets) == ["vendors", "services"]
    assert data.datasets["services"].quarantine[REASON].tolist() == [
        "vendor_ids: 'V7' is not a known vendors.vendor_id"
    ]


def test_an_event_dated_in_the_future_is_quarantined_with_its_reason() -> None:
    from opsflow.config import SourceSpec
    from tasks.data.ingest import map_to_contract
    from tasks.data.validate import future_limit

    # An incident opened in 2031 cannot have happened yet: its row goes to quarantine, the other is used; a row
    # within the day's grace (clock skew of the exporting system) is kept. rows in 3 = used 2 + quarantined 1.
    soon = (future_limit() - pd.Timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    raw = pd.DataFrame(
        {
            "incident_id": ["I1", "I2", "I3"],
            "service": ["s", "s", "s"],
            "severity": ["SEV3", "SEV3", "SEV3"],
            "opened_at": ["2026-03-02 10:00", "2031-01-01 10:00", soon],
        }
    ).astype("string")
    raw[ROW] = [2, 3, 4]
    loaded = map_to_contract(raw, SourceSpec(path="i.csv"), contract("incidents"), "i.csv")
    validated = validate_dataset(loaded, contract("incidents"), {}, 0.9)
    assert (validated.quality.rows_in, validated.quality.rows_used, validated.quality.rows_quarantined) == (3, 2, 1)
    (reason,) = validated.quarantine[REASON].tolist()
    assert reason.startswith("opened_at: 2031-01-01 10:00 is in the future (after ")
    assert validated.quarantine[ROW].tolist() == [3]


def test_an_event_after_the_declared_export_time_is_quarantined(tmp_path: Path) -> None:
    import yaml

    from opsflow.config import load_config
    from tasks.data.ingest import load_workspace

    # The export was taken 2026-03-04 06:00 Berlin time (05:00 UTC); an incident opened after it cannot be in it.
    (tmp_path / "incidents.csv").write_text(
        "incident_id,service,severity,opened_at\nI1,s,SEV3,2026-03-02 10:00\nI2,s,SEV3,2026-03-04 07:00\n",
        encoding="utf-8",
    )
    config = {
        "timezone": "Europe/Berlin",
        "sources": {"incidents": {"path": "incidents.csv", "timezone": "Europe/Berlin",
                                  "observed_until": "2026-03-04 06:00"}},
    }  # fmt: skip
    (tmp_path / "opsflow.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cfg = load_config(tmp_path)
    loaded, _ = load_workspace(tmp_path, cfg)
    data = validate_workspace(loaded, cfg, None)
    ds = data.datasets["incidents"]
    assert (ds.quality.rows_in, ds.quality.rows_used, ds.quality.rows_quarantined) == (2, 1, 1)
    assert ds.quarantine[REASON].tolist() == [
        "opened_at: 2026-03-04 06:00 is after the export was taken (observed_until 2026-03-04 05:00 UTC)"
    ]


def test_gx_shortcuts_change_no_outcome_nor_the_order_of_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    # The incidents above plus a row 8 with reassignment_count -1 (below min 0) and severity SEV9, and a row 9
    # with no count (missing is allowed): validated with GX's configurations built once, the range checks in a
    # run of their own and no batch fingerprint (the default), and as GX does by itself. Outcomes, rows used and
    # every reason agree, in order.
    import contextlib

    import tasks.data.validate as validate_module

    rows = [
        *INCIDENTS,
        incident("INC8", reassignment_count=-1, severity="SEV9"),
        incident("INC9", reassignment_count=None),
    ]

    def run() -> tuple[list, list, list]:
        v = validate_dataset(loaded("incidents", rows), contract("incidents"), REFS, threshold=0.05)
        return list(v.quality.expectations), v.frame[ROW].tolist(), v.quarantine[REASON].tolist()

    both = run()
    assert both[1] == [2, 7, 9]
    assert "severity: 'SEV9' is not one of SEV1, SEV2, SEV3, SEV4; reassignment_count: -1 is below 0" in both[2]
    monkeypatch.setattr(validate_module, "_configurations_built_once", contextlib.nullcontext)
    monkeypatch.setattr(validate_module, "_ranges_apart", lambda frame, runs: runs)
    monkeypatch.setattr(validate_module, "FINGERPRINT_BATCHES", True)
    assert run() == both
