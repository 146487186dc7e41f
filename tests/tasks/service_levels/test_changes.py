"""The change review on small hand-checked change logs, and the sample company's change stories."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import opsflow
from opsflow.config import SourceSpec
from opsflow.contract import DatasetContract, contract
from opsflow.findings import Urgency
from opsflow.period import Period
from opsflow.ranking import category
from opsflow.sample.changes import changes_table
from opsflow.sample.common import TIMEZONE, make_calendar
from opsflow.sample.incidents import incident_source, incidents_table
from opsflow.sample.services import services_table
from tasks.data.ingest import map_to_contract
from tasks.service_levels.changes import DORA_BANDS, ChangeSection, compute_changes
from tests.helpers import DTYPES, frame

# Week [2026-03-02, 2026-03-09) UTC; the 30-day DORA window is [2026-02-07, 2026-03-09).
PERIOD = Period(date(2026, 3, 8))
CHANGES = DatasetContract.model_validate(
    yaml.safe_load((Path(opsflow.__file__).parent / "contracts" / "changes.yml").read_text(encoding="utf-8"))
)


def changes(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A changes frame typed as loading leaves it (the contract is not in DATASETS until it is wired in)."""
    data: dict[str, pd.Series] = {}
    for name, col in CHANGES.columns.items():
        values = pd.Series([r.get(name) for r in rows], dtype=object)
        data[name] = (
            pd.to_datetime(values, utc=True, format="ISO8601")
            if col.type == "datetime"
            else values.astype(DTYPES[col.type])
        )
    return pd.DataFrame(data)


def change(change_id: str, service: str, deployed_at: str, **more: Any) -> dict[str, Any]:
    """A low-risk blue-green change that succeeded, unless `more` says otherwise."""
    row = dict(change_id=change_id, service=service, deployed_at=deployed_at, risk_level="low",
               strategy="blue-green", rollback_plan=True, rollback_tested=True, outcome="success")  # fmt: skip
    return {**row, **more}


def headline(section: ChangeSection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def dora_log() -> list[dict[str, Any]]:
    return [
        # Before the window: sets the data's start (the window stays 30 days) and gives api no extra deployment.
        change("A-0", "api", "2026-01-10 10:00"),
        # api, 10 in the window. Lead times 2, 10, 30, 50 h; a6 failed (restored after 0.5 h), a10 rolled back
        # (restored after 2 h).
        change("A-1", "api", "2026-02-10 10:00", committed_at="2026-02-10 08:00"),
        change("A-2", "api", "2026-02-12 10:00", committed_at="2026-02-12 00:00"),
        change("A-3", "api", "2026-02-14 10:00", committed_at="2026-02-13 04:00"),
        change("A-4", "api", "2026-02-16 10:00", committed_at="2026-02-14 08:00"),
        change("A-5", "api", "2026-02-18 10:00"),
        change("A-6", "api", "2026-02-20 10:00", outcome="failed", restored_at="2026-02-20 10:30"),
        change("A-7", "api", "2026-02-22 10:00"),
        change("A-8", "api", "2026-02-24 10:00"),
        change("A-9", "api", "2026-03-01 10:00"),
        change("A-10", "api", "2026-03-03 10:00", outcome="rolled_back", restored_at="2026-03-03 12:00"),
        # db, 4 in the window: lead times 24, 24, 48 h; D-4 has no outcome recorded.
        change("D-1", "db", "2026-02-11 09:00", committed_at="2026-02-10 09:00"),
        change("D-2", "db", "2026-02-19 09:00", committed_at="2026-02-18 09:00"),
        change("D-3", "db", "2026-02-26 09:00", committed_at="2026-02-24 09:00"),
        change("D-4", "db", "2026-03-05 09:00", outcome=None),
    ]


def test_dora_metrics_per_service_and_overall() -> None:
    services = frame("services", [dict(service_id="api", name="API", tier="critical", owner="API Team")])
    section = compute_changes(changes(dora_log()), PERIOD, services=services)
    rows = {r.service: r for r in section.dora}
    # Worst change failure rate first (api 0.2, db none), all services last.
    assert [r.service for r in section.dora] == ["api", "db", "all services"]

    api = rows["api"]
    # 10 deploys / 30 days = 0.333/day (>= 1/7: high), x 7 = 2.333/week.
    assert (api.deployments, api.deploys_per_day, api.deploy_band) == (10, pytest.approx(1 / 3), "high")
    assert api.deploys_per_week == pytest.approx(7 / 3)
    # Lead times 2, 10, 30, 50 h -> median (10 + 30) / 2 = 20 h < 24 h: elite.
    assert (api.with_commit_time, api.lead_time_median_hours, api.lead_time_band) == (4, 20.0, "elite")
    # 2 failed (failed, rolled_back) of 10 -> 0.2 > 0.15: low.
    assert (api.with_outcome, api.failed, api.change_failure_rate, api.cfr_band) == (10, 2, 0.2, "low")
    # Restored after 0.5 h and 2 h -> median 1.25 h: not under 1 h, under 24 h: high.
    assert (api.restored, api.time_to_restore_median_hours, api.restore_band) == (2, 1.25, "high")
    assert api.owner == "API Team"

    db = rows["db"]
    # 4 / 30 = 0.133/day < 1/7 = 0.143: medium. Lead 24, 24, 48 -> median 24 h, not under a day: high.
    assert (db.deployments, db.deploy_band, db.lead_time_median_hours, db.lead_time_band) == (4, "medium", 24.0, "high")
    # 3 changes with an outcome (D-4 has none) < 5: too few for a rate, so no figure and no band (not 0).
    assert (db.with_outcome, db.change_failure_rate, db.cfr_band) == (3, None, None)
    assert (db.time_to_restore_median_hours, db.restore_band) == (None, None)

    overall = rows["all services"]
    # 14 deploys / 30 = 0.467/day (high); 2 failed / 13 with an outcome = 0.1538 > 0.15: low.
    assert (overall.deployments, overall.deploy_band) == (14, "high")
    assert (overall.change_failure_rate, overall.cfr_band) == (pytest.approx(2 / 13), "low")
    # Lead times 2, 10, 24, 24, 30, 48, 50 -> median 24 h (high); restores 0.5, 2 -> 1.25 h (high).
    assert (overall.lead_time_median_hours, overall.time_to_restore_median_hours) == (24.0, 1.25)
    assert headline(section, "changes.deploys_per_day_30d") == pytest.approx(14 / 30)
    assert headline(section, "changes.cfr_30d") == pytest.approx(2 / 13)
    assert headline(section, "changes.lead_time_median_hours") == 24.0
    assert headline(section, "changes.mttr_median_hours") == 1.25
    assert headline(section, "changes.cfr_low_band_services") == 1
    # This week: D-4 (03-05) and A-10 (03-03).
    assert headline(section, "changes.week.deployments") == 2

    basis = {b.metric: b for b in section.basis}
    assert (basis["changes.cfr_30d"].rows_used, basis["changes.cfr_30d"].reasons) == (13, {"no outcome recorded": 1})
    assert (
        basis["changes.lead_time_median_hours"].rows_used,
        basis["changes.lead_time_median_hours"].rows_excluded,
    ) == (
        7,
        7,
    )
    # api in the low band: one important review, owned by the service's owner.
    [review] = section.actions
    assert (review.kind, review.urgency, review.owner, review.source) == (
        "change_failure_rate_review",
        Urgency.IMPORTANT,
        "API Team",
        "service api",
    )
    assert "2 of 10 changes failed" in review.text


@pytest.mark.parametrize(
    ("failed", "rate", "band"),
    # 20 changes in the window: 1/20 = 0.05 (elite, on its boundary), 2/20 = 0.10 (high), 3/20 = 0.15 (medium),
    # 4/20 = 0.20 (low).
    [(0, 0.0, "elite"), (1, 0.05, "elite"), (2, 0.10, "high"), (3, 0.15, "medium"), (4, 0.20, "low")],
)
def test_change_failure_rate_band_boundaries(failed: int, rate: float, band: str) -> None:
    start = pd.Timestamp("2026-02-08 10:00")
    log = [
        change(f"C-{i}", "api", str(start + pd.Timedelta(days=i)), outcome="rolled_back" if i < failed else "success")
        for i in range(20)
    ]
    [api, _] = compute_changes(changes(log), PERIOD).dora
    assert (api.change_failure_rate, api.cfr_band) == (pytest.approx(rate), band)


@pytest.mark.parametrize(
    ("deploys", "band"),
    # Over 30 days: 30 -> 1/day (elite); 29 -> 0.967/day (high); 5 -> 0.167 >= 1/7 (high); 4 -> 0.133 (medium);
    # 1 -> 1/30 exactly (medium); 0 on api (its one change is before the window) -> 0 (low).
    [(30, "elite"), (29, "high"), (5, "high"), (4, "medium"), (1, "medium"), (0, "low")],
)
def test_deployment_frequency_band_boundaries(deploys: int, band: str) -> None:
    start = pd.Timestamp("2026-02-07 06:00")
    log = [change("OLD", "api", "2026-01-05 10:00")]
    log += [change(f"C-{i}", "api", str(start + pd.Timedelta(hours=24 * i))) for i in range(deploys)]
    api = next(r for r in compute_changes(changes(log), PERIOD).dora if r.service == "api")
    assert (api.deployments, api.deploy_band) == (deploys, band)


def test_band_limits_on_and_around_each_boundary() -> None:
    lead, restore = DORA_BANDS["lead time for changes"], DORA_BANDS["time to restore"]
    cfr, frequency = DORA_BANDS["change failure rate"], DORA_BANDS["deployment frequency"]
    # Lead time: < 24 h elite, < 168 h high, < 720 h medium, else low; a boundary belongs to the worse band.
    assert [lead.band(h) for h in (23.9, 24, 167.9, 168, 719.9, 720)] == [
        "elite", "high", "high", "medium", "medium", "low"
    ]  # fmt: skip
    # Time to restore: < 1 h elite, < 24 h high, < 168 h medium, else low.
    assert [restore.band(h) for h in (0.9, 1, 23.9, 24, 167.9, 168)] == [
        "elite", "high", "high", "medium", "medium", "low"
    ]  # fmt: skip
    # Change failure rate: <= 5% elite, <= 10% high, <= 15% medium, else low; a boundary belongs to the better band.
    assert [cfr.band(r) for r in (0.05, 0.0501, 0.10, 0.1001, 0.15, 0.1501)] == [
        "elite", "high", "high", "medium", "medium", "low"
    ]  # fmt: skip
    # Deployment frequency per day: >= 1 elite, >= 1/7 high, >= 1/30 medium, else low.
    assert [frequency.band(d) for d in (1, 0.99, 1 / 7, 0.14, 1 / 30, 0.033)] == [
        "elite", "high", "high", "medium", "medium", "low"
    ]  # fmt: skip
    assert lead.band(None) is None


def policy_log() -> list[dict[str, Any]]:
    week = "2026-03-0{}T10:00"
    return [
        # Too careless for its risk: high risk needs staged; canary is less strict.
        change("C-1", "web", week.format(2), risk_level="high", strategy="canary", owner="Ann"),
        # More careful than required (manual for low risk), and low risk needs no rollback plan: complies.
        change("C-2", "web", week.format(2), strategy="manual", rollback_plan=False, rollback_tested=False),
        # Medium risk, staged (stricter than canary: fine), but the rollback plan was never tested.
        change("C-3", "web", week.format(3), risk_level="medium", strategy="staged", rollback_tested=False, owner="Bo"),
        # Critical, manual as required, with no rollback facts recorded at all: no documented plan. No owner.
        change(
            "C-4",
            "web",
            week.format(4),
            risk_level="critical",
            strategy="manual",
            rollback_plan=None,
            rollback_tested=None,
        ),  # fmt: skip
        # High risk blue-green that was rolled back: a violation on a failed change is urgent.
        change(
            "C-5",
            "web",
            week.format(5),
            risk_level="high",
            outcome="rolled_back",
            owner="Cy",
            restored_at="2026-03-05T10:20",
        ),  # fmt: skip
        # No risk level: the policy cannot be shown to hold.
        change("C-6", "web", week.format(6), risk_level=None, strategy="canary", owner="Di"),
        # High, staged, rollback tested: complies.
        change("C-7", "web", week.format(6), risk_level="high", strategy="staged"),
        # Two problems, one change: canary for high risk, and no rollback plan.
        change(
            "C-9",
            "web",
            week.format(7),
            risk_level="high",
            strategy="canary",
            rollback_plan=False,
            rollback_tested=False,
            owner="Ed",
        ),  # fmt: skip
        # Against policy but before the week: not this week's business.
        change("C-8", "web", "2026-02-25T10:00", risk_level="medium", strategy="blue-green"),
    ]


def test_policy_check_of_the_weeks_changes() -> None:
    services = frame("services", [dict(service_id="web", name="Web", tier="standard", owner="Web Team")])
    section = compute_changes(changes(policy_log()), PERIOD, services=services)
    found = [(v.change_id, v.required, v.problem) for v in section.violations]
    assert found == [
        ("C-1", "staged", "canary instead of staged for a high-risk change"),
        ("C-3", "canary", "rollback plan not tested"),
        ("C-4", "manual", "no documented rollback plan"),
        ("C-5", "staged", "blue-green instead of staged for a high-risk change"),
        ("C-6", None, "no risk level recorded"),
        ("C-9", "staged", "canary instead of staged for a high-risk change"),
        ("C-9", "staged", "no documented rollback plan"),
    ]
    # 7 problems on 6 changes.
    assert headline(section, "changes.policy_violations") == 6
    # One action per violating change: C-5 failed (urgent); the rest important, riskiest first (critical 4, high 3
    # twice in source order, medium 2, unrated 1).
    assert [(a.source, a.urgency) for a in section.actions] == [
        ("change C-5", Urgency.URGENT),
        ("change C-4", Urgency.IMPORTANT),
        ("change C-1", Urgency.IMPORTANT),
        ("change C-9", Urgency.IMPORTANT),
        ("change C-3", Urgency.IMPORTANT),
        ("change C-6", Urgency.IMPORTANT),
    ]
    assert {a.kind for a in section.actions} == {"change_policy_violation"}
    owners = {a.source: a.owner for a in section.actions}
    # C-4 has no owner: the service's owner from the catalogue.
    assert (owners["change C-1"], owners["change C-4"], owners["change C-5"]) == ("Ann", "Web Team", "Cy")
    c9 = next(a for a in section.actions if a.source == "change C-9")
    assert "canary instead of staged" in c9.text and "no documented rollback plan" in c9.text


def test_failed_change_without_incident_or_restoration_is_urgent() -> None:
    log = [
        # Failed, no incident, never restored: urgent, 36 h before the period end (03-07 12:00 -> 03-09 00:00).
        change("F-1", "api", "2026-03-07 12:00", outcome="failed"),
        # Rolled back: the rollback restored it.
        change("F-2", "api", "2026-03-07 13:00", outcome="rolled_back"),
        # Restored after the period end: not known then, so not restored (12 h before the end).
        change("F-3", "api", "2026-03-08 12:00", outcome="failed", restored_at="2026-03-09 01:00"),
        # Restored 3 h later.
        change("F-4", "api", "2026-03-06 12:00", outcome="failed", restored_at="2026-03-06 15:00"),
        # The incident it caused tracks it.
        change("F-5", "api", "2026-03-06 13:00", outcome="failed", incident_id="INC-9"),
    ]
    section = compute_changes(changes(log), PERIOD)
    urgent = [a for a in section.actions if a.urgency == Urgency.URGENT]
    assert [(a.source, a.impact) for a in urgent] == [("change F-1", 36.0), ("change F-3", 12.0)]
    assert {a.kind for a in urgent} == {"failed_change_no_incident"}
    # Placed as live work by the ranking's rules ('incident' in the kind).
    assert category(urgent[0]) == "active_incident"
    # Of 5 failed changes only F-4 was restored (3 h): the others are left out of the time to restore.
    assert headline(section, "changes.mttr_median_hours") == 3.0
    mttr = next(b for b in section.basis if b.metric == "changes.mttr_median_hours")
    assert (mttr.rows_used, mttr.rows_excluded) == (1, 4)
    # Without incident data the linked incident is still listed, with no severity or state, and the note says so.
    [caused] = section.caused_incidents
    assert (caused.incident_id, caused.severity, caused.state) == ("INC-9", None, None)
    assert section.note and "incidents dataset" in section.note


def test_incidents_caused_by_changes() -> None:
    log = [
        change("K-1", "checkout", "2026-03-04 10:00", outcome="rolled_back", incident_id="INC-1"),
        # Its incident was opened after the period end: the link was not known then.
        change("K-2", "checkout", "2026-03-08 20:00", outcome="failed", incident_id="INC-2"),
        # Succeeded by its record, but an incident is linked: failed.
        change("K-3", "checkout", "2026-02-20 09:00", incident_id="INC-3"),
        # Before the 30 days.
        change("K-4", "checkout", "2026-02-01 09:00", outcome="failed", incident_id="INC-4"),
    ]
    incidents = frame(
        "incidents",
        [
            dict(incident_id="INC-1", service="checkout", severity="SEV1", opened_at="2026-03-04 10:25",
                 mitigated_at="2026-03-04 11:25", resolved_at="2026-03-04 13:25", kind="real"),
            dict(incident_id="INC-2", service="checkout", severity="SEV2", opened_at="2026-03-09 01:00", kind="real"),
            dict(incident_id="INC-3", service="checkout", severity="SEV3", opened_at="2026-02-20 09:40",
                 mitigated_at="2026-02-20 12:00", resolved_at="2026-03-10 09:00", kind="real"),
            dict(incident_id="INC-4", service="checkout", severity="SEV2", opened_at="2026-02-01 09:30",
                 resolved_at="2026-02-01 11:00", kind="real"),
        ],
    )  # fmt: skip
    section = compute_changes(changes(log), PERIOD, incidents)
    # Latest first; INC-3 was mitigated but not yet resolved at the period end.
    assert [
        (c.incident_id, c.change_id, c.severity, c.state, c.minutes_to_incident) for c in section.caused_incidents
    ] == [
        ("INC-1", "K-1", "SEV1", "resolved", 25.0),
        ("INC-3", "K-3", "SEV3", "mitigated", 40.0),
    ]
    assert headline(section, "changes.caused_incidents") == 2
    # K-1: from the incident's opening 10:25 to its resolution 13:25 = 3 h; K-3 resolved after the end: left out.
    assert headline(section, "changes.mttr_median_hours") == 3.0
    # K-2 failed with no known incident and no restoration: urgent.
    [action] = section.actions
    assert (action.source, action.kind) == ("change K-2", "failed_change_no_incident")
    everything = next(b for b in section.basis if b.metric == "changes (all figures)")
    assert everything.reasons == {"incident link ignored: incident opened at or after period end": 1}


def test_changes_after_the_period_end_are_ignored() -> None:
    log = dora_log() + policy_log()
    later = log + [
        change("L-1", "api", "2026-03-09 00:00", outcome="failed"),
        change("L-2", "web", "2026-03-12 10:00", risk_level="critical", strategy="blue-green"),
    ]
    at_end = compute_changes(changes(log), PERIOD).model_dump()
    from_later = compute_changes(changes(later), PERIOD).model_dump()
    after = [b for b in from_later["basis"] if b["metric"] == "changes (all figures)"]
    assert after[0]["reasons"] == {"deployed at or after period end": 2}
    from_later["basis"].remove(after[0])
    assert from_later == at_end


END = pd.Timestamp(PERIOD.end)
_CHANGE = st.fixed_dictionaries(
    {
        "hours": st.integers(-45 * 24, 10 * 24),  # deployed, relative to the period end
        "service": st.sampled_from(["api", "web"]),
        "risk_level": st.sampled_from(["low", "medium", "high", "critical", None]),
        "strategy": st.sampled_from(["blue-green", "canary", "staged", "manual", None]),
        "rollback_plan": st.sampled_from([True, False, None]),
        "rollback_tested": st.sampled_from([True, False, None]),
        "outcome": st.sampled_from(["success", "success", "failed", "rolled_back", None]),
        "lead": st.one_of(st.none(), st.integers(0, 900)),
        "restore": st.one_of(st.none(), st.integers(0, 200)),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_CHANGE, max_size=25))
def test_cutting_the_data_at_the_period_end_changes_no_figure(drawn: list[dict[str, Any]]) -> None:
    rows = []
    for i, d in enumerate(drawn):
        deployed = END + pd.Timedelta(hours=d["hours"])
        rows.append(
            dict(
                change_id=f"H-{i}", service=d["service"], deployed_at=str(deployed), risk_level=d["risk_level"],
                strategy=d["strategy"], rollback_plan=d["rollback_plan"], rollback_tested=d["rollback_tested"],
                outcome=d["outcome"],
                committed_at=None if d["lead"] is None else str(deployed - pd.Timedelta(hours=d["lead"])),
                restored_at=None if d["restore"] is None else str(deployed + pd.Timedelta(hours=d["restore"])),
            )
        )  # fmt: skip
    full = changes(rows)
    cut = full[full["deployed_at"] < END].reset_index(drop=True)
    whole = compute_changes(full, PERIOD).model_dump()
    known = compute_changes(cut, PERIOD).model_dump()
    whole["basis"] = [b for b in whole["basis"] if b["metric"] != "changes (all figures)"]
    assert whole == known


def test_a_window_the_data_starts_inside_is_shortened_and_says_so() -> None:
    # The export starts 2026-02-27 00:00: the window is [02-27, 03-09), 10 days; 5 deploys -> 0.5/day (high).
    log = [change(f"S-{i}", "api", f"2026-02-{27 + i}T00:00" if i < 2 else f"2026-03-0{i}T10:00") for i in range(5)]
    section = compute_changes(changes(log), PERIOD)
    overall = section.dora[-1]
    assert (overall.deployments, overall.deploys_per_day, overall.deploys_per_week) == (5, 0.5, 3.5)
    frequency = next(h for h in section.headlines if h.key == "changes.deploys_per_day_30d")
    assert (frequency.value, frequency.window) == (0.5, "10 of 30 days")
    assert section.note and "over the 10 days the data covers, not 30" in section.note


def test_no_changes_dataset_or_no_changes() -> None:
    missing = compute_changes(None, PERIOD)
    assert (missing.available, missing.note) == (False, "The changes dataset is not configured.")
    assert missing.definitions and not missing.headlines
    empty = compute_changes(changes([]), PERIOD)
    assert empty.available and empty.note == "No changes were deployed before the period end."
    assert headline(empty, "changes.week.deployments") == 0
    assert headline(empty, "changes.cfr_30d") is None
    assert [r.service for r in empty.dora] == ["all services"]


# --------------------------------------------------------------------------------------------------- the sample

SAMPLE_END = date(2026, 3, 29)


def _text_frame(table: pa.Table) -> pd.DataFrame:
    """An export as text, the way a source is read before it is mapped onto its contract."""
    return pd.DataFrame(
        {
            n: pd.Series(pd.array(pc.cast(c, pa.string()), dtype="string"))
            for n, c in zip(table.column_names, table.columns, strict=True)
        }
    )


@pytest.fixture(scope="module")
def sample() -> tuple[pa.Table, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cal = make_calendar(SAMPLE_END)
    incidents_export, _ = incidents_table(np.random.default_rng([7, 1]), cal, 0.05)
    table = changes_table(np.random.default_rng([7, 8]), cal, incidents_export)
    spec = SourceSpec.model_validate(incident_source("csv"))
    incidents = map_to_contract(_text_frame(incidents_export), spec, contract("incidents"), "incidents.csv").frame
    types = {pa.string(): pd.StringDtype(), pa.bool_(): pd.BooleanDtype()}
    services = services_table(cal).to_pandas(types_mapper=types.get)
    return table, table.to_pandas(types_mapper=types.get), incidents, services


def test_sample_changes_follow_the_contract(sample: tuple[pa.Table, pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    table, frame_, incidents, services = sample
    assert table.column_names == list(CHANGES.columns)
    assert 300 <= table.num_rows <= 1600
    assert frame_["change_id"].is_unique
    for name, col in CHANGES.columns.items():
        if col.allowed:
            assert set(frame_[name].dropna()) <= set(col.allowed), name
        if col.required:
            assert frame_[name].notna().all(), name
    assert set(frame_["service"]) <= set(services["service_id"])
    assert set(frame_["incident_id"].dropna()) <= set(incidents["incident_id"])
    assert (frame_["committed_at"].dropna() <= frame_.loc[frame_["committed_at"].notna(), "deployed_at"]).all()
    assert (frame_["restored_at"].dropna() >= frame_.loc[frame_["restored_at"].notna(), "deployed_at"]).all()
    # Critical services deploy more often than the others.
    critical = set(services.loc[services["tier"] == "critical", "service_id"])
    per_service = frame_["service"].value_counts()
    assert per_service[list(critical)].min() > per_service.drop(list(critical)).max()
    # The same rng gives the same table.
    cal = make_calendar(SAMPLE_END)
    again = changes_table(
        np.random.default_rng([7, 8]), cal, incidents_table(np.random.default_rng([7, 1]), cal, 0.05)[0]
    )
    assert again.equals(table)


def test_sample_stories_are_found_in_the_last_week(
    sample: tuple[pa.Table, pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> None:
    _, frame_, incidents, services = sample
    period = Period(SAMPLE_END, TIMEZONE)
    section = compute_changes(frame_, period, incidents, services)
    problems = {(v.service, v.risk_level, v.strategy, v.problem) for v in section.violations}
    # (a) A high-risk change deployed by canary instead of a staged rollout.
    assert ("payments-gateway", "high", "canary", "canary instead of staged for a high-risk change") in problems
    # (b) A critical change whose rollback plan was never tested.
    assert ("customer-db", "critical", "manual", "rollback plan not tested") in problems
    # (c) A failed change in the week that caused a major incident on its service minutes later.
    week = [c for c in section.caused_incidents if c.deployed_at >= period.start]
    assert len(week) == 1
    caused = week[0]
    assert caused.outcome in ("failed", "rolled_back") and caused.severity in ("SEV1", "SEV2")
    assert caused.minutes_to_incident is not None and 10 <= caused.minutes_to_incident <= 60
    opened = incidents.set_index("incident_id").loc[caused.incident_id]
    assert opened["service"] == caused.service == "checkout"
    # One service's change failure rate over 30 days is in the low band, far worse than any other's.
    rated = {r.service: r for r in section.dora[:-1] if r.change_failure_rate is not None}
    low = [s for s, r in rated.items() if r.cfr_band == "low"]
    assert low == ["order-service"]
    worst_other = max(r.change_failure_rate or 0 for s, r in rated.items() if s != "order-service")
    assert (rated["order-service"].change_failure_rate or 0) >= 2 * worst_other
    assert headline(section, "changes.cfr_low_band_services") == 1
    # Each story is an action, for the change's owner (or the service's).
    sources = {a.source: a for a in section.actions}
    story_changes = {f"change {v.change_id}" for v in section.violations}
    assert story_changes <= set(sources)
    assert "service order-service" in sources
    assert period.start <= pd.Timestamp(caused.deployed_at) < period.end
