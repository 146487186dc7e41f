"""A week's sections of operations (incidents, SLAs, changes, capacity, vendors, projects, risks, KPIs, processes),
computed the same way for the weekly audit and the daily brief."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from opsflow.datasets import OpsData
from opsflow.findings import Section
from opsflow.handoff import as_is
from opsflow.history import HistoryStore
from opsflow.memory import release_free_memory
from opsflow.period import Period
from tasks.incidents.metrics import IncidentSection, compute_incidents_task
from tasks.performance_metrics.kpis import KpiSection, compute_kpis_task
from tasks.performance_metrics.registry import kpis_with_registered_task
from tasks.process_optimization.mining import ProcessSection, compute_processes_task
from tasks.project_management.projects import ProjectSection, compute_projects_task, with_actual_history
from tasks.risk_management.register import RiskSection, compute_risks_task
from tasks.service_levels.capacity import GROWTH, CapacitySection, compute_capacity_task
from tasks.service_levels.changes import ChangeSection, compute_changes_task
from tasks.service_levels.slo import SlaSection, compute_sla_task
from tasks.vendors.scorecard import VendorSection, compute_vendors_task


@dataclass
class WeekSections:
    """The sections, each by name, and `sections` in the report's order (one list: annotating it with last week's
    figures annotates the report's)."""

    incidents: IncidentSection
    sla: SlaSection
    changes: ChangeSection
    capacity: CapacitySection
    vendors: VendorSection
    projects: ProjectSection
    risks: RiskSection
    kpis: KpiSection
    processes: ProcessSection

    def __post_init__(self) -> None:
        self.sections: list[Section] = [
            self.incidents,
            self.sla,
            self.changes,
            self.capacity,
            self.vendors,
            self.projects,
            self.risks,
            self.kpis,
            self.processes,
        ]

    @property
    def open_severities(self) -> list[str]:
        """The severities of the open major incidents (each brings the Slack post to its channel too)."""
        return sorted({r.severity for r in self.incidents.open_major})


def compute_week(
    data: OpsData,
    period: Period,
    history: HistoryStore,
    end_activities: dict[str, list[str]] | None = None,
    parallel: bool = False,
    growth: float = GROWTH,
) -> WeekSections:
    """The sections for `period` (`end_activities`: per process, where a case completes; `growth`: the capacity
    what-if, per month). With `parallel`, the independent ones go to the flow's task runner together (threads, or a
    Dask cluster if configured)."""
    frame = data.frame
    if parallel:
        incidents_run = compute_incidents_task.submit(frame("incidents"), frame("services"), period)
        sla_run = compute_sla_task.submit(
            frame("sla_events"), period, frame("services"), frame("incidents"), frame("service_metrics")
        )
        vendors_run = compute_vendors_task.submit(frame("vendors"), frame("vendor_deliveries"), period)
        projects_run = compute_projects_task.submit(frame("projects"), frame("project_tasks"), period)
        capacity_run = compute_capacity_task.submit(frame("capacity"), period, frame("services"), growth)
        changes_run = compute_changes_task.submit(frame("changes"), period, frame("incidents"), frame("services"))
        incidents, sla, vendors = incidents_run.result(), sla_run.result(), vendors_run.result()
        projects, capacity, changes = projects_run.result(), capacity_run.result(), changes_run.result()
    else:
        incidents = compute_incidents_task(frame("incidents"), frame("services"), period)
        sla = compute_sla_task(
            frame("sla_events"), period, frame("services"), frame("incidents"), frame("service_metrics")
        )
        vendors = compute_vendors_task(frame("vendors"), frame("vendor_deliveries"), period)
        projects = compute_projects_task(frame("projects"), frame("project_tasks"), period)
        capacity = compute_capacity_task(frame("capacity"), period, frame("services"), growth)
        changes = compute_changes_task(frame("changes"), period, frame("incidents"), frame("services"))
    projects = with_actual_history(projects, history, "weekly-audit", period.as_of)
    # Process mining, the largest in memory, runs once the others are done and their working sets are given back, so
    # they never add up.
    release_free_memory()
    processes = compute_processes_task(frame("process_events"), period, end_activities)
    flagged = set(vendors.flagged_vendor_ids)
    risks = compute_risks_task(frame("risks"), frame("incidents"), frame("services"), period, flagged)
    # KPIs last: the KPIs other flows registered are measured by this week's figures.
    measured = [incidents, sla, changes, capacity, vendors, projects, risks, processes]
    kpis = compute_kpis_task(*kpis_with_registered_task(history, data, as_is(measured), period.as_of), period)
    return WeekSections(incidents, sla, changes, capacity, vendors, projects, risks, kpis, processes)


def risk_evidence(data: OpsData, period: Period) -> tuple[VendorSection, RiskSection]:
    """The vendor scorecard and the risk register's evidence (incidents, and the vendors the scorecard flags)."""
    vendors = compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), period)
    flagged = set(vendors.flagged_vendor_ids)
    risks = compute_risks_task(data.frame("risks"), data.frame("incidents"), data.frame("services"), period, flagged)
    return vendors, risks


def kpi_sources(data: OpsData, as_of: date, timezone: str) -> list[Section]:
    """The SLA and vendor figures as of `as_of`, computed by the audit's own tasks: a KPI with a source reads them."""
    day = Period(as_of, timezone)
    return [
        compute_sla_task(data.frame("sla_events"), day, data.frame("services"), None, data.frame("service_metrics")),
        compute_vendors_task(data.frame("vendors"), data.frame("vendor_deliveries"), day),
    ]
