"""The contingency drill's write-up: summary, charts, Slack figures, history record and drill-incident rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from opsflow.charts import grouped_bar_chart, line_chart
from opsflow.findings import Headline, Section, headline_values, pick_headlines
from opsflow.history import HistoryStore
from opsflow.tasking import compute_task
from tasks.continuity.assess import HistorySection, ImpactSection, ReadinessSection, drill_history
from tasks.continuity.scenarios import DRILLS_DIR, DrillRun, Outcome, Scenario, ScenarioSet, drill_incident_rows
from tasks.reporting.narrative import Figure, FigureValue, Narrative, Narrator, UsageLog, narrate

SLACK_HEADLINES = (
    "drill.readiness_score",
    "drill.detect_seconds",
    "drill.recovery_seconds",
    "drill.rto_hours",
    "drill.real_mttr_hours",
    "drill.findings",
    "drill.plan_contradicted",
    "impact.services_hit",
    "impact.sla_breaks",
    "impact.open_cases",
    "schedule.critical_overdue",
)
"""The figures of the Slack post."""


def no_scenario_message(workspace: Path, requested: str | None, scenarios: ScenarioSet) -> str:
    """One line: why no drill could run (no scenario file, an unknown id, or only bad files)."""
    folder = workspace / DRILLS_DIR
    bad = (
        f"; {len(scenarios.errors)} file(s) could not be used: " + " | ".join(scenarios.errors)
        if scenarios.errors
        else ""
    )
    if requested:
        known = ", ".join(s.id for s in scenarios.scenarios) or "none"
        return f"contingency-drill: no scenario {requested!r} in {folder} (known: {known}){bad}"
    return f"contingency-drill: no usable drill scenario in {folder}{bad}"


def history_section(
    history: HistoryStore, scenario_id: str, as_of: date, sections: list[Section], outcome: str
) -> HistorySection:
    """Past drills plus this one (its figures taken from the computed sections)."""
    return drill_history(history, scenario_id, as_of, headline_values(sections), outcome)


def drill_headlines(sections: list[Section]) -> list[Headline]:
    """The Slack post's figures, in a fixed order, those the run could compute."""
    return pick_headlines(sections, SLACK_HEADLINES)


def template_summary(scenario: Scenario, run: DrillRun, readiness: ReadinessSection, impact: ImpactSection) -> str:
    """The deterministic summary: outcome, score, recovery against the RTO, the worst finding and the blast radius."""
    parts = [f"Drill '{scenario.title}' {run.outcome}; readiness {readiness.score}/100."]
    if run.outcome == Outcome.ABORTED:
        parts.append("Steady state did not hold before the drill, so nothing was changed.")
    contradicted = [c for c in readiness.recovery if c.plan_contradicted]
    for c in readiness.recovery[:3]:
        measured = "not measured" if c.measured_recovery_seconds is None else f"{c.measured_recovery_seconds:.1f} s"
        real = "no major incident" if c.real_mttr_median_hours is None else f"{c.real_mttr_median_hours:.1f} h"
        rto = "no RTO" if c.rto_hours is None else f"{c.rto_hours:g} h"
        parts.append(f"{c.service}: recovery {measured}, RTO {rto}, real MTTR {real}.")
    if contradicted:
        names = ", ".join(c.service for c in contradicted)
        parts.append(f"The plan passes the drill while real incidents on {names} take longer than the RTO.")
    critical = sum(r.tier == "critical" for r in impact.services)
    breaks = sum(r.breaks for r in impact.sla_budgets)
    parts.append(
        f"A {scenario.duration_hours:g}-hour outage reaches {len(impact.services)} services ({critical} critical) "
        f"and breaks {breaks} SLA error budgets."
    )
    worst = max(readiness.findings, key=lambda f: f.points, default=None)
    if worst is not None and worst.points:
        parts.append(f"Biggest gap: {worst.detail}")
    return " ".join(parts)


def drill_summary(
    scenario: Scenario,
    run: DrillRun,
    readiness: ReadinessSection,
    impact: ImpactSection,
    narrator: Narrator,
    usage: UsageLog,
) -> Narrative:
    """Claude's words about the drill with opsflow's figures in its placeholders, else the template's. Scenario text,
    service names and findings come from the data: quoted data, never a figure or a placeholder's name."""
    figures: dict[str, FigureValue] = {
        "readiness_score": Figure(value=readiness.score, label="Readiness score out of 100"),
        "duration_hours": Figure(value=scenario.duration_hours, unit="hours", label="Scenario duration"),
        "services_hit": Figure(value=len(impact.services), label="Services hit"),
        "sla_breaks": Figure(value=sum(r.breaks for r in impact.sla_budgets), label="SLA breaks"),
    }
    quoted: dict[str, str] = {
        "outcome": str(run.outcome),
        "scenario": scenario.title,
        "expected_response": scenario.expected_response,
    }
    if run.recovery_seconds is not None:
        figures["recovery_minutes"] = Figure(value=round(run.recovery_seconds / 60, 2), unit="minutes")
    for i, c in enumerate(readiness.recovery, start=1):
        quoted[f"service_{i}"] = c.service
        if c.rto_hours is not None:
            figures[f"service_{i}.rto_hours"] = Figure(value=c.rto_hours, unit="hours", label=f"RTO of service_{i}")
        if c.real_mttr_median_hours is not None:
            figures[f"service_{i}.real_mttr_hours"] = Figure(
                value=c.real_mttr_median_hours, unit="hours", label=f"Median real MTTR of service_{i}"
            )
    for i, f in enumerate([f for f in readiness.findings if f.points], start=1):
        quoted[f"finding_{i}"] = f.detail
        figures[f"finding_{i}.points"] = Figure(value=f.points, unit="points", label=f"Points finding_{i} costs")
    return narrate(
        "planning",
        figures,
        ["Each finding costs the readiness score the points shown."],
        lambda: template_summary(scenario, run, readiness, impact),
        narrator,
        usage,
        quoted=quoted,
    )


def build_drill_charts(readiness: ReadinessSection, past: HistorySection) -> dict[str, bytes]:
    """Recovery vs RTO vs real MTTR per directly failed service, and the readiness score of every drill over time."""
    charts: dict[str, bytes] = {}
    if readiness.recovery:
        rows = readiness.recovery
        charts["recovery-vs-rto"] = grouped_bar_chart(
            "Drill recovery and real MTTR against the RTO (dashes)",
            [r.service for r in rows],
            {
                "drill recovery": [
                    None if r.measured_recovery_seconds is None else r.measured_recovery_seconds / 3600 for r in rows
                ],
                "real MTTR (median, SEV1/SEV2)": [r.real_mttr_median_hours for r in rows],
            },
            "hours",
            references=[r.rto_hours for r in rows],
        )
    series: dict[str, list[tuple[date, float | None]]] = {}
    for d in sorted(past.drills, key=lambda r: r.as_of):
        series.setdefault(d.scenario, []).append((d.as_of, d.readiness_score))
    if series:
        charts["readiness-trend"] = line_chart("Readiness score by drill", series, "score (0-100)")
    return charts


def incident_rows(scenario: Scenario, run: DrillRun, impact: ImpactSection, as_of: date) -> list[dict[str, str]]:
    """The drill-incident rows: one per directly failed service, owned by the first contact (else the service
    owner)."""
    owner = (
        scenario.contacts[0].name if scenario.contacts else next((r.owner for r in impact.services if r.direct), None)
    )
    return drill_incident_rows(scenario, run, impact.primary_services, owner, as_of)


def drill_record(scenario: Scenario, run: DrillRun, primary_services: list[str]) -> dict[str, Any]:
    """What the drill schedule needs from this drill, stored beside the report in the history store."""
    return {
        "scenario_id": scenario.id,
        "outcome": str(run.outcome),
        "primary_services": primary_services,
        "target": scenario.target.model_dump(mode="json"),
    }


drill_summary_task = compute_task(drill_summary, name="write_drill_summary")
