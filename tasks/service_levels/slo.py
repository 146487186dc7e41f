"""The SLA compliance section of the weekly audit: compliance against objectives, error budgets and the trend."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from opsflow.coverage import first_record, trailing_window
from opsflow.findings import Action, Basis, Headline, OptRatio, Ratio, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task
from tasks.service_levels.burn import DEFINITION as BURN_DEFINITION
from tasks.service_levels.burn import RULES as BURN_RULES
from tasks.service_levels.burn import evaluate
from tasks.service_levels.objectives import DEFINITIONS as OBJECTIVE_DEFINITIONS
from tasks.service_levels.objectives import REQUEST_CATEGORIES, service_slis
from tasks.service_levels.tickets import TicketAtRisk, TicketSlaRow, compute_ticket_sla

TREND_WEEKS = 13
BUDGET_DAYS = 30
RUN_OUT_HORIZON_DAYS = 7
ALL_CATEGORIES = "all categories"
EPS = 1e-12
"""Tolerance for comparing ratios with objectives (19/20 against 0.95)."""
NO_BUDGET = 1e-12
"""An allowed error ratio at or below this is an objective of 100%: no error budget at all."""

KEYS = ["category", "service"]
UNUSABLE = "no met flag and no measured/target value"


class Status:
    """Error-budget status bands, worst first."""

    EXHAUSTED = "exhausted"
    AT_RISK = "at risk"
    ATTENTION = "attention"
    HEALTHY = "healthy"
    NO_DATA = "no data"


class SloStatus:
    """A service's SLO status, the one every report uses (see DEFINITIONS['SLO status'])."""

    BREACHED = "breached"
    IMMINENT = "breach imminent"
    OK = "ok"
    NO_DATA = "no data"


class ComplianceRow(BaseModel):
    """Compliance of one (category, service), one category, or everything, in the week ending as_of."""

    category: str = Field(description="Commitment family, or 'all categories' on the overall line.")
    service: str | None = Field(None, description="Service or team; empty on category and overall lines.")
    events: int = Field(description="Events measured in the week with a met flag or a measured value and target.")
    met: int = Field(description="Of which met.")
    compliance: OptRatio = Field(None, description="met / events (ratio); empty when there were no events.")
    objective: OptRatio = Field(
        None, description="The objective in force: the most frequent objective in the week's rows (ratio)."
    )
    meets_objective: bool | None = Field(None, description="compliance >= objective.")
    previous_events: int = Field(description="Events in the previous week.")
    previous_compliance: OptRatio = Field(None, description="Compliance in the previous week (ratio).")
    change: OptRatio = Field(None, description="compliance - previous_compliance (ratio points).")


class ErrorBudgetRow(BaseModel):
    """The error budget of one (category, service) over the 30 days ending as_of."""

    # What a reader needs first leads: a report shows a wide table's first columns in its section.
    category: str = Field(description="Commitment family.")
    service: str = Field(description="Service or team.")
    slo_status: str = Field(
        SloStatus.OK, description="breached (budget exhausted), breach imminent (runs out within 7 days), ok."
    )
    alert: str = Field("none", description="Multi-window burn-rate alert at the period end: page, ticket, none.")
    budget_remaining: OptRatio = Field(None, description="1 - budget_consumed; below 0 when overspent.")
    burn_rate: float | None = Field(None, description="error_ratio_7d / allowed_error_ratio (1 = on budget).")
    runs_out: str = Field(description="The run-out date, 'exhausted', or 'not at this rate'.")
    objective: Ratio = Field(description="The objective in force (ratio).")
    error_ratio_30d: OptRatio = Field(None, description="failed_30d / events_30d.")
    owner: str | None = Field(None, description="Service owner from the service catalogue, when it lists it.")
    status: str = Field(description="exhausted, at risk, attention, healthy (or no data).")
    budget_consumed: OptRatio = Field(None, description="error_ratio_30d / allowed_error_ratio.")
    allowed_error_ratio: Ratio = Field(description="1 - objective.")
    events_30d: int = Field(description="Usable events in the 30 days ending as_of.")
    failed_30d: int = Field(description="Of which not met.")
    events_7d: int = Field(description="Usable events in the week.")
    error_ratio_7d: OptRatio = Field(None, description="Failed / events in the week.")
    runs_out_in_days: float | None = Field(None, description="budget_remaining * 30 / burn_rate, from as_of.")
    at_risk_next_week: bool = Field(description="Exhausted, at risk, or running out within 7 days after as_of.")
    alert_rule: str | None = Field(None, description="The burn-rate rule that fired: fast, medium or slow.")
    burn_1h: float | None = Field(None, description="Burn rate over the last hour before the period end.")
    burn_6h: float | None = Field(None, description="Burn rate over the last 6 hours before the period end.")
    burn_3d: float | None = Field(None, description="Burn rate over the last 3 days before the period end.")


class TrendRow(BaseModel):
    """Weekly compliance of one category, one point of the SLA trend chart."""

    week_ending: date = Field(description="Last day of the week (reporting time zone).")
    category: str = Field(description="Commitment family.")
    events: int = Field(description="Usable events in the week.")
    met: int = Field(description="Of which met.")
    compliance: OptRatio = Field(None, description="met / events (ratio).")


class SloTrendRow(BaseModel):
    """One SLO's compliance in one week against its objective: a point of its 13-week trend."""

    category: str = Field(description="Commitment family, or latency / latency_p95 / error_rate.")
    service: str = Field(description="Service or team.")
    week_ending: date = Field(description="Last day of the week (reporting time zone).")
    events: int = Field(description="Usable events (requests or intervals for a request-metric SLO) in the week.")
    met: int = Field(description="Of which good.")
    compliance: OptRatio = Field(None, description="met / events (ratio); empty without events.")
    objective: OptRatio = Field(None, description="The SLO's objective in force this period (ratio).")
    meets_objective: bool | None = Field(None, description="compliance >= objective.")
    burn_rate: float | None = Field(
        None, description="(1 - compliance) / (1 - objective): 1 spends the budget exactly, above 1 faster."
    )


class SlaSection(Section):
    """The SLA compliance section of the weekly audit."""

    name: str = "sla"
    title: str = "SLA compliance"
    # The error budgets lead (worst first): the section's first table is the one its page shows.
    error_budgets: list[ErrorBudgetRow] = Field(
        default_factory=list,
        description="Every SLO's 30-day error budget, burn rate and alert, breached and alerting first.",
    )
    by_service: list[ComplianceRow] = Field(
        default_factory=list, description="Compliance per category and service, week, vs the week before."
    )
    by_category: list[ComplianceRow] = Field(
        default_factory=list, description="Compliance per category (all services) and overall, week."
    )
    trend: list[TrendRow] = Field(default_factory=list, description="Weekly compliance per category, 13 weeks.")
    slo_trend: list[SloTrendRow] = Field(
        default_factory=list, description="Weekly compliance of every SLO against its objective, 13 weeks."
    )
    tickets: list[TicketSlaRow] = Field(
        default_factory=list, description="Ticket SLA compliance per priority and category (incidents' own SLAs)."
    )
    tickets_at_risk: list[TicketAtRisk] = Field(
        default_factory=list, description="Open tickets whose SLA falls due within hours of the period's end."
    )


DEFINITIONS: dict[str, str] = {
    "burn-rate alert": BURN_DEFINITION,
    "met": (
        "An event is met when its met flag says so; when the flag is empty, when measured_value <= target_value. "
        "Events with neither are left out of every SLA figure."
    ),
    "point in time": "Events measured at or after the period end are ignored.",
    "compliance": "Met events / usable events measured in the week [start, end).",
    "objective in force": (
        "The most frequent objective among the rows in the week (ties: the strictest); when the week has no rows, "
        "the most frequent in the 30 days, then in the 13 weeks."
    ),
    "meets objective": "compliance >= objective in force.",
    "change": "This week's compliance minus the previous week's, in ratio points.",
    "sla.week.compliance": (
        "Met events / usable events in the week, over every event category and service (the request-metric SLOs, "
        "latency and error_rate, count requests and keep their own lines)."
    ),
    "SLO trend": "Each SLO's weekly compliance (good / usable) against its objective over the 13 weeks ending as_of.",
    "sla.<category>.compliance": "Met events / usable events in the week, over every service of the category.",
    "error budget": (
        "Per (category, service) over the 30 days ending as_of: allowed error ratio a = 1 - objective; "
        "consumed = (failed / events over 30 days) / a; remaining = 1 - consumed (below 0 when overspent). "
        "With an objective of 100% (a = 0) any failure exhausts the budget."
    ),
    "burn rate": "Error ratio of the week / a; 1 spends the budget exactly over 30 days.",
    "budget status": (
        "exhausted: remaining <= 0; at risk: remaining < 0.25 or burn rate >= 2; attention: remaining < 0.5 or "
        "burn rate > 1; healthy otherwise."
    ),
    "runs out": (
        "At the week's burn rate the remaining budget lasts remaining * 30 / burn rate days from as_of "
        "(date = as_of + that many days, rounded up); 'exhausted' when nothing remains, 'not at this rate' when the "
        "burn rate is 0."
    ),
    "sla.error_budget.at_risk": (
        "(category, service) pairs whose budget is exhausted or at risk, or runs out within 7 days after as_of."
    ),
    "SLO status": (
        "breached: the 30-day error budget is exhausted (remaining <= 0), whatever this week's burn rate (a budget "
        "burning at 0.0x that is already spent is breached, not imminent). breach imminent: not exhausted, and at "
        "this week's burn rate it runs out within 7 days after as_of, before the next weekly period ends. ok: "
        "neither. Every report (audit, brief, KPIs, Slack) uses this status."
    ),
    "sla.breached": "(category, service) pairs whose SLO status is breached.",
    "sla.breach_imminent": "(category, service) pairs whose SLO status is breach imminent.",
    "sla.<category>/<service>.compliance_30d": (
        "1 - failed / usable events of the pair in the 30 days ending as_of: the figure a KPI with this source reads."
    ),
}


def slo_status(status: str, runs_out_in_days: float | None) -> str:
    """breached, breach imminent or ok, from the budget status and the run-out days (DEFINITIONS['SLO status'])."""
    if status == Status.NO_DATA:
        return SloStatus.NO_DATA
    if status == Status.EXHAUSTED:
        return SloStatus.BREACHED
    if runs_out_in_days is not None and runs_out_in_days <= RUN_OUT_HORIZON_DAYS:
        return SloStatus.IMMINENT
    return SloStatus.OK


def _slug(category: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_") or "unnamed"


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _num(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    result = float(value)
    return None if math.isnan(result) else result


def _owners(services: pd.DataFrame | None) -> dict[str, str]:
    if services is None or services.empty or not {"service_id", "owner"} <= set(services.columns):
        return {}
    owners = services.dropna(subset=["owner"])
    return dict(zip(owners["service_id"].astype(str), owners["owner"].astype(str), strict=True))


def _objective_in_force(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The most frequent objective per key (ties: the strictest)."""
    counts = frame.groupby([*keys, "objective"], observed=True).size().rename("n").reset_index()
    counts = counts.sort_values(["n", "objective"], ascending=False).drop_duplicates(keys)
    return counts.set_index(keys)["objective"]


def _compliance(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Events and met in the current week and in the previous one, per key."""
    current = frame[frame["weeks_ago"] == 0].groupby(keys)
    previous = frame[frame["weeks_ago"] == 1].groupby(keys)
    counts = {
        "events": current["total"].sum(),
        "met": current["good"].sum(),
        "previous_events": previous["total"].sum(),
        "previous_met": previous["good"].sum(),
    }
    # Interpolated request counts (latency histograms) are whole requests only once summed.
    return pd.DataFrame(counts).fillna(0).round().astype("int64")


def _compliance_rows(
    index: pd.Index, counts: pd.DataFrame, objectives: pd.Series | None, keys: list[str]
) -> list[ComplianceRow]:
    counts = counts.reindex(index, fill_value=0)
    rows = []
    for key, r in zip(index, counts.to_dict("records"), strict=True):
        names = key if isinstance(key, tuple) else (key,)
        label = dict(zip(keys, names, strict=True))
        compliance = _ratio(r["met"], r["events"])
        previous = _ratio(r["previous_met"], r["previous_events"])
        objective = _num(objectives.get(key)) if objectives is not None else None
        rows.append(
            ComplianceRow(
                category=str(label.get("category", ALL_CATEGORIES)),
                service=str(label["service"]) if "service" in label else None,
                events=int(r["events"]),
                met=int(r["met"]),
                compliance=compliance,
                objective=objective,
                meets_objective=None if compliance is None or objective is None else compliance >= objective - EPS,
                previous_events=int(r["previous_events"]),
                previous_compliance=previous,
                change=None if compliance is None or previous is None else compliance - previous,
            )
        )
    return rows


def _budget_row(
    category: str, service: str, objective: float, r: Mapping[Any, Any], period: Period, owner: str | None
) -> ErrorBudgetRow:
    """One (category, service) error budget, with the status bands and the run-out date."""
    # Rounded so that 1 - 0.95 is 0.05 and a burn rate of exactly 2 is not 1.9999999999999982.
    allowed = round(max(1.0 - objective, 0.0), 12)
    events30, failed30 = int(r["events_30d"]), int(r["failed_30d"])
    events7, failed7 = int(r["events_7d"]), int(r["failed_7d"])
    e30, e7 = _ratio(failed30, events30), _ratio(failed7, events7)
    consumed = remaining = burn = days = None
    if events30 == 0:
        status = Status.NO_DATA
    elif allowed <= NO_BUDGET:
        # An objective of 100% leaves no budget: any failure exhausts it, and ratios to it are undefined.
        status = Status.EXHAUSTED if failed30 else Status.HEALTHY
        if not failed30:
            consumed, remaining = 0.0, 1.0
            burn = 0.0 if events7 else None
    else:
        consumed = round((e30 or 0.0) / allowed, 9)
        remaining = round(1.0 - consumed, 9)
        burn = round(e7 / allowed, 9) if e7 is not None else None
        if remaining <= 0:
            status = Status.EXHAUSTED
        elif remaining < 0.25 or (burn is not None and burn >= 2):
            status = Status.AT_RISK
        elif remaining < 0.5 or (burn is not None and burn > 1):
            status = Status.ATTENTION
        else:
            status = Status.HEALTHY
        if remaining > 0 and burn:
            days = remaining * BUDGET_DAYS / burn
    if status == Status.EXHAUSTED:
        runs_out = "exhausted"
    elif days is not None:
        runs_out = (period.as_of + timedelta(days=math.ceil(days))).isoformat()
    elif status == Status.NO_DATA:
        runs_out = "no data"
    else:
        runs_out = "not at this rate"
    at_risk = status in (Status.EXHAUSTED, Status.AT_RISK) or (days is not None and days <= RUN_OUT_HORIZON_DAYS)
    return ErrorBudgetRow(
        category=category,
        service=service,
        objective=objective,
        allowed_error_ratio=allowed,
        events_30d=events30,
        failed_30d=failed30,
        error_ratio_30d=e30,
        budget_consumed=consumed,
        budget_remaining=remaining,
        events_7d=events7,
        error_ratio_7d=e7,
        burn_rate=burn,
        status=status,
        runs_out_in_days=days,
        runs_out=runs_out,
        at_risk_next_week=at_risk,
        slo_status=slo_status(status, days),
        owner=owner,
    )


def compute_sla(
    sla_events: pd.DataFrame | None,
    period: Period,
    services: pd.DataFrame | None = None,
    incidents: pd.DataFrame | None = None,
    service_metrics: pd.DataFrame | None = None,
) -> SlaSection:
    """SLA compliance for the week ending as_of, the 30-day error budgets and the 13-week trend; with `incidents`,
    the tickets' own SLAs beside them (tasks/service_levels/tickets.py)."""
    section = _compute_sla(sla_events, period, services, service_metrics)
    tickets = compute_ticket_sla(incidents, period)
    if tickets.rows:
        section.tickets, section.tickets_at_risk = tickets.rows, tickets.at_risk
        section.headlines = [*section.headlines, *tickets.headlines]
        section.actions = [*section.actions, *tickets.actions]
        section.definitions = {**section.definitions, **TICKET_DEFINITIONS}
        section.available = True
    return section


TICKET_DEFINITIONS = {
    "ticket SLA": (
        "A ticket's own resolution SLA from the ITSM tool: met when resolved at or before sla_due_at, missed when "
        "resolved after it or still open when it passed; without a due time, the tool's sla_met of a ticket resolved "
        "before the period's end. Counted in the period it was resolved in, or (open) the one its due time passed in."
    ),
    "ticket at risk": "An open ticket whose sla_due_at falls within 4 hours after the period's end.",
}


def _events(sla_events: pd.DataFrame, since: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """SLA events in [since, end) with `good` (1 met, 0 not), `total` 1 and `usable` (a met flag or a measured value
    and target): one event is one unit of an event-based SLO."""
    frame = sla_events[(sla_events["measured_at"] >= since) & (sla_events["measured_at"] < end)]
    flag = frame["met"]
    measurable = frame["measured_value"].notna() & frame["target_value"].notna()
    usable = (flag.notna() | measurable).to_numpy(dtype=bool)
    derived = (frame["measured_value"] <= frame["target_value"]).to_numpy(dtype=bool, na_value=False)
    ok = np.where(flag.notna().to_numpy(dtype=bool), flag.to_numpy(dtype=bool, na_value=False), derived)
    return pd.DataFrame(
        {
            "category": frame["category"],
            "service": frame["service"],
            "measured_at": frame["measured_at"],
            "objective": frame["objective"],
            "good": ok.astype(float),
            "total": 1.0,
            "usable": usable,
        }
    )


def _compute_sla(
    sla_events: pd.DataFrame | None,
    period: Period,
    services: pd.DataFrame | None = None,
    service_metrics: pd.DataFrame | None = None,
) -> SlaSection:
    """SLA compliance for the week ending as_of, the 30-day error budgets and the 13-week trend, over the SLA events
    and the service-tier SLOs measured from the request metrics."""
    if sla_events is None and service_metrics is None:
        return SlaSection(available=False, note="The sla_events dataset is not configured.", definitions=DEFINITIONS)

    # Week boundaries in the reporting time zone, oldest first; the last edge is the period end.
    weeks = [Period(period.as_of - timedelta(days=7 * k), period.tz) for k in range(TREND_WEEKS - 1, -1, -1)]
    edges = pd.DatetimeIndex([w.start for w in weeks] + [period.end])
    slis = service_slis(service_metrics, services)
    parts = [] if sla_events is None else [_events(sla_events, edges[0], period.end)]
    after_end = 0 if sla_events is None else int((sla_events["measured_at"] >= period.end).sum())
    if not slis.empty:
        after_end += int((slis["measured_at"] >= period.end).sum())
        window = slis[(slis["measured_at"] >= edges[0]) & (slis["measured_at"] < period.end)]
        parts.append(window.assign(usable=True))
    # A budget or trend window that starts before the exports do is shortened to the data, and says so.
    firsts = [first_record(sla_events, "measured_at", period.tz)] if sla_events is not None else []
    if service_metrics is not None and not service_metrics.empty:
        firsts.append(first_record(service_metrics, "interval_start", period.tz))
    known = [f for f in firsts if f is not None]
    first = min(known) if known else None
    budget_window = trailing_window(period, BUDGET_DAYS, first)
    trend_window = trailing_window(period, 7 * TREND_WEEKS, first)
    if not parts:
        parts = [slis.assign(usable=True)]  # nothing measured yet: an empty frame of the same shape
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        frame["category"] = frame["category"].astype(str)
        frame["service"] = frame["service"].astype(str)
    # Edges fall on whole seconds, so they convert losslessly to the data's resolution (s, ms, us or ns).
    position = edges.as_unit(frame["measured_at"].dt.unit).searchsorted(frame["measured_at"], side="right") - 1
    frame = frame.assign(
        weeks_ago=TREND_WEEKS - 1 - position,
        in_30d=frame["measured_at"] >= budget_window.start,
    )

    def unusable(mask: pd.Series) -> int:
        return int((mask & ~frame["usable"]).sum())

    unusable_week, unusable_30d = unusable(frame["weeks_ago"] == 0), unusable(frame["in_30d"])
    unusable_all = int((~frame["usable"]).sum())
    all_rows, frame = frame, frame[frame["usable"]]
    week = frame[frame["weeks_ago"] == 0]

    # Every pair and category seen in the 13 weeks gets a line, even without events this week.
    pair_index = pd.MultiIndex.from_frame(all_rows[KEYS].drop_duplicates().sort_values(KEYS))
    category_index = pd.Index(sorted(all_rows["category"].unique()), name="category")
    pair_objective = (
        _objective_in_force(all_rows[all_rows["weeks_ago"] == 0], KEYS)
        .combine_first(_objective_in_force(all_rows[all_rows["in_30d"]], KEYS))
        .combine_first(_objective_in_force(all_rows, KEYS))
    )
    category_objective = (
        _objective_in_force(all_rows[all_rows["weeks_ago"] == 0], ["category"])
        .combine_first(_objective_in_force(all_rows[all_rows["in_30d"]], ["category"]))
        .combine_first(_objective_in_force(all_rows, ["category"]))
    )

    by_service = _compliance_rows(pair_index, _compliance(frame, KEYS), pair_objective, KEYS)
    by_category = _compliance_rows(category_index, _compliance(frame, ["category"]), category_objective, ["category"])
    # The overall line adds up events; request counts would drown them, so the request-metric SLOs keep their own lines.
    events_only = frame[~frame["category"].isin(REQUEST_CATEGORIES)]
    overall = _compliance(events_only.assign(scope=ALL_CATEGORIES), ["scope"])
    by_category += _compliance_rows(pd.Index([ALL_CATEGORIES], name="scope"), overall, None, ["scope"])

    # Error budgets over 30 days, burn rate over the week.
    budget_frame = frame[frame["in_30d"]]
    budget = pd.DataFrame(
        {
            "events_30d": budget_frame.groupby(KEYS)["total"].sum(),
            "failed_30d": (budget_frame["total"] - budget_frame["good"]).groupby([budget_frame[k] for k in KEYS]).sum(),
            "events_7d": week.groupby(KEYS)["total"].sum(),
            "failed_7d": (week["total"] - week["good"]).groupby([week[k] for k in KEYS]).sum(),
        }
    )
    budget = budget.reindex(pair_index).fillna(0).round()
    owners = _owners(services)
    error_budgets = [
        _budget_row(str(cat), str(svc), objective, r, period, owners.get(str(svc)))
        for (cat, svc), r in zip(budget.index, budget.to_dict("records"), strict=True)
        if (objective := _num(pair_objective.get((cat, svc)))) is not None
    ]
    error_budgets = [b for b in error_budgets if b.status != Status.NO_DATA]
    _attach_alerts(error_budgets, frame, period)
    error_budgets.sort(key=_worst_first)

    # 13-week trend per category.
    trend_counts = frame.groupby(["category", "weeks_ago"]).agg(size=("total", "sum"), sum=("good", "sum")).round()
    trend_lookup = _lookup(trend_counts)
    trend: list[TrendRow] = []
    for category in category_index:
        for weeks_ago in range(TREND_WEEKS - 1, -1, -1):
            key = (category, weeks_ago)
            events, met = trend_lookup.get(key, (0, 0))
            trend.append(
                TrendRow(
                    week_ending=period.as_of - timedelta(days=7 * weeks_ago),
                    category=str(category),
                    events=events,
                    met=met,
                    compliance=_ratio(met, events),
                )
            )

    slo_counts = frame.groupby([*KEYS, "weeks_ago"]).agg(size=("total", "sum"), sum=("good", "sum")).round()
    slo_lookup = _lookup(slo_counts)
    slo_trend: list[SloTrendRow] = []
    for cat, svc in pair_index:
        objective = _num(pair_objective.get((cat, svc)))
        for weeks_ago in range(TREND_WEEKS - 1, -1, -1):
            events, met = slo_lookup.get((cat, svc, weeks_ago), (0, 0))
            compliance = _ratio(met, events)
            slo_trend.append(
                SloTrendRow(
                    category=str(cat),
                    service=str(svc),
                    week_ending=period.as_of - timedelta(days=7 * weeks_ago),
                    events=events,
                    met=met,
                    compliance=compliance,
                    objective=objective,
                    meets_objective=None if compliance is None or objective is None else compliance >= objective - EPS,
                    burn_rate=None
                    if compliance is None or objective is None or 1 - objective <= NO_BUDGET
                    else round((1 - compliance) / round(1 - objective, 12), 9),
                )
            )

    at_risk = [b for b in error_budgets if b.at_risk_next_week]
    actions = [_breach_action(b) for b in at_risk]
    # A page or ticket on a budget the actions above already cover adds nothing but a second line for one SLO.
    covered = {(b.category, b.service) for b in at_risk}
    actions += [_alert_action(b) for b in error_budgets if b.alert in ("page", "ticket") and (b.category, b.service)
                not in covered]  # fmt: skip
    headlines = [
        Headline(
            key="sla.week.compliance",
            label="SLA compliance, all categories",
            value=by_category[-1].compliance,
            unit="ratio",
            better="higher",
        ),
        *[
            Headline(
                key=f"sla.{_slug(row.category)}.compliance",
                label=f"SLA compliance, {row.category}",
                value=row.compliance,
                unit="ratio",
                better="higher",
            )
            for row in by_category[:-1]
        ],
        Headline(
            key="sla.error_budget.at_risk",
            label="Services at risk of an SLA breach",
            value=len(at_risk),
            better="lower",
        ),
        Headline(
            key="sla.breached",
            label="SLAs breached (error budget exhausted)",
            value=sum(b.slo_status == SloStatus.BREACHED for b in error_budgets),
            better="lower",
        ),
        Headline(
            key="sla.breach_imminent",
            label="SLA breaches imminent (budget runs out within 7 days)",
            value=sum(b.slo_status == SloStatus.IMMINENT for b in error_budgets),
            better="lower",
        ),
        Headline(
            key="sla.alerts.page",
            label="SLOs burning fast enough to page (multi-window burn rate)",
            value=sum(b.alert == "page" for b in error_budgets),
            better="lower",
        ),
        Headline(
            key="sla.alerts.ticket",
            label="SLOs burning slowly enough for a ticket",
            value=sum(b.alert == "ticket" for b in error_budgets),
            better="lower",
        ),
    ]
    basis = [
        Basis(
            metric="sla.week.compliance",
            rows_used=len(week),
            rows_excluded=unusable_week,
            reasons={UNUSABLE: unusable_week} if unusable_week else {},
        ),
        Basis(
            metric="sla.error_budget",
            rows_used=len(budget_frame),
            rows_excluded=unusable_30d,
            reasons={UNUSABLE: unusable_30d} if unusable_30d else {},
        ),
        Basis(
            metric="sla.trend",
            rows_used=len(frame),
            rows_excluded=unusable_all,
            reasons={UNUSABLE: unusable_all} if unusable_all else {},
        ),
    ]
    if after_end:
        basis.append(
            Basis(
                metric="sla (all figures)",
                rows_used=len(all_rows),
                rows_excluded=after_end,
                reasons={"measured at or after period end": after_end},
            )
        )
    silent = [row.category for row in by_category[:-1] if row.events == 0]
    notes = []
    if all_rows.empty:
        notes.append("No SLA events in the 13 weeks ending as_of.")
    elif week.empty:
        notes.append("No SLA events were measured this week.")
    elif silent:
        notes.append(f"No events this week for: {', '.join(silent)}.")
    notes += [n for n in (budget_window.note("The error budgets are"), trend_window.note("The trend is")) if n]
    figures = [
        f
        for b in error_budgets
        for f in (
            Headline(
                key=f"sla.{b.category}/{b.service}.compliance_30d",
                label=f"SLA compliance, {b.category} / {b.service}, 30 days",
                value=None if b.error_ratio_30d is None else 1 - b.error_ratio_30d,
                unit="ratio",
                better="higher",
                window=budget_window.label,
            ),
            Headline(
                key=f"sla.{b.category}/{b.service}.breached",
                label=f"SLO breached, {b.category} / {b.service} (1 = yes)",
                value=1.0 if b.slo_status == SloStatus.BREACHED else 0.0,
                unit="flag",
            ),
        )
    ]
    return SlaSection(
        headlines=headlines,
        shared_figures=figures,
        actions=actions,
        basis=basis,
        definitions={**DEFINITIONS, **OBJECTIVE_DEFINITIONS} if not slis.empty else DEFINITIONS,
        note=" ".join(notes) or None,
        by_service=by_service,
        by_category=by_category,
        error_budgets=error_budgets,
        trend=trend,
        slo_trend=slo_trend,
    )


def _lookup(counts: pd.DataFrame) -> dict[Any, tuple[int, int]]:
    """(events, met) by group key: a dict, as a MultiIndex lookup per week and SLO costs a millisecond each."""
    return {
        key: (int(size), int(met)) for key, size, met in zip(counts.index, counts["size"], counts["sum"], strict=True)
    }


def _worst_first(b: ErrorBudgetRow) -> tuple[int, float, float, str, str]:
    """Breached, imminent, paging, ticketing, then the rest; inside each the fastest burn first, as the actions rank
    (opsflow/ranking.py), then the least budget left."""
    rank = (
        0
        if b.slo_status == SloStatus.BREACHED
        else 1
        if b.slo_status == SloStatus.IMMINENT
        else {"page": 2, "ticket": 3}.get(b.alert, 4)
    )
    remaining = b.budget_remaining if b.budget_remaining is not None else 1.0
    return (rank, -(b.burn_rate or 0.0), remaining, b.category, b.service)


def _breach_action(b: ErrorBudgetRow) -> Action:
    """Breached, breach imminent (both urgent) or a budget running low (important), by the row's SLO status."""
    if b.slo_status == SloStatus.BREACHED:
        state = "error budget exhausted"
        if b.budget_consumed is not None:
            state += f" ({b.budget_consumed:.0%} of it used in 30 days)"
    else:
        state = f"{b.budget_remaining:.0%} of the error budget left" if b.budget_remaining is not None else "budget low"
    burn = f", burning at {b.burn_rate:.1f}x this week" if b.burn_rate is not None else ""
    runs_out = f", runs out {b.runs_out}" if b.runs_out_in_days is not None else ""
    lead, kind, urgency = {
        SloStatus.BREACHED: ("SLA breached", "sla_breached", Urgency.URGENT),
        SloStatus.IMMINENT: ("SLA breach imminent", "sla_breach_imminent", Urgency.URGENT),
    }.get(b.slo_status, ("Error budget low", "sla_budget_low", Urgency.IMPORTANT))
    return Action(
        text=(
            f"{lead} on {b.category} / {b.service}: {state}{burn}{runs_out} "
            f"(objective {b.objective:.2%}, 30-day error ratio {b.error_ratio_30d or 0:.2%})."
        ),
        urgency=urgency,
        owner=b.owner,
        source=f"sla {b.category}/{b.service}",
        section="sla",
        due=date.fromisoformat(b.runs_out) if b.runs_out_in_days is not None else None,
        kind=kind,
        # A breached SLO that is still burning comes before one that stopped: the burn rate is its impact.
        impact=b.burn_rate,
    )


def _attach_alerts(budgets: list[ErrorBudgetRow], frame: pd.DataFrame, period: Period) -> None:
    """Each SLO's multi-window burn-rate alert at the period end, from its usable events of the last three days."""
    longest = max(rule.long for rule in BURN_RULES)
    recent = frame[frame["measured_at"] >= pd.Timestamp(period.end) - longest]
    groups = {key: g for key, g in recent.groupby(KEYS)}
    for b in budgets:
        events = groups.get((b.category, b.service))
        if events is None or b.allowed_error_ratio <= NO_BUDGET:
            b.alert = "no data" if events is None else "none"
            continue
        verdict = evaluate(
            events["measured_at"],
            events["total"] - events["good"],
            pd.Timestamp(period.end),
            b.allowed_error_ratio,
            weights=events["total"],
        )
        b.alert, b.alert_rule = verdict.alert, verdict.rule
        b.burn_1h, b.burn_6h, b.burn_3d = verdict.burn_1h, verdict.burn_6h, verdict.burn_3d


def _alert_action(b: ErrorBudgetRow) -> Action:
    """A page is urgent (the budget burns fast now), a ticket important (it burns slowly but steadily)."""
    page = b.alert == "page"
    rates = ", ".join(
        f"{label} {rate:.1f}x" for label, rate in (("1 h", b.burn_1h), ("6 h", b.burn_6h), ("3 d", b.burn_3d))
        if rate is not None
    )  # fmt: skip
    return Action(
        text=(
            f"{'Page' if page else 'Open a ticket'} for {b.category} / {b.service}: the error budget burns at "
            f"{rates} ({b.alert_rule} burn-rate rule; objective {b.objective:.2%}, "
            f"{(b.budget_remaining or 0):.0%} of the 30-day budget left)."
        ),
        urgency=Urgency.URGENT if page else Urgency.IMPORTANT,
        owner=b.owner,
        source=f"sla {b.category}/{b.service}",
        section="sla",
        kind="sla_burn_page" if page else "sla_burn_ticket",
        impact=b.burn_1h if page else b.burn_3d,
    )


compute_sla_task = compute_task(compute_sla, name="compute_sla")
