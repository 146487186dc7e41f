"""Tests for tasks/data/clock.py: periods set by what the data covers, and the data as known at a period's end."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsflow.config import SourceSpec, WorkspaceConfig, load_config
from opsflow.coverage import CLOCK_RULES, Coverage, dataset_coverage, mark_partial
from opsflow.datasets import DatasetQuality, OpsData, ValidatedDataset
from opsflow.findings import Section
from opsflow.period import Period, PeriodError
from tasks.data.clock import at_period_end, period_for, workspace_coverage
from tasks.data.ingest import load_dataset, load_workspace
from tasks.data.prepare import WorkspaceData
from tasks.data.validate import validate_workspace
from tasks.incidents.metrics import compute_incidents
from tasks.performance_metrics.kpis import compute_kpis
from tasks.process_optimization.mining import compute_processes
from tasks.project_management.projects import compute_projects
from tasks.risk_management.register import compute_risks
from tasks.service_levels.slo import compute_sla
from tasks.vendors.scorecard import compute_vendors
from tests.conftest import SAMPLE_END
from tests.helpers import frame

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = Period(date(2026, 11, 15), "Europe/Berlin")  # Mon 9 Nov 00:00 CET to Mon 16 Nov 00:00 CET
PRIORITY = {"SEV1": "1 - Critical", "SEV2": "2 - High", "SEV3": "3 - Moderate", "SEV4": "4 - Low"}
HEADER = ["number", "cmdb_ci", "priority", "opened_at", "resolved_at", "sys_updated_on"]
STAMP = "%Y-%m-%d %H:%M:%S"


# -- the period ---------------------------------------------------------------------------------------------------


def _coverage(last_local: dict[str, str]) -> Coverage:
    """Coverage of datasets whose last event is at the given local time (their first, a year earlier)."""
    found = {}
    for name, last in last_local.items():
        column = {"incidents": "opened_at", "sla_events": "measured_at", "process_events": "ended_at"}[name]
        times = pd.Series(pd.to_datetime(["2025-11-01 10:00", last]).tz_localize(BERLIN).tz_convert("UTC"))
        found[name] = dataset_coverage(name, pd.DataFrame({column: times}), "Europe/Berlin")
    return Coverage(found, "Europe/Berlin")


def test_weekly_default_is_the_last_week_the_data_covers() -> None:
    # Data up to Sunday 29 Nov 23:09: covered to Mon 30 Nov 00:00, so the week ending Sun 29 Nov is complete;
    # asked on Sat 5 Dec, the last complete calendar week would also be 29 Nov.
    coverage = _coverage({"sla_events": "2026-11-29 23:09", "incidents": "2026-11-28 16:54"})
    assert period_for("weekly-audit", None, coverage, Period, today=date(2026, 12, 5)).as_of == date(2026, 11, 29)
    # Asked on Wed 16 Dec, two weeks later: still 29 Nov (the weeks of 6 and 13 Dec have no data).
    assert period_for("weekly-audit", None, coverage, Period, today=date(2026, 12, 16)).as_of == date(2026, 11, 29)
    # Data to Sat 28 Nov only: the week ending 29 Nov is not complete, so the week ending 22 Nov.
    short = _coverage({"sla_events": "2026-11-28 20:00"})
    assert period_for("weekly-audit", None, short, Period, today=date(2026, 12, 5)).as_of == date(2026, 11, 22)


def test_daily_default_stops_at_the_last_day_the_data_covers() -> None:
    coverage = _coverage({"sla_events": "2026-11-29 23:09"})
    assert period_for("vendor-sla-review", None, coverage, Period, today=date(2026, 12, 4)).as_of == date(2026, 11, 29)
    # When the data reaches today, today.
    assert period_for("vendor-sla-review", None, coverage, Period, today=date(2026, 11, 29)).as_of == date(2026, 11, 29)


def test_a_day_past_the_data_is_refused_naming_the_dataset_and_its_last_record() -> None:
    coverage = _coverage({"sla_events": "2026-11-29 23:09", "incidents": "2026-11-28 16:54"})
    with pytest.raises(PeriodError) as caught:
        period_for("vendor-sla-review", date(2026, 12, 4), coverage, Period)
    message = str(caught.value)
    assert message == (
        "vendor-sla-review: 2026-12-04 is past the data: the newest dataset, sla_events, ends with a record at "
        "2026-11-29 23:09 CET (use --as-of 2026-11-29 or earlier, or load a newer export)"
    )
    assert "\n" not in message


def test_a_weekly_as_of_that_is_not_a_sunday_is_refused_with_the_nearest_sundays() -> None:
    coverage = _coverage({"sla_events": "2026-11-29 23:09"})
    with pytest.raises(PeriodError, match="2026-11-26 is a Thursday.*use 2026-11-22 or 2026-11-29"):
        period_for("weekly-audit", date(2026, 11, 26), coverage, Period)
    with pytest.raises(PeriodError, match="use --as-of 2026-11-29 or earlier"):
        period_for("weekly-audit", date(2026, 12, 6), coverage, Period)


def test_a_week_configured_to_end_on_saturday() -> None:
    # week_ends_on: Saturday (weekday 5). Data to Sun 29 Nov: the last complete week ends Sat 28 Nov; Thu 26 Nov is
    # refused with the Saturdays around it.
    coverage = _coverage({"sla_events": "2026-11-29 23:09"})
    period = period_for("weekly-audit", None, coverage, Period, today=date(2026, 12, 5), week_ends_on=5)
    assert (period.week_start, period.as_of) == (date(2026, 11, 22), date(2026, 11, 28))
    with pytest.raises(PeriodError, match="a week ends on a Saturday: use 2026-11-21 or 2026-11-28"):
        period_for("weekly-audit", date(2026, 11, 26), coverage, Period, week_ends_on=5)
    assert WorkspaceConfig(week_ends_on="Saturday").week_end_weekday == 5


def test_every_flow_has_a_clock_rule_and_week_flows_refuse_a_mid_week_day() -> None:
    # Every deployed flow but data-check (which reports on the files, not on a period) says how it follows the data.
    deployed = yaml.safe_load((Path(__file__).parents[3] / "deployments" / "prefect.yaml").read_text())["deployments"]
    assert {d["name"] for d in deployed} - {"data-check"} <= set(CLOCK_RULES)
    # Incidents and deliveries to Sat 28 Nov 20:00: the week ending Sun 29 Nov is not complete, so risk-assessment
    # (evidence: incidents, deliveries) defaults to Sun 22 Nov, and Thu 26 Nov is refused with the Sundays around it.
    coverage = _coverage({"incidents": "2026-11-28 20:00"})
    assert period_for("risk-assessment", None, coverage, Period, today=date(2026, 12, 5)).as_of == date(2026, 11, 22)
    with pytest.raises(PeriodError, match="use 2026-11-22 or 2026-11-29"):
        period_for("risk-assessment", date(2026, 11, 26), coverage, Period)
    # operational-transformation follows the process log only: events to Sun 29 Nov 23:09 make that week complete.
    events = _coverage({"process_events": "2026-11-29 23:09", "incidents": "2026-10-01 10:00"})
    assert period_for("operational-transformation", None, events, Period, today=date(2026, 12, 5)).as_of == date(
        2026, 11, 29
    )
    with pytest.raises(PeriodError, match="operational-transformation: 2026-12-06 is past the data"):
        period_for("operational-transformation", date(2026, 12, 6), events, Period)


def test_day_flows_stop_at_the_data_and_problem_solution_metrics_takes_yesterday() -> None:
    coverage = _coverage({"sla_events": "2026-11-29 23:09"})
    # performance-review: any day is a valid period end; the default is the last day the data covers.
    assert period_for("performance-review", date(2026, 11, 26), coverage, Period).as_of == date(2026, 11, 26)
    assert period_for("performance-review", None, coverage, Period, today=date(2026, 12, 4)).as_of == date(
        2026, 11, 29
    )
    # problem-solution-metrics: yesterday (the last complete day) when the data reaches today, else the data's end.
    assert period_for("problem-solution-metrics", None, coverage, Period, today=date(2026, 11, 29)).as_of == date(
        2026, 11, 28
    )
    assert period_for("problem-solution-metrics", None, coverage, Period, today=date(2026, 12, 4)).as_of == date(
        2026, 11, 29
    )


def test_a_drill_happens_today_whatever_the_data_covers() -> None:
    # The drill is performed now: its day is not held back by the incident export, nor refused after it.
    coverage = _coverage({"incidents": "2026-11-28 20:00"})
    assert period_for("contingency-drill", None, coverage, Period, today=date(2026, 12, 4)).as_of == date(2026, 12, 4)
    assert period_for("contingency-drill", date(2026, 12, 3), coverage, Period).as_of == date(2026, 12, 3)


def test_mark_partial_names_the_dataset_in_the_sections_built_on_it() -> None:
    incidents, sla = Section(name="incidents", title="Incidents"), Section(name="sla", title="SLA")
    mark_partial([incidents, sla], ["incidents"])
    assert incidents.note is not None and incidents.note.startswith("Partial: incidents")
    assert sla.note is None


# -- point in time: an audit-log export replayed to the period's end ----------------------------------------------


@dataclass
class Update:
    """One row of a ticket's audit log: the ticket as it stood after this update."""

    hours_after_open: int
    severity: str
    resolved: bool


def _write_workspace(root: Path, rows: list[dict[str, str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with (root / "incidents.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    config = {
        "timezone": "Europe/Berlin",
        "sources": {
            "incidents": {
                "type": "csv",
                "path": "incidents.csv",
                "rename": {"number": "incident_id", "cmdb_ci": "service", "priority": "severity"},
                "values": {"severity": {label: sev for sev, label in PRIORITY.items()}},
                "date_format": STAMP,
                "timezone": "Europe/Berlin",
                "defaults": {"kind": "real"},
                "collapse": {"key": "incident_id", "order_by": "sys_updated_on", "columns": {"opened_at": "first"}},
            }
        },
    }
    (root / "opsflow.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root


def _prepared(root: Path) -> WorkspaceData:
    config = load_config(root)
    loaded = {"incidents": load_dataset("incidents", config.sources["incidents"], root)}
    return WorkspaceData(root, config, validate_workspace(loaded, config, None))


def _audit_rows(tickets: list[tuple[datetime, str, list[Update]]]) -> list[dict[str, str]]:
    rows = []
    for number, (opened, service, updates) in enumerate(tickets, start=1):
        for update in updates:
            at = opened + timedelta(hours=update.hours_after_open)
            rows.append(
                {
                    "number": f"INC{number:04d}",
                    "cmdb_ci": service,
                    "priority": PRIORITY[update.severity],
                    "opened_at": opened.strftime(STAMP),
                    "resolved_at": at.strftime(STAMP) if update.resolved else "",
                    "sys_updated_on": at.strftime(STAMP),
                }
            )
    return rows


def _cut(rows: list[dict[str, str]], end: pd.Timestamp) -> list[dict[str, str]]:
    """The export as it would have been taken at `end`: the audit rows updated before it."""
    return [r for r in rows if pd.Timestamp(datetime.strptime(r["sys_updated_on"], STAMP), tz=BERLIN) < end]


def _figures(root: Path, period: Period) -> dict[str, object]:
    prepared = at_period_end(_prepared(root), period, "weekly-audit")
    section = compute_incidents(prepared.data.frame("incidents"), None, period)
    return section.model_dump(mode="json")


updates = st.lists(
    st.builds(Update, st.integers(0, 24 * 21), st.sampled_from(list(PRIORITY)), st.booleans()), min_size=1, max_size=5
).map(lambda us: sorted(us, key=lambda u: u.hours_after_open))
tickets = st.lists(
    st.tuples(
        # Opened in the two weeks before the audited week or in it: whole hours, so an update can fall exactly on
        # the week's end (local midnight), where the replay must stop.
        st.integers(0, 24 * 21 - 1).map(lambda h: datetime(2026, 11, 2) + timedelta(hours=h)),
        st.sampled_from(["checkout", "payments"]),
        updates,
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tickets=tickets)
def test_an_audit_of_a_week_is_the_same_on_the_full_export_and_on_the_export_cut_at_its_end(
    tmp_path_factory: pytest.TempPathFactory, tickets: list[tuple[datetime, str, list[Update]]]
) -> None:
    # Tickets change priority and resolve (and reopen: a later row with no resolution) before, inside and after
    # the week; every figure of the incidents section, tables included, must be the same either way.
    rows = _audit_rows(tickets)
    root = tmp_path_factory.mktemp("audit")
    full = _write_workspace(root / "full", rows)
    cut = _write_workspace(root / "cut", _cut(rows, WEEK.end))
    if not _cut(rows, WEEK.end):
        return  # nothing was known at the week's end: the cut export is empty (a load error, not a figure)
    assert _figures(full, WEEK) == _figures(cut, WEEK)


def test_a_priority_raised_after_the_week_is_reported_as_known_at_the_week_end(tmp_path: Path) -> None:
    # INC0001 opened Tue 10 Nov 09:00 CET as SEV3, raised to SEV1 on Wed 18 Nov (after the week ending Sun 15 Nov).
    # At the week's end it was a SEV3: the week has 1 incident, 0 SEV1/SEV2, and no open SEV1/SEV2.
    opened = datetime(2026, 11, 10, 9, 0)
    rows = _audit_rows([(opened, "checkout", [Update(0, "SEV3", False), Update(8 * 24, "SEV1", False)])])
    figures = {h["key"]: h["value"] for h in _figures(_write_workspace(tmp_path, rows), WEEK)["headlines"]}
    assert figures["incidents.week.total"] == 1
    assert figures["incidents.week.sev1_sev2"] == 0
    assert figures["incidents.open_sev1_sev2"] == 0
    # The week after sees the raise: the same ticket is an open SEV1 at the end of the week ending 22 Nov.
    later = _figures(tmp_path, Period(date(2026, 11, 22), "Europe/Berlin"))
    assert {h["key"]: h["value"] for h in later["headlines"]}["incidents.open_sev1_sev2"] == 1


def test_the_audit_log_is_read_once_and_replayed_from_memory(tmp_path: Path) -> None:
    # The same ticket as above; the export file is gone after the load, so the replay at the week's end can only
    # have come from the table read at load: the ticket is still the SEV3 it was then.
    opened = datetime(2026, 11, 10, 9, 0)
    rows = _audit_rows([(opened, "checkout", [Update(0, "SEV3", False), Update(8 * 24, "SEV1", False)])])
    prepared = _prepared(_write_workspace(tmp_path, rows))
    (tmp_path / "incidents.csv").unlink()
    cut = at_period_end(prepared, WEEK, "weekly-audit").data.frame("incidents")
    assert cut is not None and cut["severity"].astype(str).tolist() == ["SEV3"]


def test_values_recorded_after_the_cut_are_not_known_yet() -> None:
    # A resolution on 17 Nov is after the week ending 15 Nov: the incident is open at the week's end. A delivery
    # that arrives on 16 Nov is not delivered yet (and its defects are not known); an SLA measurement at the week's
    # end (16 Nov 00:00 CET = 15 Nov 23:00 UTC) is after it.
    incidents = frame(
        "incidents",
        [
            {"incident_id": "I1", "opened_at": "2026-11-12 08:00Z", "resolved_at": "2026-11-17 08:00Z"},
            {"incident_id": "I2", "opened_at": "2026-11-16 08:00Z"},
        ],
    )
    deliveries = frame(
        "vendor_deliveries",
        [{"delivery_id": "D1", "promised_date": "2026-11-15", "delivered_date": "2026-11-16", "defective_quantity": 2}],
    )
    sla = frame("sla_events", [{"measured_at": "2026-11-15 22:59Z"}, {"measured_at": "2026-11-15 23:00Z"}])
    data = OpsData(
        {
            name: _validated(name, f)
            for name, f in (("incidents", incidents), ("vendor_deliveries", deliveries), ("sla_events", sla))
        }
    )
    prepared = WorkspaceData(Path("."), WorkspaceConfig(timezone="Europe/Berlin"), data)
    cut = at_period_end(prepared, WEEK, "weekly-audit").data
    kept = cut.frame("incidents")
    assert kept is not None and list(kept["incident_id"]) == ["I1"] and kept["resolved_at"].isna().all()
    d = cut.frame("vendor_deliveries")
    assert d is not None and d["delivered_date"].isna().all() and d["defective_quantity"].isna().all()
    s = cut.frame("sla_events")
    assert s is not None and len(s) == 1


def _validated(name: str, f: pd.DataFrame) -> ValidatedDataset:
    """A dataset as validation leaves it when every row passed."""
    return ValidatedDataset(name, f, f.iloc[:0], DatasetQuality(name, "-", len(f), len(f), 0, 0.05))


def test_workspace_coverage_prefers_a_declared_observed_until(tmp_path: Path) -> None:
    sla = frame("sla_events", [{"measured_at": "2026-11-20 10:00Z"}])
    config = WorkspaceConfig(
        timezone="Europe/Berlin",
        sources={"sla_events": SourceSpec(path="sla.csv", observed_until=datetime(2026, 11, 29, 23, 59))},
    )
    coverage = workspace_coverage(
        WorkspaceData(tmp_path, config, OpsData({"sla_events": _validated("sla_events", sla)}))
    )
    found = coverage.datasets["sla_events"]
    # Declared 23:59 Berlin time = 22:59 UTC; without it the data would end with 20 Nov (its last record's day).
    assert found.until == pd.Timestamp("2026-11-29 22:59", tz="UTC") and found.declared
    assert "observed until 2026-11-29 23:59 CET" in coverage.summary(["sla_events"])


# -- point in time on the sample: the weekly audit's sections on the full export and on the export cut at the end --

LATER_IN_EXPORT = {
    "u_acknowledged_at": ["u_acknowledged_at"],
    "u_mitigated_at": ["u_mitigated_at"],
    "resolved_at": ["resolved_at", "u_postmortem_due"],
    "u_postmortem_completed": ["u_postmortem_completed"],
}
"""The sample's incident export columns (source names) that a ticket gains later, and what comes with each."""


def _write_export_at(src: Path, dst: Path, period: Period) -> None:
    """The sample's files as they would have been exported at the period's end, written from the raw text: rows that
    did not exist yet dropped, cells not yet known emptied, everything else byte for byte as text."""
    shutil.copytree(src, dst)
    data = dst / "data"

    def read(name: str) -> pd.DataFrame:
        return pd.read_csv(data / f"{name}.csv", dtype=str, keep_default_na=False)

    def local(text: pd.Series) -> pd.Series:
        parsed = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S", errors="coerce")
        return parsed.dt.tz_localize(BERLIN, ambiguous="NaT", nonexistent="shift_forward")

    def known_after(text: pd.Series) -> pd.Series:  # unreadable cells are kept: validation quarantines them as before
        return (pd.to_datetime(text, utc=True, errors="coerce") >= period.end).to_numpy()

    incidents = read("incidents")
    incidents = incidents[~(local(incidents["opened_at"]) >= period.end).to_numpy()].copy()
    for column, emptied in LATER_IN_EXPORT.items():
        later = (local(incidents[column]) >= period.end).to_numpy()
        incidents.loc[later, emptied] = ""
    incidents.to_csv(data / "incidents.csv", index=False)
    for name, column in (("sla_events", "measured_at"), ("process_events", "ended_at")):
        frame_ = read(name)
        frame_[~known_after(frame_[column])].to_csv(data / f"{name}.csv", index=False)
    deliveries = read("vendor_deliveries")
    late = (pd.to_datetime(deliveries["delivered_date"], errors="coerce").dt.date > period.as_of).to_numpy()
    deliveries.loc[late, ["delivered_date", "defective_quantity", "quality_issue", "response_hours"]] = ""
    deliveries.to_csv(data / "vendor_deliveries.csv", index=False)
    observations = read("kpi_observations")
    later_obs = (pd.to_datetime(observations["observed_on"], errors="coerce").dt.date > period.as_of).to_numpy()
    observations[~later_obs].to_csv(data / "kpi_observations.csv", index=False)


def _audit_sections(root: Path, period: Period) -> list[dict[str, object]]:
    """The weekly audit's computed sections (as in report.json) on a workspace's data cut at the period's end."""
    config = load_config(root)
    loaded, errors = load_workspace(root, config)
    assert not errors
    prepared = at_period_end(WorkspaceData(root, config, validate_workspace(loaded, config, None)), period, "")
    d = prepared.data
    vendors = compute_vendors(d.frame("vendors"), d.frame("vendor_deliveries"), period)
    sections = [
        compute_incidents(d.frame("incidents"), d.frame("services"), period),
        compute_sla(d.frame("sla_events"), period, d.frame("services")),
        vendors,
        compute_projects(d.frame("projects"), d.frame("project_tasks"), period),
        compute_risks(
            d.frame("risks"), d.frame("incidents"), d.frame("services"), period, set(vendors.flagged_vendor_ids)
        ),
        compute_kpis(d.frame("kpis"), d.frame("kpi_observations"), period),
        compute_processes(d.frame("process_events"), period),
    ]
    return [s.model_dump(mode="json") for s in sections]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weeks_back=st.integers(1, 8))
def test_the_sample_audited_for_a_past_week_gives_the_figures_of_its_export_cut_at_that_week(
    sample_workspace: Path, tmp_path_factory: pytest.TempPathFactory, weeks_back: int
) -> None:
    # Every figure and table of the seven sections (incidents, SLA, vendors, projects, risks, KPIs, processes).
    period = Period(SAMPLE_END - timedelta(weeks=weeks_back), "Europe/Berlin")
    cut = tmp_path_factory.mktemp("cut") / "ws"
    _write_export_at(sample_workspace, cut, period)
    assert _audit_sections(sample_workspace, period) == _audit_sections(cut, period)
