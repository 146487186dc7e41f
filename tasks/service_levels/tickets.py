"""Ticket SLAs: how many tickets met the resolution SLA their ITSM tool set (ServiceNow's made_sla and due time,
Jira's "Time to resolution"), per priority and category, and which open tickets are about to miss it.

One rule decides a ticket's SLA outcome for a period, used by every figure here:
- with a due time (`sla_due_at`): met when resolved at or before it; missed when resolved after it, or still open
  when it passed before the period's end;
- without one, the tool's own verdict (`sla_met`) of a ticket resolved before the period's end;
- otherwise the ticket has no SLA outcome yet (open, not yet due) and is in no compliance figure.
A ticket is counted in the week it was resolved, or, when still open, in the week its due time passed.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, Field

from opsflow.findings import Action, Headline, OptRatio, Urgency
from opsflow.period import Period, local_time

AT_RISK_HOURS = 4
"""An open ticket due within this many hours after the period's end is at risk of missing its SLA."""


class TicketSlaRow(BaseModel):
    """Ticket SLA compliance of one priority or category (or all tickets) in the period."""

    dimension: str = Field(description="priority, category or all.")
    value: str
    tickets: int = Field(description="Tickets with an SLA outcome in the period.")
    met: int
    missed: int
    compliance: OptRatio = Field(None, description="met / tickets.")


class TicketAtRisk(BaseModel):
    """An open ticket whose SLA falls due soon after the period's end."""

    incident_id: str
    severity: str
    category: str | None = None
    owner: str | None = None
    due_at: pd.Timestamp
    hours_left: float = Field(json_schema_extra={"unit": "hours"})

    model_config = {"arbitrary_types_allowed": True}


class TicketSla(BaseModel):
    """What the tickets' own SLAs say about the period."""

    rows: list[TicketSlaRow] = Field(default_factory=list)
    at_risk: list[TicketAtRisk] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    headlines: list[Headline] = Field(default_factory=list)


def ticket_outcomes(incidents: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Per ticket with an SLA outcome in the period: incident_id, severity, category, met (the module's rule)."""
    end, start = period.end, period.start
    resolved = incidents["resolved_at"]
    due = incidents["sla_due_at"] if "sla_due_at" in incidents else pd.Series(pd.NaT, index=incidents.index)
    flag = incidents["sla_met"] if "sla_met" in incidents else pd.Series(pd.NA, index=incidents.index)
    closed = resolved.notna() & (resolved < end)
    by_due = due.notna()
    met = pd.Series(pd.NA, index=incidents.index, dtype="boolean")
    met[by_due & closed] = (resolved <= due)[by_due & closed]
    overdue_open = by_due & ~closed & (due < end)
    met[overdue_open] = False
    flagged = ~by_due & closed & flag.notna()
    met[flagged] = flag[flagged].astype("boolean")
    when = resolved.where(closed, due.where(overdue_open))
    in_period = met.notna() & (when >= start) & (when < end)
    out = incidents.loc[in_period.fillna(False).to_numpy(dtype=bool), ["incident_id", "severity"]].copy()
    out["category"] = incidents["category"] if "category" in incidents else None
    out["met"] = met[in_period.fillna(False)].astype(bool)
    return out


def _row(dimension: str, value: str, group: pd.DataFrame) -> TicketSlaRow:
    met = int(group["met"].sum())
    return TicketSlaRow(
        dimension=dimension, value=value, tickets=len(group), met=met, missed=len(group) - met,
        compliance=met / len(group) if len(group) else None,
    )  # fmt: skip


def compute_ticket_sla(
    incidents: pd.DataFrame | None, period: Period, horizon_hours: float = AT_RISK_HOURS
) -> TicketSla:
    """Compliance per priority and category (and over all tickets), and the open tickets due within the horizon."""
    found = TicketSla()
    if incidents is None or not {"sla_due_at", "sla_met"} & set(incidents.columns):
        return found
    has_sla = pd.Series(False, index=incidents.index)
    for column in ("sla_due_at", "sla_met"):
        if column in incidents:
            has_sla |= incidents[column].notna()
    if not has_sla.any():
        return found
    kind = incidents["kind"] if "kind" in incidents else pd.Series(pd.NA, index=incidents.index)
    real = incidents[(kind.isna() | (kind == "real")).fillna(True).to_numpy(dtype=bool)]
    outcomes = ticket_outcomes(real, period)
    found.rows.append(_row("all", "all tickets", outcomes))
    for severity, group in outcomes.groupby(outcomes["severity"].astype(str), sort=True):
        found.rows.append(_row("priority", str(severity), group))
    categories = outcomes["category"].astype("string").fillna("(none)")
    for category, group in outcomes.groupby(categories, sort=True):
        found.rows.append(_row("category", str(category), group))
    overall = found.rows[0]
    found.headlines.append(
        Headline(
            key="sla.tickets.compliance", label="Tickets within their SLA (resolved or due this period)",
            value=overall.compliance, unit="ratio", better="higher",
        )
    )  # fmt: skip

    # At risk: open at the period's end (resolved later or not at all), due within the horizon after it.
    if "sla_due_at" in real:
        due, end = real["sla_due_at"], period.end
        open_now = real["resolved_at"].isna() | (real["resolved_at"] >= end)
        soon = open_now & due.notna() & (due >= end) & (due < end + pd.Timedelta(hours=horizon_hours))
        for r in (
            real[soon.fillna(False).to_numpy(dtype=bool)].sort_values(["sla_due_at", "incident_id"]).to_dict("records")
        ):
            left = (pd.Timestamp(r["sla_due_at"]) - end).total_seconds() / 3600
            owner = r.get("owner")
            item = TicketAtRisk(
                incident_id=str(r["incident_id"]), severity=str(r["severity"]),
                category=None if pd.isna(r.get("category")) else str(r.get("category")),
                owner=None if owner is None or pd.isna(owner) else str(owner),
                due_at=pd.Timestamp(r["sla_due_at"]), hours_left=round(left, 1),
            )  # fmt: skip
            found.at_risk.append(item)
            found.actions.append(
                Action(
                    text=f"Resolve {item.severity} {item.incident_id} before its SLA falls due at "
                    f"{local_time(item.due_at, period.tz)} ({item.hours_left:g} h after the period's end).",
                    urgency=Urgency.URGENT if item.severity in ("SEV1", "SEV2") else Urgency.IMPORTANT,
                    owner=item.owner,
                    source=f"incident {item.incident_id}",
                    section="sla",
                    kind="ticket_sla_at_risk",
                    severity=item.severity,
                )
            )
    return found
