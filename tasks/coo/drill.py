"""The contingency drill's steps around the drill itself: which scenario to drill, and what the drill showed (impact,
readiness, history), with what it leaves behind (history record, drill incident)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from opsflow.datasets import OpsData
from opsflow.findings import FocusSection, Headline, Section
from opsflow.history import HistoryStore
from opsflow.period import Period
from tasks.continuity.assess import (
    HistorySection,
    ImpactSection,
    ReadinessSection,
    ScheduleSection,
    assess_readiness_task,
    compute_impact_task,
    drill_section,
    plan_schedule_task,
    previous_drill,
)
from tasks.continuity.scenarios import (
    EXERCISED,
    DrillRun,
    Scenario,
    load_scenarios_task,
    record_drill_incident_task,
)
from tasks.coo.drill_report import (
    build_drill_charts,
    drill_headlines,
    drill_record,
    history_section,
    incident_rows,
    no_scenario_message,
)
from tasks.coo.focus import focus_on
from tasks.coo.sections import risk_evidence
from tasks.reporting.present import attach_previous


@dataclass
class DrillChoice:
    """The drill schedule and the scenario it chose (None, and `why_none` says why, when there is none to drill)."""

    schedule: ScheduleSection
    scenario: Scenario | None
    why_none: str


def choose_scenario(
    workspace: Path,
    data: OpsData,
    history: HistoryStore,
    period: Period,
    requested: str | None,
    cycle_days: int,
) -> DrillChoice:
    """The workspace's drill schedule and the scenario to drill: the requested one, else the one with the highest
    residual risk x days since it was last exercised."""
    scenarios = load_scenarios_task(workspace)
    _, risks = risk_evidence(data, period)
    frame = data.frame
    schedule = plan_schedule_task(
        scenarios,
        requested,
        frame("services"),
        frame("vendors"),
        frame("risks"),
        risks,
        frame("incidents"),
        history,
        period,
        cycle_days,
    )
    scenario = scenarios.get(schedule.chosen)
    why_none = no_scenario_message(workspace, requested, scenarios) if scenario is None else ""
    return DrillChoice(schedule, scenario, why_none)


@dataclass
class DrillFindings:
    """What a drill showed, as the report's sections, and what it leaves behind."""

    scenario: Scenario
    run: DrillRun
    period: Period
    readiness: ReadinessSection
    impact: ImpactSection
    past: HistorySection
    sections: list[Section]
    focus: FocusSection

    @property
    def key(self) -> str:
        """One report folder, history row and Slack post per scenario and day."""
        return f"{self.scenario.id}-{self.period.as_of.isoformat()}"

    def subtitle(self, company: str) -> str:
        return f"{company} · {self.period.as_of:%d %B %Y} · {self.run.outcome} · readiness {self.readiness.score}/100"

    def charts(self) -> dict[str, bytes]:
        return build_drill_charts(self.readiness, self.past)

    def record(self) -> dict[str, Any]:
        """What the drill schedule needs from this drill, saved beside the report."""
        return drill_record(self.scenario, self.run, self.impact.primary_services)

    def headlines(self) -> list[Headline]:
        return drill_headlines(self.sections)

    def result_fields(self) -> dict[str, Any]:
        """The drill in brief, for the flow's result: scenario, outcome, readiness score, recovery time."""
        return {
            "scenario": self.scenario.id,
            "outcome": str(self.run.outcome),
            "readiness_score": self.readiness.score,
            "recovery_seconds": self.run.recovery_seconds,
        }

    def record_incident(self, workspace: Path) -> Path | None:
        """A drill that exercised the recovery goes into drills/drill-incidents.csv (incident contract, kind drill)."""
        if self.run.outcome not in EXERCISED:
            return None
        return record_drill_incident_task(
            workspace, incident_rows(self.scenario, self.run, self.impact, self.period.as_of)
        )


def exercised_risks(scenario: Scenario, schedule: ScheduleSection, risks: pd.DataFrame | None) -> str:
    """One line: the register's risks this drill exercises (declared in the scenario, and the open risks on the
    services it takes down), with a declared risk's if-then plan, so the drill is read against the plan it tests."""
    declared = list(scenario.risks)
    candidate = next((c for c in schedule.candidates if c.scenario == scenario.id), None)
    linked = [r for r in (candidate.risk_ids or "").split(";") if r and r not in declared] if candidate else []
    if not declared and not linked:
        return ""
    rows = {} if risks is None else {str(r["risk_id"]): r for r in risks.to_dict("records")}
    parts = []
    for risk_id in declared:
        row = rows.get(risk_id)
        trigger = row.get("contingency_trigger") if row is not None else None
        response = row.get("contingency_response") if row is not None else None
        plan = (
            f" (if: {trigger}; then: {response})"
            if isinstance(trigger, str) and isinstance(response, str)
            else " (no if-then plan in the register)"
            if row is not None
            else " (not in the register)"
        )
        parts.append(f"{risk_id}{plan}")
    text = "Risks this drill exercises: " + "; ".join(parts) if parts else ""
    if linked:
        shown = ", ".join(linked[:8]) + (f" and {len(linked) - 8} more" if len(linked) > 8 else "")
        text += ("; " if text else "Risks this drill exercises: ") + f"open risks on its services: {shown}"
    return text + "."


def assess_drill(
    scenario: Scenario,
    run: DrillRun,
    schedule: ScheduleSection,
    data: OpsData,
    history: HistoryStore,
    period: Period,
) -> DrillFindings:
    """The drill's impact, readiness score, its place in the scenario's history, compared with the previous drill."""
    frame = data.frame
    impact = compute_impact_task(
        scenario, frame("services"), frame("vendors"), frame("sla_events"), frame("process_events"), period
    )
    readiness = assess_readiness_task(
        scenario, run, impact, frame("services"), frame("vendors"), frame("incidents"), period
    )
    drill = drill_section(scenario, run)
    if linked := exercised_risks(scenario, schedule, frame("risks")):
        drill.note = f"{linked} {drill.note}" if drill.note else linked
    past = history_section(history, scenario.id, period.as_of, [readiness, drill, impact], run.outcome)
    sections: list[Section] = [readiness, drill, impact, schedule, past]
    attach_previous(sections, previous_drill(history, scenario.id, period.as_of))
    focus = focus_on(sections, period)
    return DrillFindings(scenario, run, period, readiness, impact, past, sections, focus)
