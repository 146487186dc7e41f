"""Tests for tasks/service_levels/tickets.py on a small hand-checked ticket list."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from opsflow.period import Period
from tasks.service_levels.slo import compute_sla
from tasks.service_levels.tickets import compute_ticket_sla
from tests.helpers import frame

# The week [Mon 2 Mar 2026, Mon 9 Mar 2026) UTC.
PERIOD = Period(date(2026, 3, 8))


def _ticket(tid: str, sev: str, category: str, resolved: str | None, due: str | None, met: bool | None = None) -> dict:
    return dict(incident_id=tid, service="s", severity=sev, category=category, opened_at="2026-03-01 08:00",
                resolved_at=resolved, sla_due_at=due, sla_met=met, kind="real", owner="Olga")  # fmt: skip


def tickets() -> pd.DataFrame:
    return frame(
        "incidents",
        [
            _ticket("T1", "SEV2", "Network", "2026-03-03 10:00", "2026-03-03 12:00"),  # met (before due)
            _ticket("T2", "SEV2", "Network", "2026-03-04 15:00", "2026-03-04 12:00"),  # missed (after due)
            _ticket("T3", "SEV3", "Software", None, "2026-03-06 09:00"),  # open, due passed in the week: missed
            _ticket("T4", "SEV3", "Software", "2026-03-05 09:00", None, met=True),  # the tool's verdict: met
            _ticket("T5", "SEV1", "Network", None, "2026-03-09 02:00"),  # open, due 2 h after the end: at risk
            _ticket("T6", "SEV3", "Software", None, "2026-03-10 12:00"),  # open, not yet due: no outcome
            _ticket("T7", "SEV3", "Software", "2026-02-20 09:00", "2026-02-20 12:00"),  # resolved last month
            _ticket("T8", "SEV2", "Network", "2026-03-12 09:00", "2026-03-07 12:00"),  # resolved after the end:
            # open at the end with its due time passed in the week -> missed
        ],
    )


def test_compliance_per_priority_and_category_by_the_one_rule() -> None:
    found = compute_ticket_sla(tickets(), PERIOD)
    rows = {(r.dimension, r.value): (r.tickets, r.met, r.missed) for r in found.rows}
    # In the week: T1 met, T2 missed, T3 missed, T4 met, T8 missed -> 5 tickets, 2 met.
    assert rows[("all", "all tickets")] == (5, 2, 3)
    assert rows[("priority", "SEV2")] == (3, 1, 2)  # T1, T2, T8
    assert rows[("priority", "SEV3")] == (2, 1, 1)  # T3, T4
    assert rows[("category", "Network")] == (3, 1, 2) and rows[("category", "Software")] == (2, 1, 1)
    assert found.headlines[0].key == "sla.tickets.compliance" and found.headlines[0].value == pytest.approx(0.4)


def test_open_tickets_due_soon_are_at_risk_with_an_action() -> None:
    found = compute_ticket_sla(tickets(), PERIOD)
    # T5 is due 2026-03-09 02:00 UTC, 2 h after the period's end (within 4 h); T6 is due 36 h after it.
    assert [(r.incident_id, r.hours_left) for r in found.at_risk] == [("T5", 2.0)]
    (action,) = found.actions
    assert action.urgency == "urgent" and action.owner == "Olga"
    assert action.text == (
        "Resolve SEV1 T5 before its SLA falls due at 2026-03-09 02:00 UTC (2 h after the period's end)."
    )


def test_ticket_slas_sit_beside_the_slo_budgets_and_nothing_without_them() -> None:
    section = compute_sla(None, PERIOD, None, tickets())
    assert [r.value for r in section.tickets][:1] == ["all tickets"] and section.tickets_at_risk
    assert "ticket SLA" in section.definitions
    bare = tickets().drop(columns=["sla_due_at", "sla_met"])
    assert compute_ticket_sla(bare, PERIOD).rows == []
    assert compute_sla(None, PERIOD, None, bare).tickets == []
