"""Problem -> solution -> metrics: matching the challenge to the data, the process analysis, targets, SMART, plan."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from opsflow.period import Period
from tasks.coo.router import Figure, route_with_rules
from tasks.coo.solution import (
    DEFAULT_IMPROVEMENT,
    MetricSpec,
    action_plan,
    analyse_process,
    kpis_to_register,
    match_name,
    router_section,
    smart_metrics,
    target_for,
)
from tasks.process_optimization.mining import compute_processes

AS_OF = date(2026, 3, 29)  # a Sunday
PERIOD = Period(AS_OF, "UTC")


def _events() -> pd.DataFrame:
    # Two orders completed on 25 March (times in hours after midnight UTC):
    #   A: pick 0-1, pack 5-6, ship 7-8 -> lead 8 h; waits: pack 4, ship 1
    #   B: pick 0-1, pack 3-4, ship 4-5 -> lead 5 h; waits: pack 2, ship 0
    # p50 lead = (5 + 8) / 2 = 6.5 h; bottleneck pack: total wait 6 h, mean 3 h, share 6 / 7 = 85.7%.
    rows = [
        ("A", "pick", 0, 1, "picker-1"), ("A", "pack", 5, 6, "packer-1"), ("A", "ship", 7, 8, "dock"),
        ("B", "pick", 0, 1, "picker-2"), ("B", "pack", 3, 4, "packer-1"), ("B", "ship", 4, 5, "dock"),
    ]  # fmt: skip
    day = pd.Timestamp("2026-03-25", tz="UTC")
    return pd.DataFrame(
        {
            "case_id": pd.array([r[0] for r in rows], dtype="string"),
            "process": pd.array(["order_fulfilment"] * len(rows), dtype="string"),
            "activity": pd.array([r[1] for r in rows], dtype="string"),
            "started_at": [day + pd.Timedelta(hours=r[2]) for r in rows],
            "ended_at": [day + pd.Timedelta(hours=r[3]) for r in rows],
            "resource": pd.array([r[4] for r in rows], dtype="string"),
        }
    )


def test_match_name_handles_spelling_and_partial_names() -> None:
    names = ["order_fulfilment", "returns", "customer_support"]
    assert match_name("reduce order fulfillment time from 48 hours to 24", names) == "order_fulfilment"
    assert match_name("our return process is slow", names) == "returns"
    assert match_name("support tickets wait too long", names) == "customer_support"  # 1 of 2 words: half
    assert match_name("Vendor X contract renews in 60 days", names) is None


def test_process_analysis_finds_the_bottleneck_and_plans_around_it() -> None:
    events = _events()
    section = compute_processes(events, PERIOD)
    decision = route_with_rules("order fulfillment takes 8 hours, we need 4")
    analysis = analyse_process(decision, section, events, PERIOD, "Head of Fulfilment")
    out = analysis.section
    assert out.subject == "order_fulfilment"
    findings = {f.finding: f.value for f in out.findings}
    assert findings["Median lead time (p50)"].startswith("6.5 h over 2 cases")
    assert findings["Stated vs measured"] == "the challenge says 8 hours; the data's median is 6.5 h"
    assert findings["Bottleneck"].startswith("pack: 3.0 h mean wait before it, 86% of all waiting")
    # Every step takes 1 h: below a quarter of the 6.5 h median, so no "longest step"; no repeats, so no rework step.
    assert "Longest step" not in findings
    steps = analysis.steps
    assert [s.source for s in steps] == ["processes.order_fulfilment.lead_p50_hours",
                                         "process order_fulfilment activity pack"]  # fmt: skip
    assert steps[1].owner == "packer-1", "packer-1 did both packs (100% >= 50%): named from the data"
    assert steps[0].owner == "Head of Fulfilment" and steps[0].due == AS_OF + timedelta(days=7)

    smart = smart_metrics(decision, analysis, PERIOD, "Head of Fulfilment", None)
    [lead] = smart.metrics  # rework rate 0: no rework metric
    assert (lead.metric_key, lead.baseline, lead.target) == ("processes.order_fulfilment.lead_p50_hours", 6.5, 4.0)
    assert lead.target_basis == "the challenge: 4 hours" and lead.deadline == AS_OF + timedelta(days=90)
    assert lead.change_needed == round((4 - 6.5) / 6.5, 4)  # -38.5%
    [kpi] = kpis_to_register(smart, PERIOD)
    assert kpi.kpi_id == "PSM-processes-order-fulfilment-lead-p50-hours" and kpi.direction == "decrease"
    assert kpi.baseline == 6.5 and kpi.baseline_date == AS_OF and kpi.source_flow == "problem-solution-metrics"

    plan = action_plan(analysis, smart, PERIOD, "Head of Fulfilment")
    assert [a.text[:3] for a in plan.actions] == ["1. ", "2. ", "3. "]
    assert "from 6.5 h to 4 h by 2026-06-27" in plan.actions[-1].text


def test_targets_convert_units_or_fall_back_to_the_default() -> None:
    hours = MetricSpec(name="lead", key="k", unit="hours", direction="decrease", baseline=48.0, primary=True)
    decision = route_with_rules("fulfilment lead time is 2 days, target 1 day")
    assert target_for(hours, decision) == (24.0, "the challenge: 1 days")  # 1 day = 24 h
    by = route_with_rules("reduce fulfilment lead time by 30%")
    assert target_for(hours, by) == (33.6, "the challenge: 30% lower")  # 48 x 0.7
    none = route_with_rules("fulfilment is too slow")
    value, basis = target_for(hours, none)
    assert value == 48.0 * (1 - DEFAULT_IMPROVEMENT) == 36.0 and basis.startswith("default: 25% better")
    ratio = MetricSpec(name="sla", key="k", unit="ratio", direction="increase", baseline=0.92, primary=True)
    decision = route_with_rules("Achieve 97% SLA compliance")
    assert target_for(ratio, decision)[0] == 0.97
    # A secondary metric ignores the challenge's figures.
    secondary = hours.model_copy(update={"primary": False})
    assert target_for(secondary, route_with_rules("we need 24 hours"))[0] == 36.0


def test_router_section_lists_reasons_and_questions_as_actions() -> None:
    decision = route_with_rules("order fulfilment takes 48 hours, we need 24").model_copy(
        update={"figures": [Figure(role="current", value=48, unit="hours")]}
    )
    section = router_section(decision, owner="Ops")
    assert section.reasons[0].text == decision.reasons[0]
    assert all(a.text.startswith("Ask: ") and a.owner == "Ops" for a in section.actions)
    assert section.note == "Process optimization, chosen by the keyword rules."
