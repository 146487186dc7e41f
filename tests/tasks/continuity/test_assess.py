"""Impact through the dependency graph, the readiness score and the drill schedule, on small frames worked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.continuity.assess import (
    assess_readiness,
    compute_impact,
    dependency_graph,
    drill_history,
    plan_schedule,
    previous_drill,
    primary_services,
    real_mttr,
)
from tasks.continuity.scenarios import DrillRun, Outcome, Scenario, ScenarioSet
from tasks.risk_management.register import Contradiction, RiskSection

AS_OF = date(2026, 3, 29)
PERIOD = Period(AS_OF, "UTC")
END = pd.Timestamp("2026-03-30", tz="UTC")


def _services() -> pd.DataFrame:
    # V1 -> a -> b -> c ; d stands alone ; e depends on d.
    return pd.DataFrame(
        {
            "service_id": ["a", "b", "c", "d", "e"],
            "name": ["A", "B", "C", "D", "E"],
            "tier": ["critical", "standard", "critical", "critical", "standard"],
            "owner": ["Team A", "Team B", "Team C", "Team D", "Team E"],
            "depends_on": [None, "a", "b", None, "d"],
            "vendor_ids": ["V1", None, None, None, None],
            "rto_hours": [2.0, 8.0, 10.0, 4.0, 8.0],
            "mtpd_hours": [6.0, 24.0, 8.0, 12.0, None],
            "runbook_url": [None, "wiki/b", "wiki/c", "wiki/d", "wiki/e"],
            "runbook_tested_on": pd.to_datetime([None, "2025-09-10", "2026-03-01", "2026-03-01", "2026-03-01"]),
        }
    ).astype({"service_id": "string", "tier": "string", "depends_on": "string", "vendor_ids": "string"})


def _vendors(backup: str | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vendor_id": ["V1", "V2"],
            "name": ["Vendorco", "Backupco"],
            "owner": ["Val", "Bo"],
            "backup_vendor_id": [backup, None],
        }
    )


def _scenario(**changes: Any) -> Scenario:
    body: dict[str, Any] = {
        "id": "v1-outage",
        "title": "V1 outage",
        "target": {"kind": "vendor", "id": "V1"},
        "duration_hours": 4,
        "expected_response": "Switch.",
        "contacts": [{"name": "Ana", "role": "lead", "phone": "1"}, {"name": "Bob", "role": "deputy"}],
        "steady_state": [{"name": "x", "kind": "file", "path": "f", "max_age_hours": 1}],
    }
    body.update(changes)
    return Scenario.model_validate(body)


def _run(outcome: Outcome = Outcome.PASSED, seconds: float | None = 30.0) -> DrillRun:
    now = datetime(2026, 3, 29, 10, tzinfo=UTC)
    return DrillRun(
        scenario_id="v1-outage",
        outcome=outcome,
        started_at=now,
        ended_at=now,
        recovered=seconds is not None,
        recovery_seconds=seconds,
    )


def _incidents(rows: list[tuple[str, str, str, float | None, str]]) -> pd.DataFrame:
    """(service, severity, opened, hours to resolve, kind)."""
    opened = pd.to_datetime([r[2] for r in rows], utc=True)
    return pd.DataFrame(
        {
            "incident_id": [f"INC{i}" for i in range(len(rows))],
            "service": pd.array([r[0] for r in rows], dtype="string"),
            "severity": pd.array([r[1] for r in rows], dtype="string"),
            "opened_at": opened,
            "resolved_at": [o + pd.Timedelta(hours=h) if h is not None else pd.NaT for o, (*_, h, _k) in
                            zip(opened, rows, strict=True)],
            "kind": pd.array([r[4] for r in rows], dtype="string"),
        }
    ).astype({"resolved_at": "datetime64[ns, UTC]"})  # fmt: skip


def test_graph_and_primary_services() -> None:
    graph = dependency_graph(_services())
    assert set(graph.successors("vendor:V1")) == {"service:a"}
    assert set(graph.successors("service:a")) == {"service:b"}
    assert primary_services(_scenario(), _services(), _vendors()) == ["a"]
    site = _scenario(target={"kind": "site", "id": "hall", "services": ["d"]})
    assert primary_services(site, _services(), _vendors()) == ["d"]
    # A person takes out the services and vendors they own (owner column) plus the listed ones.
    person = _scenario(target={"kind": "person", "id": "Team C", "services": ["e"]})
    assert primary_services(person, _services(), _vendors()) == ["e", "c"]


def test_impact_reaches_descendants_and_checks_sla_budgets() -> None:
    # SLA events: 1,000 uptime checks on a in the 30 days, 5 failed, objective 0.99.
    # error ratio 5/1000 = 0.005; allowed 0.01; consumed 0.5; remaining 0.5;
    # budget minutes left = 0.5 x 0.01 x 30 x 24 x 60 = 216 min. A 4 h outage (240 min) breaks it, 3 h (180) does not.
    times = END - pd.to_timedelta(range(1, 1001), unit="min") * 40
    sla = pd.DataFrame(
        {
            "category": pd.array(["uptime"] * 1000, dtype="string"),
            "service": pd.array(["a"] * 1000, dtype="string"),
            "measured_at": times,
            "measured_value": [None] * 1000,
            "target_value": [None] * 1000,
            "met": pd.array([False] * 5 + [True] * 995, dtype="boolean"),
            "objective": [0.99] * 1000,
        }
    ).astype({"measured_value": "float64", "target_value": "float64"})
    impact = compute_impact(_scenario(), _services(), _vendors(), sla, None, PERIOD)
    assert [r.service for r in impact.services] == ["a", "b", "c"]
    assert [r.path for r in impact.services] == ["V1 -> a", "V1 -> a -> b", "V1 -> a -> b -> c"]
    assert [r.direct for r in impact.services] == [True, False, False]
    # 4 h against RTO/MTPD: a 2/6 (over RTO only), b 8/24 (neither), c 10/8 (neither RTO, nor MTPD).
    assert [(r.outage_over_rto, r.outage_over_mtpd) for r in impact.services] == [
        (True, False),
        (False, False),
        (False, False),
    ]
    [budget] = impact.sla_budgets
    assert budget.budget_minutes_left == pytest.approx(216.0) and budget.outage_minutes == 240 and budget.breaks
    assert impact.services[0].sla_breaks == "uptime"
    shorter = compute_impact(_scenario(duration_hours=3), _services(), _vendors(), sla, None, PERIOD)
    assert not shorter.sla_budgets[0].breaks
    assert impact.note == "No process_events dataset: open orders and cases are not counted."


def test_impact_counts_open_cases_of_processes_on_hit_resources() -> None:
    t = pd.Timestamp("2026-03-29 08:00", tz="UTC")
    h = pd.Timedelta(hours=1)
    events = pd.DataFrame(
        {
            "case_id": ["o1", "o1", "o1", "o2", "o2", "o3", "o3", "o3", "t1"],
            "process": ["order"] * 8 + ["support"],
            "activity": ["receive", "pay", "ship", "receive", "pay", "receive", "pay", "ship", "open"],
            "started_at": [t - 30 * h, t - 29 * h, t - 28 * h, t - 2 * h, t - h, t - 50 * h, t - 49 * h, t - 48 * h, t],
            "ended_at": [t - 29 * h, t - 28 * h, t - 27 * h, t - h, t, t - 49 * h, t - 48 * h, t - 47 * h, t + h],
            "resource": ["web", "Vendorco", "dock", "web", "Vendorco", "web", "Vendorco", "dock", "helpdesk"],
        }
    )
    impact = compute_impact(_scenario(), _services(), _vendors(), None, events, PERIOD)
    # "pay" runs on Vendorco, V1's name: the order process is hit. Its final activity is "ship" (2 of 3 cases end
    # there), so o2 (last activity "pay", 8 h before the end) is the one open case. 3 orders started in 28 days:
    # 3 / (28 x 24) x 4 h = 0.0179 -> 0.0. The support process runs on nothing hit.
    [process] = impact.processes
    assert (process.process, process.touches, process.open_cases) == ("order", "V1", 1)
    assert process.cases_during_outage == pytest.approx(0.0)


def test_real_mttr_uses_real_major_incidents_in_365_days() -> None:
    incidents = _incidents(
        [
            ("a", "SEV1", "2026-03-01", 3.0, "real"),
            ("a", "SEV2", "2026-02-01", 5.0, "real"),
            ("a", "SEV2", "2026-01-01", 1.0, "real"),
            ("a", "SEV4", "2026-03-02", 90.0, "real"),  # minor: not a disruption
            ("a", "SEV1", "2026-03-03", 0.5, "drill"),  # drills never count
            ("a", "SEV1", "2025-01-01", 40.0, "real"),  # before the 365 days
            ("a", "SEV1", "2026-03-28", None, "real"),  # unresolved
        ]
    )
    # Median of 3, 5 and 1 hours = 3.
    assert real_mttr(incidents, PERIOD) == {"a": (3.0, 3)}


def test_readiness_score_by_hand() -> None:
    services = _services()
    incidents = _incidents([("a", "SEV1", "2026-03-01", 3.0, "real"), ("a", "SEV2", "2026-02-01", 5.0, "real")])
    impact = compute_impact(_scenario(), services, _vendors(), None, None, PERIOD)
    readiness = assess_readiness(_scenario(), _run(), impact, services, _vendors(), incidents, PERIOD)
    # a (critical): no runbook -10; b (standard): tested 2025-09-10, 200 days before as_of -3;
    # c (critical): RTO 10 > MTPD 8 -8; V1 has no backup vendor -15; Bob has no phone or email -3;
    # a's real MTTR median (3 + 5) / 2 = 4 h > RTO 2 h while the drill recovered in 30 s -10.
    # 100 - 10 - 3 - 8 - 15 - 3 - 10 = 51.
    assert [(f.check, f.subject, f.points) for f in readiness.findings] == [
        ("runbook_missing", "a", 10),
        ("runbook_stale", "b", 3),
        ("rto_over_mtpd", "c", 8),
        ("backup_vendor", "V1", 15),
        ("contact_unreachable", "Bob", 3),
        ("real_mttr_over_rto", "a", 10),
    ]
    assert readiness.score == 51
    [recovery] = readiness.recovery
    assert recovery.plan_contradicted and recovery.real_mttr_median_hours == 4.0 and recovery.drill_within_rto
    assert "passes drills while real incidents breach" in readiness.findings[-1].detail
    assert {a.owner for a in readiness.actions} >= {"Team A", "Val"}

    # A qualified backup (V2 is in vendors) removes the 15 points: 66. One not in vendors keeps them.
    assert assess_readiness(_scenario(), _run(), impact, services, _vendors("V2"), incidents, PERIOD).score == 66
    assert assess_readiness(_scenario(), _run(), impact, services, _vendors("V9"), incidents, PERIOD).score == 51


def test_readiness_costs_of_the_drill_itself() -> None:
    services = _services().assign(runbook_url="wiki", runbook_tested_on=pd.Timestamp("2026-03-01"), mtpd_hours=99.0)
    scenario = _scenario(contacts=[], target={"kind": "service", "id": "d"})
    impact = compute_impact(scenario, services, _vendors(), None, None, PERIOD)
    # d and e hit; every service check passes. No contacts -10.
    assert assess_readiness(scenario, _run(), impact, services, None, None, PERIOD).score == 90
    # Recovered in 5 h against d's RTO of 4 h: -15 more -> 75.
    assert assess_readiness(scenario, _run(seconds=5 * 3600), impact, services, None, None, PERIOD).score == 75
    # Not recovered: -25 -> 65 (the real MTTR is unknown: no incidents, no points).
    failed = _run(Outcome.FAILED, None)
    failed.recovered = False
    assert assess_readiness(scenario, failed, impact, services, None, None, PERIOD).score == 65
    # Steady state did not hold: -20 -> 70.
    aborted = _run(Outcome.ABORTED, None)
    aborted.recovered = None
    assert assess_readiness(scenario, aborted, impact, services, None, None, PERIOD).score == 70


def test_each_check_costs_at_most_20_points() -> None:
    services = _services().assign(runbook_url=None, tier="critical")
    impact = compute_impact(_scenario(), services, _vendors("V2"), None, None, PERIOD)
    readiness = assess_readiness(_scenario(contacts=[{"name": "A", "role": "r", "email": "a@x"}]), _run(), impact,
                                 services, _vendors("V2"), None, PERIOD)  # fmt: skip
    # a, b, c hit, all critical without a runbook: 10 + 10 + 0 (capped at 20); c RTO > MTPD -8. 100 - 28 = 72.
    assert [f.points for f in readiness.findings if f.check == "runbook_missing"] == [10, 10, 0]
    assert readiness.score == 72


def _store(tmp_path: Path) -> HistoryStore:
    return HistoryStore(f"sqlite:///{tmp_path / 'history.db'}")


def _save(store: HistoryStore, scenario: str, day: date, outcome: str, services: list[str], score: float) -> None:
    payload = {"scenario_id": scenario, "outcome": outcome, "primary_services": services}
    store.save_run("contingency-drill", f"{scenario}-{day}", day, {"drill.readiness_score": score}, payload)


def test_schedule_picks_residual_risk_times_days_since_exercised(tmp_path: Path) -> None:
    s1 = _scenario(id="s1")  # vendor V1 -> service a
    s2 = _scenario(id="s2", target={"kind": "service", "id": "c"})
    s3 = _scenario(id="s3", target={"kind": "service", "id": "d"}, cycle_days=30)
    risks = pd.DataFrame(
        {
            "risk_id": ["R1", "R2", "R3", "R4"],
            "likelihood": pd.array([3, 2, 5, 5], dtype="Int64"),
            "impact": pd.array([4, 5, 5, 5], dtype="Int64"),
            "status": ["open", "mitigating", "closed", "open"],
            "linked_service": [None, "c", "d", "b"],
            "linked_vendor": ["V1", None, None, None],
        }
    )
    incidents = _incidents([("a", "SEV3", "2025-12-19 09:00", 1.0, "drill")])
    store = _store(tmp_path)
    _save(store, "s2", AS_OF - timedelta(days=30), "passed", ["c"], 80)
    _save(store, "s3", AS_OF - timedelta(days=10), "aborted", ["d"], 60)  # aborted: not an exercise
    schedule = plan_schedule(ScenarioSet(scenarios=[s1, s2, s3]), None, _services(), _vendors(), risks, None,
                             incidents, store, PERIOD, 90)  # fmt: skip
    # Never exercised is the stalest: s1 (R1 on V1, 3 x 4 = 12) and s3 (R3 on d is closed -> 1; its aborted run is
    # not an exercise) come before every exercised scenario, the riskier first; then s2 (R2 on c, 2 x 5 = 10,
    # exercised 30 days ago: 300).
    assert [(c.scenario, c.residual_risk, c.days_since, c.priority) for c in schedule.candidates] == [
        ("s1", 12, None, None),
        ("s3", 1, None, None),
        ("s2", 10, 30, 300),
    ]
    assert schedule.candidates[0].reason == "never exercised: the stalest there is; residual risk 12 (R1)"
    assert schedule.candidates[2].reason == "residual risk 10 (R2) x 30 days since exercised = 300"
    assert schedule.note == "Chosen: s1 (never exercised: the stalest there is; residual risk 12 (R1))."
    assert schedule.chosen == "s1" and schedule.candidates[0].chosen
    # Critical services a, c, d: a drilled 100 days ago (drill incident), c 30 days ago (drill run), d never.
    cov = {c.service: (c.days_since, c.overdue) for c in schedule.coverage}
    assert cov == {"a": (100, True), "c": (30, False), "d": (None, True)}
    assert [c.service for c in schedule.coverage] == ["d", "a", "c"], "never drilled first, then the oldest"
    [never, old] = [a for a in schedule.actions if a.kind == "drill_overdue"]
    assert never.urgency == "urgent" and "never drilled" in never.text and old.urgency == "important"
    # The risk section's evidence can raise a contradicted rating: R2 suggested 4 x 5 = 20 -> s2 20 x 30 = 600.
    rerated = Contradiction(
        risk_id="R2", title="t", rated_likelihood=2, impact=5, evidence="e", suggested_likelihood=4, suggested_score=20
    )
    evidence = RiskSection(contradictions=[rerated])
    raised = plan_schedule(ScenarioSet(scenarios=[s1, s2, s3]), "s3", _services(), _vendors(), risks, evidence,
                           incidents, store, PERIOD, 90)  # fmt: skip
    assert [(c.scenario, c.priority) for c in raised.candidates] == [("s1", None), ("s3", None), ("s2", 600)]
    assert raised.chosen == "s3", "a requested scenario runs whatever its priority"
    store.close()


def test_history_and_previous_run_of_the_same_scenario(tmp_path: Path) -> None:
    store = _store(tmp_path)
    _save(store, "s1", AS_OF - timedelta(days=60), "passed", ["a"], 55)
    _save(store, "s2", AS_OF - timedelta(days=20), "passed", ["c"], 80)
    _save(store, "s1", AS_OF, "failed", ["a"], 40)  # an earlier run today: this run replaces it
    previous = previous_drill(store, "s1", AS_OF)
    assert previous is not None and previous.headlines["drill.readiness_score"] == 55
    section = drill_history(store, "s1", AS_OF, {"drill.readiness_score": 70.0}, "passed")
    assert [(d.as_of, d.scenario, d.readiness_score) for d in section.drills] == [
        (AS_OF, "s1", 70.0),
        (AS_OF - timedelta(days=20), "s2", 80),
        (AS_OF - timedelta(days=60), "s1", 55),
    ]
    assert section.headlines[0].value == 2
    store.close()


def test_a_never_drilled_urgent_scenario_runs_before_a_long_stale_one(tmp_path: Path) -> None:
    # s1 (risk 12) was exercised 400 days ago: 12 x 400 = 4,800 under the old rule it would beat anything never
    # drilled that counted as 90 days; s2 (R2, 2 x 5 = 10) was never drilled: it is the stalest, so it runs first.
    s1 = _scenario(id="s1")
    s2 = _scenario(id="s2", target={"kind": "service", "id": "c"})
    risks = pd.DataFrame(
        {
            "risk_id": ["R1", "R2"],
            "likelihood": pd.array([3, 2], dtype="Int64"),
            "impact": pd.array([4, 5], dtype="Int64"),
            "status": ["open", "open"],
            "linked_service": [None, "c"],
            "linked_vendor": ["V1", None],
        }
    )
    store = _store(tmp_path)
    _save(store, "s1", AS_OF - timedelta(days=400), "passed", ["a"], 90)
    schedule = plan_schedule(ScenarioSet(scenarios=[s1, s2]), None, _services(), _vendors(), risks, None,
                             None, store, PERIOD, 90)  # fmt: skip
    assert [c.scenario for c in schedule.candidates] == ["s2", "s1"] and schedule.chosen == "s2"
    assert schedule.candidates[1].priority == 12 * 400
    store.close()
