"""The SLA compliance section on small hand-checked event logs."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from opsflow.findings import Urgency
from opsflow.period import Period
from tasks.service_levels.slo import SlaSection, compute_sla
from tests.helpers import frame

# Week [2026-03-02, 2026-03-09) UTC; previous week [2026-02-23, 2026-03-02); 30 days from 2026-02-07;
# 13 weeks from 2025-12-08.
PERIOD = Period(date(2026, 3, 8))


def flags(category: str, service: str, objective: float, when: str, events: int, failed: int) -> list[dict[str, Any]]:
    """`events` rows carrying the met flag at `when`, the first `failed` of them not met."""
    return [
        dict(category=category, service=service, objective=objective, measured_at=when, met=i >= failed)
        for i in range(events)
    ]


def headline(section: SlaSection, key: str) -> float | None:
    return next(h.value for h in section.headlines if h.key == key)


def compliance_log() -> list[dict[str, Any]]:
    ship = dict(category="shipping", service="wh1", objective=0.95)
    return [
        # wh1 this week: 6 met by flag, 1 met by flag although measured late (the flag wins), 1 missed by flag,
        # 1 measured late (50 > 48), 1 measured on time (40 <= 48), 1 with neither (left out).
        *flags("shipping", "wh1", 0.95, "2026-03-03 10:00", 6, 0),
        {**ship, "measured_at": "2026-03-03 11:00", "met": True, "measured_value": 60.0, "target_value": 48.0},
        {**ship, "measured_at": "2026-03-04 11:00", "met": False},
        {**ship, "measured_at": "2026-03-05 11:00", "measured_value": 50.0, "target_value": 48.0},
        {**ship, "measured_at": "2026-03-06 11:00", "measured_value": 40.0, "target_value": 48.0},
        {**ship, "measured_at": "2026-03-06 12:00", "measured_value": 40.0},
        # wh1 previous week: 5 of 5 met.
        *flags("shipping", "wh1", 0.95, "2026-02-25 10:00", 5, 0),
        # wh2 this week: 10 of 10 met; objective 0.9 on 7 rows and 0.8 on 3 -> 0.9 in force.
        *flags("shipping", "wh2", 0.9, "2026-03-04 09:00", 7, 0),
        *flags("shipping", "wh2", 0.8, "2026-03-05 09:00", 3, 0),
        # returns: nothing this week, 2 of 2 met the week before.
        *flags("returns", "r1", 0.99, "2026-02-26 09:00", 2, 0),
    ]


def test_weekly_compliance_by_service_category_and_overall() -> None:
    section = compute_sla(frame("sla_events", compliance_log()), PERIOD)
    pairs = {(r.category, r.service): r for r in section.by_service}

    wh1 = pairs[("shipping", "wh1")]
    # 10 usable events, met 6 + 1 + 1 = 8 -> 0.8 < 0.95; previous 5/5 = 1.0 -> change -0.2.
    assert (wh1.events, wh1.met, wh1.compliance, wh1.objective) == (10, 8, pytest.approx(0.8), 0.95)
    assert wh1.meets_objective is False
    assert (wh1.previous_compliance, wh1.change) == (1.0, pytest.approx(-0.2))
    wh2 = pairs[("shipping", "wh2")]
    assert (wh2.events, wh2.compliance, wh2.objective, wh2.meets_objective) == (10, 1.0, 0.9, True)
    r1 = pairs[("returns", "r1")]
    assert (r1.events, r1.compliance, r1.meets_objective, r1.previous_compliance) == (0, None, None, 1.0)

    categories = {r.category: r for r in section.by_category}
    # shipping: 18 of 20 -> 0.9; objective in force: 0.95 on 11 rows (the unusable one counts: it states the
    # objective), 0.9 on 7, 0.8 on 3 -> 0.95.
    shipping = categories["shipping"]
    assert (shipping.events, shipping.met, shipping.compliance, shipping.objective) == (20, 18, 0.9, 0.95)
    assert categories["returns"].compliance is None
    # Overall: 18/20 = 0.9; previous week 5 + 2 = 7 of 7 -> 1.0; change -0.1.
    overall = categories["all categories"]
    assert (overall.compliance, overall.previous_compliance, overall.change) == (
        0.9,
        1.0,
        pytest.approx(-0.1),
    )
    assert headline(section, "sla.week.compliance") == pytest.approx(0.9)
    assert headline(section, "sla.shipping.compliance") == pytest.approx(0.9)
    assert headline(section, "sla.returns.compliance") is None
    assert section.note and "returns" in section.note

    week_basis = next(b for b in section.basis if b.metric == "sla.week.compliance")
    assert (week_basis.rows_used, week_basis.rows_excluded) == (20, 1)
    assert week_basis.reasons == {"no met flag and no measured/target value": 1}


def test_events_after_as_of_are_ignored() -> None:
    log = compliance_log()
    later = log + [
        *flags("shipping", "wh1", 0.95, "2026-03-09 00:00", 4, 4),
        *flags("returns", "r1", 0.99, "2026-03-20 00:00", 3, 3),
    ]
    at_end = compute_sla(frame("sla_events", log), PERIOD).model_dump()
    from_later = compute_sla(frame("sla_events", later), PERIOD).model_dump()
    after = [b for b in from_later["basis"] if b["metric"] == "sla (all figures)"]
    assert after[0]["reasons"] == {"measured at or after period end": 7}
    from_later["basis"].remove(after[0])
    assert from_later == at_end


def budget_log() -> list[dict[str, Any]]:
    earlier = "2026-02-15 12:00"  # in the 30 days, before the week
    week = "2026-03-05 12:00"
    return [
        # uptime/api, a = 0.1: e30 = 5/100 = 0.05 -> consumed 0.5, remaining 0.5; e7 = 2/20 -> burn 1.0
        # -> healthy; runs out in 0.5 * 30 / 1 = 15 days -> 2026-03-23.
        *flags("uptime", "api", 0.9, earlier, 80, 3),
        *flags("uptime", "api", 0.9, week, 20, 2),
        # uptime/db, a = 0.1: e30 = 3/20 = 0.15 -> consumed 1.5, remaining -0.5 -> exhausted.
        *flags("uptime", "db", 0.9, earlier, 10, 0),
        *flags("uptime", "db", 0.9, week, 10, 3),
        # uptime/web, a = 0.2: e30 = 3/40 = 0.075 -> consumed 0.375, remaining 0.625; e7 = 0.3 -> burn 1.5
        # -> attention; runs out in 0.625 * 30 / 1.5 = 12.5 days -> 2026-03-21.
        *flags("uptime", "web", 0.8, earlier, 30, 0),
        *flags("uptime", "web", 0.8, week, 10, 3),
        # orders/api, a = 0.1: e30 = 2/40 = 0.05 -> remaining 0.5; e7 = 0.2 -> burn 2.0 -> at risk;
        # runs out in 0.5 * 30 / 2 = 7.5 days -> 2026-03-16.
        *flags("orders", "api", 0.9, earlier, 30, 0),
        *flags("orders", "api", 0.9, week, 10, 2),
        # orders/web, a = 0.05: e30 = 7/200 = 0.035 -> consumed 0.7, remaining 0.3; e7 = 3/40 = 0.075 -> burn 1.5
        # -> attention, but runs out in 0.3 * 30 / 1.5 = 6 days (2026-03-14): within the next 7 days.
        *flags("orders", "web", 0.95, earlier, 160, 4),
        *flags("orders", "web", 0.95, week, 40, 3),
        # orders/db, objective 1.0 (a = 0): one failure exhausts it, no ratio to a budget of zero.
        *flags("orders", "db", 1.0, week, 5, 1),
        # orders/edge, objective 1.0 and no failure: healthy, burn 0, never runs out.
        *flags("orders", "edge", 1.0, week, 5, 0),
    ]


def test_error_budget_bands_run_out_dates_and_actions() -> None:
    services = frame(
        "services",
        [
            dict(service_id="api", name="API", tier="critical", owner="platform"),
            dict(service_id="web", name="Web", tier="standard", owner="web-team"),
        ],
    )
    section = compute_sla(frame("sla_events", budget_log()), PERIOD, services)
    budgets = {(b.category, b.service): b for b in section.error_budgets}

    api = budgets[("uptime", "api")]
    assert (api.budget_consumed, api.budget_remaining, api.burn_rate) == (0.5, 0.5, 1.0)
    assert (api.status, api.runs_out, api.runs_out_in_days, api.at_risk_next_week) == (
        "healthy",
        "2026-03-23",
        15.0,
        False,
    )
    db = budgets[("uptime", "db")]
    assert (db.budget_remaining, db.burn_rate, db.status, db.runs_out) == (-0.5, 3.0, "exhausted", "exhausted")
    web = budgets[("uptime", "web")]
    assert (web.budget_remaining, web.burn_rate, web.status, web.runs_out) == (0.625, 1.5, "attention", "2026-03-21")
    assert web.at_risk_next_week is False
    orders_api = budgets[("orders", "api")]
    assert (orders_api.budget_remaining, orders_api.burn_rate, orders_api.status) == (0.5, 2.0, "at risk")
    assert orders_api.runs_out == "2026-03-16"
    orders_web = budgets[("orders", "web")]
    assert (orders_web.budget_remaining, orders_web.burn_rate, orders_web.status) == (0.3, 1.5, "attention")
    assert (orders_web.runs_out_in_days, orders_web.runs_out, orders_web.at_risk_next_week) == (
        pytest.approx(6.0),
        "2026-03-14",
        True,
    )
    strict = budgets[("orders", "db")]
    assert (strict.allowed_error_ratio, strict.status, strict.runs_out) == (0.0, "exhausted", "exhausted")
    assert (strict.budget_consumed, strict.burn_rate) == (None, None)
    edge = budgets[("orders", "edge")]
    assert (edge.status, edge.budget_remaining, edge.burn_rate, edge.runs_out) == (
        "healthy",
        1.0,
        0.0,
        "not at this rate",
    )

    # At risk next week: uptime/db, orders/api, orders/web, orders/db.
    assert headline(section, "sla.error_budget.at_risk") == 4
    actions = {a.source: a for a in section.actions}
    assert set(actions) == {"sla uptime/db", "sla orders/api", "sla orders/web", "sla orders/db"}
    # SLO status: uptime/db and orders/db exhausted -> breached; orders/web runs out in 6 days -> breach imminent;
    # orders/api (at risk, but runs out in 7.5 days, after the 7) -> ok, its budget low is important, not urgent.
    statuses = {(b.category, b.service): b.slo_status for b in section.error_budgets}
    assert statuses == {("uptime", "api"): "ok", ("uptime", "db"): "breached", ("uptime", "web"): "ok",
                        ("orders", "api"): "ok", ("orders", "web"): "breach imminent",
                        ("orders", "db"): "breached", ("orders", "edge"): "ok"}  # fmt: skip
    kinds = {src: (a.kind, a.urgency) for src, a in actions.items()}
    assert kinds == {"sla uptime/db": ("sla_breached", Urgency.URGENT),
                     "sla orders/db": ("sla_breached", Urgency.URGENT),
                     "sla orders/web": ("sla_breach_imminent", Urgency.URGENT),
                     "sla orders/api": ("sla_budget_low", Urgency.IMPORTANT)}  # fmt: skip
    assert actions["sla uptime/db"].text.startswith("SLA breached on uptime / db: error budget exhausted (150%")
    assert (headline(section, "sla.breached"), headline(section, "sla.breach_imminent")) == (2, 1)
    assert (actions["sla orders/api"].owner, actions["sla orders/api"].due) == ("platform", date(2026, 3, 16))
    assert actions["sla orders/web"].owner == "web-team"
    assert actions["sla orders/db"].owner is None


def test_thirteen_week_trend() -> None:
    log = [
        *flags("shipping", "wh1", 0.95, "2025-12-07 23:00", 3, 3),  # before the 13 weeks: not in the trend
        *flags("shipping", "wh1", 0.95, "2025-12-08 00:00", 4, 1),  # first of the 13 weeks: 3/4
        *flags("shipping", "wh1", 0.95, "2026-03-08 23:59", 2, 0),  # last day of the week: 2/2
    ]
    section = compute_sla(frame("sla_events", log), PERIOD)
    trend = [(t.week_ending, t.events, t.compliance) for t in section.trend]
    assert len(trend) == 13
    assert trend[0] == (date(2025, 12, 14), 4, 0.75)
    assert trend[-1] == (date(2026, 3, 8), 2, 1.0)
    assert all(events == 0 and compliance is None for _, events, compliance in trend[1:-1])


def test_missing_or_empty_sla_events() -> None:
    missing = compute_sla(None, PERIOD)
    assert missing.available is False and missing.note

    empty = compute_sla(frame("sla_events", []), PERIOD)
    assert headline(empty, "sla.week.compliance") is None
    assert headline(empty, "sla.error_budget.at_risk") == 0
    assert empty.actions == [] and empty.error_budgets == [] and empty.note


def test_an_exhausted_budget_burning_at_zero_is_breached_not_imminent() -> None:
    # checkout, objective 0.9 (a = 0.1): 30 days: 20 events, 5 failed, all before the week -> e30 = 0.25,
    # consumed 0.25 / 0.1 = 2.5 (250%), remaining -1.5; this week 10 events, 0 failed -> burn 0.0x.
    # Exhausted whatever the burn rate: "breached", and the action says so (not "breach imminent").
    log = [
        *flags("uptime", "checkout", 0.9, "2026-02-20 10:00", 10, 5),
        *flags("uptime", "checkout", 0.9, "2026-03-03 10:00", 10, 0),
    ]
    section = compute_sla(frame("sla_events", log), PERIOD)
    [b] = section.error_budgets
    assert (b.events_30d, b.failed_30d, b.burn_rate, b.status) == (20, 5, 0.0, "exhausted")
    assert b.budget_consumed == pytest.approx(2.5) and b.slo_status == "breached"
    [action] = section.actions
    assert action.kind == "sla_breached" and "imminent" not in action.text and "0.0x this week" in action.text


def test_a_budget_window_that_starts_before_the_export_is_shortened_and_says_so() -> None:
    # The export starts Sun 1 Mar 2026 00:00 UTC; the period ends Mon 9 Mar 00:00 UTC: 8 of the 30 days, and 8 of
    # the 84 days of the 12-week trend. 4 events, 1 failed: the 8-day compliance 3/4 = 0.75 is shown with its window.
    events = flags("shipping", "wh1", 0.95, "2026-03-01 00:00", 2, 1) + flags(
        "shipping", "wh1", 0.95, "2026-03-05 10:00", 2, 0
    )
    section = compute_sla(frame("sla_events", events), PERIOD)
    figure = next(f for f in section.shared_figures if f.key == "sla.shipping/wh1.compliance_30d")
    assert (figure.value, figure.window) == (pytest.approx(0.75), "8 of 30 days")
    assert section.note is not None
    assert "The error budgets are over the 8 days the data covers, not 30: the export starts later." in section.note
    assert "The trend is over the 8 days the data covers, not 91" in section.note
    # An export that covers the whole window says nothing of the kind.
    full = compute_sla(frame("sla_events", flags("shipping", "wh1", 0.95, "2025-12-01 10:00", 1, 0) + events), PERIOD)
    assert all(f.window is None for f in full.shared_figures)
    assert "data covers" not in (full.note or "")
