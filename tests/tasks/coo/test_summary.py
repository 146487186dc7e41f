"""The weekly audit's deterministic summary on hand-checked sections: same statuses and counts as the sections."""

from __future__ import annotations

from datetime import date

from opsflow.findings import FocusSection
from opsflow.period import Period
from tasks.coo.summary import template_summary
from tasks.incidents.metrics import compute_incidents
from tasks.service_levels.slo import compute_sla
from tests.helpers import frame

PERIOD = Period(date(2026, 3, 8))  # week [2026-03-02, 2026-03-09) UTC


def test_summary_says_what_the_median_covers_and_uses_the_slo_statuses() -> None:
    incidents = frame(
        "incidents",
        [
            # Resolved in the week: 1 h and 3 h -> median 2 h over 2 resolved.
            dict(incident_id="A", service="pay", severity="SEV3", opened_at="2026-03-02 10:00",
                 resolved_at="2026-03-02 11:00", kind="real"),
            dict(incident_id="B", service="pay", severity="SEV3", opened_at="2026-03-03 10:00",
                 resolved_at="2026-03-03 13:00", kind="real"),
            # Still open at the end (2026-03-09 00:00): opened 2026-03-05 00:00 -> 96 h old, left out of the median.
            dict(incident_id="C", service="pay", severity="SEV4", opened_at="2026-03-05 00:00", kind="real"),
        ],
    )  # fmt: skip
    # checkout (objective 0.9): 10 events before the week with 5 failed, 10 in the week all met -> 30 days 5/20 =
    # 0.25 = 250% of the 0.1 budget: breached (burn 0.0x this week), never "imminent".
    sla = frame(
        "sla_events",
        [
            *[dict(category="uptime", service="checkout", objective=0.9, measured_at="2026-02-20 10:00", met=i >= 5)
              for i in range(10)],
            *[dict(category="uptime", service="checkout", objective=0.9, measured_at="2026-03-03 10:00", met=True)
              for i in range(10)],
        ],
    )  # fmt: skip
    sections = [compute_incidents(incidents, None, PERIOD), compute_sla(sla, PERIOD)]
    text = template_summary(sections, FocusSection(name="focus", title="Focus", closing="Start with checkout."), PERIOD)
    assert "median time to resolve was 2 hours over 2 resolved (1 still open and left out, oldest 96 hours)" in text
    # This week 10 of 10 met; over 30 days one pair breached, none imminent: the SLA section's own statuses.
    assert "SLO breached (30-day error budget exhausted): 1, breach imminent" in text
    assert "within 7 days): 0." in text and "at risk of exhausting" not in text


def test_the_mean_okr_score_says_what_it_covers() -> None:
    from tasks.performance_metrics.kpis import compute_kpis

    base = dict(perspective="customer", unit="%", direction="increase", baseline=0.0, deadline="2026-12-31")
    kpis = frame(
        "kpis",
        [
            dict(base, kpi_id="K1", name="one", target=100.0),  # 50 of 100 -> score 0.5
            dict(base, kpi_id="K2", name="two", target=100.0),  # 30 of 100 -> score 0.3
            dict(base, kpi_id="K3", name="three"),  # no target: not scored
        ],
    )
    observations = frame(
        "kpi_observations",
        [
            dict(kpi_id="K1", observed_on="2026-03-01", value=50.0),
            dict(kpi_id="K2", observed_on="2026-03-01", value=30.0),
        ],
    )
    sections = [compute_kpis(kpis, observations, PERIOD)]
    text = template_summary(sections, FocusSection(name="focus", title="Focus", closing="Done."), PERIOD)
    # Mean (0.5 + 0.3) / 2 = 0.4 over 2 scored KPIs of 3.
    assert "KPIs score 0.40 of 1 on average against their targets (over the 2 KPIs with a score, of 3)" in text
