"""Tests for tasks/performance_metrics/kpis.py on small hand-checked KPI tables."""

from __future__ import annotations

from datetime import date
from typing import Any

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.performance_metrics.kpis import KpiSection, compute_kpis
from tests.helpers import frame


def kpi(kpi_id: str, **kw: Any) -> dict[str, Any]:
    base = {
        "kpi_id": kpi_id,
        "name": f"KPI {kpi_id}",
        "perspective": "customer",
        "objective": "Delight customers",
        "unit": "%",
        "direction": "increase",
        "baseline": 0.0,
        "target": 100.0,
        "owner": "Ann",
        "deadline": "2025-12-31",
    }
    base.update(kw)
    return base


def obs(kpi_id: str, day: str, value: float) -> dict[str, Any]:
    return {"kpi_id": kpi_id, "observed_on": day, "value": value}


# as_of 2025-07-02: 182 days after 2025-01-01, and the deadline 2025-12-31 is 364 days after it.
PERIOD = Period(date(2025, 7, 2))


def by_id(section: KpiSection) -> dict[str, Any]:
    return {r.kpi_id: r for r in section.kpis}


def test_progress_score_expected_and_status() -> None:
    kpis = frame(
        "kpis",
        [
            # A: increase 0 -> 100, latest 60 -> progress 0.6; expected = 182/364 = 0.5, on-track line 0.4 -> on track.
            kpi("A"),
            # B: decrease 10 -> 5, latest 7 -> (7-10)/(5-10) = 0.6: going down is progress -> on track.
            kpi("B", direction="decrease", baseline=10.0, target=5.0),
            # C: decrease 10 -> 5, latest 12 -> (12-10)/(5-10) = -0.4: wrong way; score 0 < 0.4-0.25 -> off track.
            kpi("C", direction="decrease", baseline=10.0, target=5.0, perspective="financial"),
            # D: latest 20 -> 0.2; line 0.4, at-risk band down to 0.15 -> at risk.
            kpi("D"),
            # E: latest 130 -> progress 1.3, score clipped to 1 -> achieved.
            kpi("E"),
            # F: no deadline: latest 70 -> 0.7 >= 0.7 -> on track; expected None.
            kpi("F", deadline=None),
            # G: target = baseline -> no score.
            kpi("G", target=0.0),
        ],
    )
    observations = frame(
        "kpi_observations",
        [
            obs("A", "2025-01-01", 0.0),
            obs("A", "2025-07-01", 60.0),
            obs("B", "2025-01-01", 10.0),
            obs("B", "2025-07-01", 7.0),
            obs("C", "2025-01-01", 10.0),
            obs("C", "2025-07-01", 12.0),
            obs("D", "2025-01-01", 0.0),
            obs("D", "2025-07-01", 20.0),
            obs("E", "2025-01-01", 0.0),
            obs("E", "2025-07-01", 130.0),
            obs("F", "2025-01-01", 0.0),
            obs("F", "2025-07-01", 70.0),
            obs("G", "2025-07-01", 3.0),
        ],
    )
    s = compute_kpis(kpis, observations, PERIOD)
    r = by_id(s)
    assert r["A"].progress == 0.6 and r["A"].okr_score == 0.6
    assert r["A"].expected_progress == 0.5
    assert r["A"].status == "on_track"
    assert r["B"].progress == 0.6 and r["B"].status == "on_track"
    assert abs(r["C"].progress - (-0.4)) < 1e-12 and r["C"].okr_score == 0.0 and r["C"].status == "off_track"
    assert r["D"].okr_score == 0.2 and r["D"].status == "at_risk"
    assert r["E"].okr_score == 1.0 and r["E"].status == "achieved"
    assert r["F"].expected_progress is None and r["F"].status == "on_track"
    assert r["G"].okr_score is None and r["G"].status == "not_scored"

    h = {x.key: x.value for x in s.headlines}
    # scored: A..F = 6; on track or achieved: A, B, E, F = 4 -> 4/6.
    assert h["kpis.on_track.share"] == 4 / 6
    # mean score (0.6 + 0.6 + 0 + 0.2 + 1 + 0.7) / 6 = 3.1 / 6 = 0.5166.. -> 0.52
    assert h["kpis.okr_score.mean"] == 0.52
    assert h["kpis.off_track.count"] == 1
    # SMART: only F (no deadline) fails; G has a target (equal to baseline), so it passes.
    assert h["kpis.smart.failing"] == 1

    off = [a for a in s.actions if a.kind == "kpi_off_track"]
    assert [(a.source, a.owner, a.urgency) for a in off] == [("kpi C", "Ann", Urgency.IMPORTANT)]
    assert "0.00 vs 0.50 expected by now" in off[0].text

    basis = {b.metric: b for b in s.basis}
    assert basis["KPI scores"].rows_used == 6
    assert basis["KPI scores"].reasons == {"target equals baseline": 1}

    persp = {p.perspective: p for p in s.perspectives}
    # customer: A, B, D, E, F, G -> 6 KPIs; scores 0.6, 0.6, 0.2, 1, 0.7 -> mean 3.1 / 5 = 0.62
    assert persp["customer"].kpis == 6 and persp["customer"].mean_okr_score == 0.62
    assert (persp["customer"].achieved, persp["customer"].on_track, persp["customer"].at_risk) == (1, 3, 1)
    assert persp["customer"].not_scored == 1
    assert persp["financial"].kpis == 1 and persp["financial"].off_track == 1
    # a perspective with no KPI still shows, so the gap in the scorecard is visible.
    assert persp["learning_growth"].kpis == 0 and persp["learning_growth"].mean_okr_score is None


def test_observations_after_as_of_do_not_exist_and_change_28_days() -> None:
    kpis = frame("kpis", [kpi("A")])
    rows = [
        obs("A", "2025-05-01", 10.0),
        obs("A", "2025-06-04", 30.0),  # exactly 28 days before 2025-07-02 -> the value 28 days ago
        obs("A", "2025-06-20", 40.0),
        obs("A", "2025-07-02", 50.0),  # on as_of: counts
    ]
    later = rows + [obs("A", "2025-07-03", 99.0), obs("A", "2025-09-01", 100.0)]
    s_now = compute_kpis(kpis, frame("kpi_observations", rows), PERIOD)
    s_later = compute_kpis(kpis, frame("kpi_observations", later), PERIOD)
    for s in (s_now, s_later):
        a = s.kpis[0]
        assert a.latest_value == 50.0 and a.latest_on == date(2025, 7, 2)
        # change vs 28 days earlier: 50 - 30 = 20
        assert a.value_28d_ago == 30.0 and a.change_28d == 20.0
        # first observation 2025-05-01: elapsed 62 days of 244 to 2025-12-31 -> 0.254 -> 0.25
        assert a.expected_progress == 0.25
    assert s_now.model_dump(exclude={"basis"}) == s_later.model_dump(exclude={"basis"})
    assert {b.metric: b.reasons for b in s_later.basis}["KPI observations"] == {"dated after the report date": 2}


def test_smart_check_and_actions() -> None:
    kpis = frame(
        "kpis",
        [
            kpi("OK"),
            # no objective, no unit, no owner, no target, no deadline.
            kpi("BAD", objective=None, unit=" ", owner=None, target=None, deadline=None),
            # complete definition, but last observation is 31 days old -> not measurable.
            kpi("STALE"),
        ],
    )
    observations = frame(
        "kpi_observations",
        [obs("OK", "2025-06-03", 10.0), obs("BAD", "2025-07-01", 1.0), obs("STALE", "2025-06-01", 5.0)],
    )
    s = compute_kpis(kpis, observations, PERIOD)
    failing = {r.kpi_id: r.failing for r in s.smart}
    # 2025-06-03 is the first day of the 30 days ending 2025-07-02, so OK is measurable.
    assert failing == {"BAD": "specific, measurable, time_bound, owner, target", "STALE": "measurable"}
    smart_actions = {a.source: a for a in s.actions if a.kind == "kpi_definition_incomplete"}
    assert set(smart_actions) == {"kpi BAD", "kpi STALE"}
    assert smart_actions["kpi BAD"].owner is None and smart_actions["kpi STALE"].owner == "Ann"
    assert all(a.urgency == Urgency.IMPORTANT for a in smart_actions.values())
    assert "achievable" in s.definitions["SMART check"].lower()
    assert {b.metric: b.reasons for b in s.basis}["KPI scores"] == {"no target": 1}


def test_empty_and_missing_inputs() -> None:
    missing = compute_kpis(None, None, PERIOD)
    assert missing.available is False and missing.note
    empty = compute_kpis(frame("kpis", []), frame("kpi_observations", []), PERIOD)
    assert empty.available and empty.note and not empty.actions
    no_obs = compute_kpis(frame("kpis", [kpi("A")]), None, PERIOD)
    h = {x.key: x.value for x in no_obs.headlines}
    assert h["kpis.on_track.share"] is None and h["kpis.okr_score.mean"] is None
    assert no_obs.kpis[0].status == "not_scored" and no_obs.note
    # no observation in the last 30 days -> the definition is not measurable.
    assert no_obs.smart[0].failing == "measurable"
