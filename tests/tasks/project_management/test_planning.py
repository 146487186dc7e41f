"""The initiative model, the sample initiative, risk mapping, mitigation insertion and success KPIs."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsflow.sample.initiative import write_sample_initiative
from tasks.project_management.planning import (
    MITIGATION_FACTOR,
    Initiative,
    InitiativeError,
    InitiativeRisk,
    _touched,
    build_plan,
    initiative_risk,
    load_initiative,
    success_kpis,
)
from tasks.project_management.schedule import Simulation, critical_path
from tasks.risk_management.scoring import RatedRisk, Treatment

AS_OF = date(2026, 3, 29)


def _initiative(**kw: Any) -> Initiative:
    raw: dict[str, Any] = {
        "name": "Pack line",
        "objective": "Faster packing",
        "deadline_days": 30,
        "touches": {"services": ["s1", "s9"], "vendors": []},
        "work_packages": [
            {"id": "A", "name": "design", "optimistic": 2, "likely": 3, "pessimistic": 5},
            {"id": "B", "name": "build", "optimistic": 5, "likely": 8, "pessimistic": 12, "depends_on": ["A"],
             "services": ["s1"]},
            {"id": "C", "name": "test", "optimistic": 2, "likely": 3, "pessimistic": 4, "depends_on": ["B"],
             "services": ["s1"]},
            {"id": "D", "name": "docs", "optimistic": 1, "likely": 2, "pessimistic": 3, "depends_on": ["A"]},
        ],
    }  # fmt: skip
    raw.update(kw)
    return Initiative.model_validate(raw)


def _rated(likelihood: int, impact: int, treatment: Treatment, **kw: Any) -> RatedRisk:
    return RatedRisk(
        risk_id=kw.pop("risk_id", "R1"), title="risk", category="technology", source="register", status="open",
        rated_likelihood=likelihood, likelihood=likelihood, impact=impact, rated_score=likelihood * impact,
        score=likelihood * impact, treatment=treatment, **kw,
    )  # fmt: skip


def test_sample_initiative_is_valid_and_tells_the_story(tmp_path: Path) -> None:
    path = write_sample_initiative(tmp_path)
    assert path == tmp_path / "initiatives" / "warehouse-automation.yaml"
    initiative = load_initiative(path)
    assert initiative.name == "Warehouse automation"
    assert 8 <= len(initiative.work_packages) <= 12
    assert {"wms", "shipping-label"} <= set(initiative.services) and "V-1001" in initiative.vendors
    # Relative dates: work starts the day after as_of and has deadline_days calendar days, start day included.
    assert initiative.start_on(AS_OF) == date(2026, 3, 30)
    assert (initiative.deadline_on(AS_OF) - initiative.start_on(AS_OF)).days + 1 == initiative.deadline_days


def test_dates_and_slug() -> None:
    i = _initiative(start="2026-06-01", deadline="2026-06-30", deadline_days=None)
    assert i.start_on(AS_OF) == date(2026, 6, 1) and i.deadline_on(AS_OF) == date(2026, 6, 30)
    assert i.slug == "pack-line"
    assert i.services == ["s1", "s9"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"work_packages": [{"id": "A", "name": "a", "optimistic": 1, "likely": 1, "pessimistic": 1,
                             "depends_on": ["B"]},
                            {"id": "B", "name": "b", "optimistic": 1, "likely": 1, "pessimistic": 1,
                             "depends_on": ["A"]}]}, "cycle"),
        ({"work_packages": [{"id": "A", "name": "a", "optimistic": 5, "likely": 3, "pessimistic": 9}]},
         "optimistic <= likely <= pessimistic"),
        ({"deadline_days": None}, "give a deadline"),
        ({"work_packages": [{"id": "A", "name": "a", "optimistic": 1, "likely": 1, "pessimistic": 1,
                             "depends_on": ["Z"]}]}, "not a work package"),
    ],
)  # fmt: skip
def test_bad_initiative_files_are_one_line_errors(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    raw = _initiative().model_dump(mode="json", exclude_none=True)
    raw.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({k: v for k, v in raw.items() if v is not None}), encoding="utf-8")
    with pytest.raises(InitiativeError, match=message) as raised:
        load_initiative(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InitiativeError, match="no such initiative file"):
        load_initiative(tmp_path / "absent.yaml")
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(InitiativeError, match="not valid YAML"):
        load_initiative(bad)


def test_probability_and_delay_scales_with_treatments() -> None:
    # Likelihood 3 -> 35%, impact 4 -> 14 days. Mitigate halves the probability; transfer halves the delay; avoid
    # removes the risk; accept changes nothing.
    mitigated = initiative_risk(_rated(3, 4, Treatment.MITIGATE), "s1", ["B"])
    assert (mitigated.probability, mitigated.probability_treated) == (0.35, 0.35 * MITIGATION_FACTOR)
    assert (mitigated.delay_days, mitigated.delay_treated_days) == (14, 14)
    transferred = initiative_risk(_rated(3, 4, Treatment.TRANSFER), "V1", ["B"])
    assert (transferred.probability_treated, transferred.delay_treated_days) == (0.35, 7)
    assert initiative_risk(_rated(5, 5, Treatment.AVOID), "s1", ["B"]).probability_treated == 0
    accepted = initiative_risk(_rated(1, 1, Treatment.ACCEPT), "s1", ["B"])
    assert (accepted.probability_treated, accepted.delay_treated_days) == (0.05, 1)


def test_touched_work_packages() -> None:
    i = _initiative()
    assert _touched(_rated(3, 4, Treatment.MITIGATE, linked_service="s1"), i) == ("s1", ["B", "C"])
    # s9 is named by the initiative but by no work package: it can delay the last packages (C and D).
    assert _touched(_rated(3, 4, Treatment.MITIGATE, linked_service="s9"), i) == ("s9", ["C", "D"])
    assert _touched(_rated(3, 4, Treatment.MITIGATE, linked_service="other"), i) is None


def test_mitigation_tasks_are_inserted_before_the_work_they_protect() -> None:
    i = _initiative()
    mitigate = initiative_risk(_rated(3, 5, Treatment.MITIGATE, risk_id="R1"), "s1", ["B", "C"])
    accept = initiative_risk(_rated(2, 2, Treatment.ACCEPT, risk_id="R2"), "s1", ["C"])
    plan = build_plan(i, [mitigate, accept])
    tasks = {t.id: t for t in plan.tasks}
    assert tasks["M-R1"].kind == "mitigation" and tasks["M-R1"].depends_on == []
    assert (tasks["M-R1"].optimistic, tasks["M-R1"].likely, tasks["M-R1"].pessimistic) == (3, 5, 10)
    assert "M-R1" in tasks["B"].depends_on and "M-R1" in tasks["C"].depends_on
    assert "M-R2" not in tasks, "accepted risks get no task"
    assert [r.mitigation_task for r in plan.risks] == ["M-R1", None]
    assert mitigate.mitigation_task is None, "the caller's risks are not changed"
    # The untreated plan has neither the task nor the reduced probability.
    assert "M-R1" not in {t.id for t in plan.untreated_tasks}
    assert [e.probability for e in plan.events] == [0.175, 0.15]
    assert [e.probability for e in plan.untreated_events] == [0.35, 0.15]
    # B waits for A and the mitigation, both from day 0: A expected (2 + 12 + 5)/6 = 3.17 < M (3 + 20 + 10)/6 = 5.5,
    # so B starts at 5.5 and M is on the critical path.
    cpm = {r.id: r for r in critical_path(plan.tasks).rows}
    assert cpm["B"].early_start == 5.5 and cpm["M-R1"].critical


def _sim(p_on_time: float) -> Simulation:
    return Simulation(
        iterations=10_000, seed=1, p50_days=20, p80_days=25, p95_days=30, mean_days=21, deadline_days=30,
        on_time_probability=p_on_time, criticality={}, risk_p80_slip={}, risk_hit_rate={},
    )  # fmt: skip


def test_success_kpis() -> None:
    i = _initiative(
        owner="Lukas",
        success_metrics=[
            {"metric_key": "processes.order_fulfilment.lead_p50_hours", "name": "Lead time", "direction": "decrease",
             "target_change": -0.25},
            {"metric_key": "sla.shipping.compliance", "name": "Shipping SLA", "direction": "increase", "target": 0.97},
            {"metric_key": "processes.unknown.lead_p50_hours", "name": "Nothing", "direction": "decrease",
             "target": 1},
        ],
    )  # fmt: skip
    figures = {"processes.order_fulfilment.lead_p50_hours": 40.0, "sla.shipping.compliance": 0.93}
    kpis, section = success_kpis(i, _sim(0.42), figures, AS_OF)
    by_id = {k.kpi_id: k for k in kpis}
    on_time = by_id["RAP-pack-line-on-time"]
    assert on_time.metric_key is None and on_time.baseline == 0.42 and on_time.target == 0.8
    assert on_time.deadline == date(2026, 4, 28)  # start 30 March + 30 days - 1
    lead = by_id["RAP-pack-line-processes-order-fulfilment-lead-p50-hours"]
    # 40 h x (1 - 0.25) = 30 h, due 60 days after the deadline.
    assert lead.baseline == 40 and lead.target == 30 and lead.deadline == date(2026, 6, 27)
    assert by_id["RAP-pack-line-sla-shipping-compliance"].target == 0.97
    assert len(kpis) == 3, "a metric without a value this week is not registered"
    assert [m.registered for m in section.metrics] == [True, True, True, False]
    assert "processes.unknown.lead_p50_hours" in (section.note or "")


def test_initiative_risk_is_a_table_row() -> None:
    row = initiative_risk(_rated(3, 4, Treatment.TRANSFER, backup_vendor="V9"), "V1", ["B"])
    assert isinstance(row, InitiativeRisk) and row.backup_vendor == "V9" and row.touches == "B"


def test_direction_words_match_the_sign_of_the_p80_change() -> None:
    from tasks.project_management.planning import treatment_effect

    # Untreated P80 at 163.3 days, treated at 100.0: the finish moves 63.3 days earlier, said as "earlier", not +63.3.
    assert treatment_effect(163.3, 100.0) == (
        "bring the P80 finish 63.3 days earlier against an untreated plan (163.3 days to the P80 finish)"
    )
    # Treated at 105.5 against 100: 5.5 days later.
    assert treatment_effect(100.0, 105.5).startswith("push the P80 finish 5.5 days later against an untreated plan")
    assert treatment_effect(80.0, 80.0).startswith("leave the P80 finish where it is")
