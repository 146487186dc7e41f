"""KPIs registered by a flow are tracked by later audits: baseline, one observation per audit, progress scored."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from opsflow.history import open_history
from opsflow.period import Period
from tasks.performance_metrics.kpis import compute_kpis
from tasks.performance_metrics.registry import RegisteredKpi, load_registered_kpis, register_kpis, tracked_kpi_frames

KEY = "processes.order_fulfilment.lead_p50_hours"


def _kpi(**overrides: object) -> RegisteredKpi:
    values: dict[str, object] = {
        "kpi_id": "PSM-fulfilment-lead-time",
        "name": "Order fulfilment lead time (p50)",
        "perspective": "internal_process",
        "unit": "hours",
        "direction": "decrease",
        "baseline": 48.0,
        "baseline_date": date(2026, 3, 1),
        "target": 24.0,
        "owner": "Ops manager",
        "deadline": date(2026, 6, 28),
        "metric_key": KEY,
        "source_flow": "problem-solution-metrics",
    }
    values.update(overrides)
    return RegisteredKpi.model_validate(values)


def test_registered_kpi_is_observed_by_each_audit(tmp_path: Path) -> None:
    history = open_history(tmp_path)
    register_kpis(history, [_kpi()])
    register_kpis(history, [_kpi(target=30.0)])  # re-registering replaces, never duplicates
    assert [k.target for k in load_registered_kpis(history)] == [30.0]
    # Two earlier audits measured the figure; one before the baseline must be ignored.
    history.save_run("weekly-audit", "2026-02-22", date(2026, 2, 22), {KEY: 50.0}, {})
    history.save_run("weekly-audit", "2026-03-08", date(2026, 3, 8), {KEY: 44.0}, {})
    kpis, obs = tracked_kpi_frames(load_registered_kpis(history), None, None, history, {KEY: 39.0}, date(2026, 3, 15))
    assert kpis is not None and obs is not None
    got = obs.sort_values("observed_on")[["observed_on", "value"]].values.tolist()
    # baseline 48 on 03-01, the 03-08 audit's 44, this audit's 39 (the 02-22 run predates the baseline).
    assert [(d.date(), v) for d, v in got] == [
        (date(2026, 3, 1), 48.0),
        (date(2026, 3, 8), 44.0),
        (date(2026, 3, 15), 39.0),
    ]
    section = compute_kpis(kpis, obs, Period(date(2026, 3, 15), "UTC"))
    [row] = section.kpis
    # Decrease KPI: progress = (39 - 48) / (30 - 48) = -9 / -18 = 0.5.
    assert row.progress == 0.5 and row.okr_score == 0.5
    history.close()


def test_dataset_kpi_with_the_same_id_wins(tmp_path: Path) -> None:
    history = open_history(tmp_path)
    own = pd.DataFrame({"kpi_id": pd.array(["PSM-fulfilment-lead-time"], dtype="string")})
    kpis, obs = tracked_kpi_frames([_kpi()], own, None, history, {KEY: 39.0}, date(2026, 3, 15))
    assert kpis is own and obs is None
    history.close()


def test_a_kpi_with_a_source_reads_the_sections_figure_and_a_breached_slo_is_not_on_track() -> None:
    from opsflow.findings import section_figures
    from tasks.performance_metrics.registry import sourced_kpi_frames
    from tasks.service_levels.slo import compute_sla
    from tests.helpers import frame

    period = Period(date(2026, 3, 8))  # week [03-02, 03-09), 30 days from 2026-02-07
    # checkout uptime, objective 0.999: 30 days 2000 events, 4 failed (all before the week) -> compliance
    # 1 - 4/2000 = 0.998 = 99.8%; budget 0.001 x 2000 = 2 events, 4 failed -> 200% used: breached.
    sla = frame(
        "sla_events",
        [dict(category="uptime", service="checkout", objective=0.999, measured_at="2026-02-20 10:00", met=i >= 4)
         for i in range(1000)]
        + [dict(category="uptime", service="checkout", objective=0.999, measured_at="2026-03-03 10:00", met=True)
           for _ in range(1000)],
    )  # fmt: skip
    figures = section_figures([compute_sla(sla, period)])
    kpis = frame(
        "kpis",
        [
            # K-16: baseline 99.0, target 99.9, its own series says 99.9 today (on target): it reads 99.8 instead.
            dict(kpi_id="K-16", name="Checkout availability", perspective="internal_process", unit="%",
                 direction="increase", baseline=99.0, target=99.9, deadline="2026-12-31",
                 source="sla.uptime/checkout.compliance_30d"),
            dict(kpi_id="K-99", name="Unsourced", perspective="customer", unit="%", direction="increase",
                 baseline=0.0, target=100.0, deadline="2026-12-31"),
        ],
    )  # fmt: skip
    observations = frame(
        "kpi_observations",
        [dict(kpi_id="K-16", observed_on="2026-01-01", value=99.0),
         dict(kpi_id="K-16", observed_on="2026-03-08", value=99.9),
         dict(kpi_id="K-99", observed_on="2026-03-08", value=50.0)],
    )  # fmt: skip
    kpis2, obs2 = sourced_kpi_frames(kpis, observations, figures, period.as_of)
    section = compute_kpis(kpis2, obs2, period)
    rows = {r.kpi_id: r for r in section.kpis}
    k16 = rows["K-16"]
    # 99.8 = the SLA section's 30-day compliance in %; progress (99.8 - 99.0) / 0.9 = 0.89, which would be on track
    # (expected by now: 66 / 364 days = 0.18), but its SLO is breached -> off track, with the reason.
    assert k16.latest_value == pytest.approx(99.8) and k16.okr_score == pytest.approx(0.89)
    assert (k16.status, k16.source) == ("off_track", "sla.uptime/checkout.compliance_30d")
    assert k16.status_note == "off track: its source SLO is breached (error budget exhausted)"
    [action] = [a for a in section.actions if a.source == "kpi K-16" and a.kind == "kpi_off_track"]
    assert "source SLO (sla.uptime/checkout.compliance_30d) is breached" in action.text
    # The unsourced KPI keeps its own observation.
    assert (rows["K-99"].latest_value, rows["K-99"].source, rows["K-99"].status_note) == (50.0, None, None)


def test_a_lead_time_kpi_at_target_is_not_achieved_while_its_control_test_sees_no_change(tmp_path: Path) -> None:
    history = open_history(tmp_path)
    kpi = _kpi(kpi_id="OT-returns-lead-time", source_flow="improvement-initiative", target=40.0)
    register_kpis(history, [kpi])
    # The initiative's run on 03-14 found no change; this audit (03-15) measures 39 h, below the 40 h target.
    history.save_run("improvement-initiative", "x", date(2026, 3, 14), {},
                     {"sections": [{"name": "control", "verdict": "no change detectable"}]})  # fmt: skip
    kpis, obs = tracked_kpi_frames(load_registered_kpis(history), None, None, history, {KEY: 39.0}, date(2026, 3, 15))
    [row] = compute_kpis(kpis, obs, Period(date(2026, 3, 15), "UTC")).kpis
    # (39 - 48) / (40 - 48) = 1.125 -> score 1 (achieved by value), but not proven: on track, with the reason.
    assert (row.okr_score, row.status) == (1.0, "on_track")
    assert row.status_note == "at target, but the control test says 'no change detectable': not achieved yet"
    # Once a later control test (03-15) confirms it, the same value is achieved.
    history.save_run("improvement-initiative", "y", date(2026, 3, 15), {},
                     {"sections": [{"name": "control", "verdict": "real improvement"}]})  # fmt: skip
    kpis, obs = tracked_kpi_frames(load_registered_kpis(history), None, None, history, {KEY: 39.0}, date(2026, 3, 15))
    [row] = compute_kpis(kpis, obs, Period(date(2026, 3, 15), "UTC")).kpis
    assert (row.status, row.status_note) == ("achieved", None)
    history.close()
