"""What a continuity drill means: impact through the dependency graph, readiness score, schedule and history.

Each function takes the scenario, the drill run and the workspace's frames and returns a report section.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import networkx as nx
import pandas as pd
from pydantic import BaseModel, Field

from opsflow import cells
from opsflow.findings import Action, Basis, Headline, OptRatio, Section, Urgency
from opsflow.history import HistoryStore, StoredRun
from opsflow.period import Period
from opsflow.probes import ProbeResult
from opsflow.tasking import compute_task
from tasks.continuity.scenarios import EXERCISED, FLOW, DrillRun, Outcome, Scenario, ScenarioSet, StepResult, TargetKind
from tasks.incidents.metrics import MAJOR, prepare_incidents
from tasks.risk_management.register import RiskSection
from tasks.service_levels.slo import BUDGET_DAYS, Status, compute_sla

RUNBOOK_MAX_AGE_DAYS = 180
MTTR_DAYS = 365
PROCESS_RATE_DAYS = 28
OPEN_CASE_DAYS = 30
MAX_POINTS_PER_CHECK = 20

WEIGHTS: dict[str, tuple[int, int]] = {
    "runbook_missing": (10, 4),
    "runbook_stale": (8, 3),
    "rto_over_mtpd": (8, 3),
    "objectives_missing": (4, 2),
}
"""Points lost per hit service by tier (critical, standard)."""

SCENARIO_WEIGHTS: dict[str, int] = {
    "backup_vendor": 15,
    "contacts_missing": 10,
    "contact_unreachable": 3,
    "steady_state_not_holding": 20,
    "fault_failed": 10,
    "not_recovered": 25,
    "recovery_over_rto": 15,
    "steady_state_after": 10,
    "rollback_failed": 10,
    "real_mttr_over_rto": 10,
}
"""Points lost per finding of the scenario (contact_unreachable per contact, real_mttr_over_rto per service)."""


def _split(value: Any) -> list[str]:
    text = cells.text(value)
    return [p.strip() for p in text.split(";") if p.strip()] if text else []


def _services_by_id(services: pd.DataFrame | None) -> dict[str, dict[Any, Any]]:
    if services is None or services.empty:
        return {}
    return {str(r["service_id"]): r for r in services.drop_duplicates("service_id").to_dict("records")}


def _vendors_by_id(vendors: pd.DataFrame | None) -> dict[str, dict[Any, Any]]:
    if vendors is None or vendors.empty:
        return {}
    return {str(r["vendor_id"]): r for r in vendors.drop_duplicates("vendor_id").to_dict("records")}


# -- the dependency graph ----------------------------------------------------------------------------------------


def service_node(service_id: str) -> str:
    return f"service:{service_id}"


def vendor_node(vendor_id: str) -> str:
    return f"vendor:{vendor_id}"


def dependency_graph(services: pd.DataFrame | None) -> nx.DiGraph:
    """Services and vendors as nodes, an edge from each dependency (service or vendor) to the service needing it."""
    graph = nx.DiGraph()
    for sid, row in _services_by_id(services).items():
        graph.add_node(service_node(sid), kind="service", id=sid)
        for dep in _split(row.get("depends_on")):
            graph.add_edge(service_node(dep), service_node(sid))
        for vendor in _split(row.get("vendor_ids")):
            graph.add_edge(vendor_node(vendor), service_node(sid))
    for node in graph.nodes:
        kind, _, ident = node.partition(":")
        graph.nodes[node].setdefault("kind", kind)
        graph.nodes[node].setdefault("id", ident)
    return graph


def failed_nodes(scenario: Scenario, services: pd.DataFrame | None, vendors: pd.DataFrame | None) -> list[str]:
    """The nodes the scenario takes out: the vendor or service itself, a site's services, a person's services and
    vendors (owner) plus those the scenario lists."""
    target = scenario.target
    nodes = [service_node(s) for s in target.services]
    if target.kind == TargetKind.VENDOR:
        nodes.insert(0, vendor_node(target.id))
    elif target.kind == TargetKind.SERVICE:
        nodes.insert(0, service_node(target.id))
    elif target.kind == TargetKind.PERSON:
        owned = [sid for sid, r in _services_by_id(services).items() if cells.text(r.get("owner")) == target.id]
        nodes += [service_node(s) for s in owned]
        nodes += [vendor_node(v) for v, r in _vendors_by_id(vendors).items() if cells.text(r.get("owner")) == target.id]
    return list(dict.fromkeys(nodes))


def primary_services(scenario: Scenario, services: pd.DataFrame | None, vendors: pd.DataFrame | None) -> list[str]:
    """Services that fail first: the failed services themselves and those that use a failed vendor directly."""
    graph = dependency_graph(services)
    out: list[str] = []
    for node in failed_nodes(scenario, services, vendors):
        if node.startswith("service:"):
            out.append(node.removeprefix("service:"))
        elif node in graph:
            out += [s.removeprefix("service:") for s in sorted(graph.successors(node))]
    return list(dict.fromkeys(out))


# -- impact ------------------------------------------------------------------------------------------------------


class ServiceImpact(BaseModel):
    """One service the outage reaches, how, and whether the outage outlasts its objectives."""

    service: str
    name: str | None = None
    tier: str | None = None
    owner: str | None = None
    direct: bool = Field(description="Fails first (the target itself, or it uses the failed vendor directly).")
    path: str = Field(description="Shortest dependency path from the failed node to the service.")
    rto_hours: float | None = None
    mtpd_hours: float | None = None
    outage_over_rto: bool | None = Field(None, description="Scenario duration > RTO.")
    outage_over_mtpd: bool | None = Field(None, description="Scenario duration > MTPD.")
    sla_categories: str | None = Field(None, description="SLA categories measured on the service, ';'-separated.")
    sla_breaks: str | None = Field(None, description="Categories whose 30-day error budget the outage exhausts.")


class SlaImpact(BaseModel):
    """One (category, service) error budget set against the outage."""

    category: str
    service: str
    objective: float = Field(json_schema_extra={"unit": "ratio"})
    budget_remaining: OptRatio = Field(None, description="Share of the 30-day error budget left at as_of.")
    budget_minutes_left: float | None = Field(
        None, description="max(remaining, 0) x (1 - objective) x 30 days, in minutes."
    )
    outage_minutes: float
    breaks: bool = Field(description="The outage is longer than the budget left: the SLA is breached.")
    status: str = Field(description="Budget status at as_of (sla section bands).")


class ProcessImpact(BaseModel):
    """A business process whose activities run on a failed vendor or a hit service."""

    process: str
    touches: str = Field(description="Resources of the process that the outage takes out, ';'-separated.")
    open_cases: int = Field(description="Cases in flight at as_of (see definitions).")
    cases_during_outage: float = Field(description="New cases expected over the outage at the last 28 days' rate.")


class ImpactSection(Section):
    """Who and what the scenario's outage reaches."""

    name: str = "impact"
    title: str = "Impact"
    services: list[ServiceImpact] = Field(default_factory=list, description="Services the outage reaches.")
    sla_budgets: list[SlaImpact] = Field(default_factory=list, description="SLA error budgets against the outage.")
    processes: list[ProcessImpact] = Field(default_factory=list, description="Business processes hit.")
    primary_services: list[str] = Field(default_factory=list)


IMPACT_DEFINITIONS = {
    "dependency graph": (
        "A directed graph of services and vendors with an edge from each entry of a service's depends_on and "
        "vendor_ids to the service. Every dependency is treated as hard: a service with another vendor for the same "
        "need may in fact stay up."
    ),
    "services hit": (
        "The failed nodes (vendor, service, a site's or a person's services) and every service reachable from them "
        "(networkx descendants)."
    ),
    "direct": "The service is the target, is listed by the scenario, or uses the failed vendor itself.",
    "SLA breaks": (
        "For each (category, service) of a hit service with an error budget in the SLA section: budget minutes "
        f"left = max(budget_remaining, 0) x (1 - objective) x {BUDGET_DAYS} days; the outage breaks the SLA when its "
        "duration is longer. The budget counts events, read here as time: exact for periodic checks (uptime), an "
        "approximation for per-order commitments."
    ),
    "processes hit": (
        "A process is hit when one of its activities' resource is a hit service id, or the failed vendor's id or "
        "name (case-insensitive). There is no customer column in the contract, so customers are counted as cases."
    ),
    "open cases": (
        f"Cases whose latest activity before the period end ended in the {OPEN_CASE_DAYS} days before it and is "
        "not the process's final activity (the most frequent last activity of its cases)."
    ),
    "cases during outage": (
        f"Cases started in the {PROCESS_RATE_DAYS} days before the period end / ({PROCESS_RATE_DAYS} x 24) x "
        "duration_hours."
    ),
}


def _sla_impacts(
    sla_events: pd.DataFrame | None,
    services: pd.DataFrame | None,
    hit: list[str],
    duration_hours: float,
    period: Period,
) -> tuple[list[SlaImpact], dict[str, list[str]]]:
    """Error budgets of the hit services (from the SLA section) against the outage, and categories per service."""
    if sla_events is None:
        return [], {}
    measured = sla_events[sla_events["service"].isin(hit) & (sla_events["measured_at"] < period.end)]
    categories = measured.groupby("service")["category"].unique()
    per_service = {str(s): sorted(str(c) for c in cats) for s, cats in categories.items()}
    section = compute_sla(measured, period, services)
    outage = duration_hours * 60
    rows = []
    for b in section.error_budgets:
        minutes = (
            None
            if b.budget_remaining is None
            else max(b.budget_remaining, 0.0) * b.allowed_error_ratio * (BUDGET_DAYS * 24 * 60)
        )
        breaks = b.status == Status.EXHAUSTED or (minutes is not None and outage > minutes)
        rows.append(
            SlaImpact(
                category=b.category,
                service=b.service,
                objective=b.objective,
                budget_remaining=b.budget_remaining,
                budget_minutes_left=None if minutes is None else round(minutes, 1),
                outage_minutes=outage,
                breaks=breaks,
                status=b.status,
            )
        )
    return rows, per_service


def _process_impacts(
    events: pd.DataFrame | None, resources: dict[str, str], duration_hours: float, period: Period
) -> list[ProcessImpact]:
    """Processes that use a hit resource: open cases at the period end and cases expected during the outage."""
    if events is None or events.empty or not resources:
        return []
    frame = events[events["started_at"] < period.end]
    resource = frame["resource"].astype("string").str.strip().str.lower()
    wanted = {k.lower(): v for k, v in resources.items()}
    matched = frame[resource.isin(list(wanted))]
    if matched.empty:
        return []
    out = []
    for process, part in matched.groupby("process"):
        touched = sorted({wanted[str(r).strip().lower()] for r in part["resource"].dropna()})
        cases = frame[frame["process"] == process].sort_values(["case_id", "ended_at"])
        last = cases.groupby("case_id").agg(activity=("activity", "last"), ended=("ended_at", "max"))
        started = cases.groupby("case_id")["started_at"].min()
        final = last["activity"].mode()
        final_activity = str(final.iloc[0]) if len(final) else None
        recent = last["ended"] >= period.days_back(OPEN_CASE_DAYS)
        open_cases = int((recent & (last["activity"] != final_activity)).sum())
        new = int((started >= period.days_back(PROCESS_RATE_DAYS)).sum())
        out.append(
            ProcessImpact(
                process=str(process),
                touches=";".join(touched),
                open_cases=open_cases,
                cases_during_outage=round(new / (PROCESS_RATE_DAYS * 24) * duration_hours, 1),
            )
        )
    return out


def compute_impact(
    scenario: Scenario,
    services: pd.DataFrame | None,
    vendors: pd.DataFrame | None,
    sla_events: pd.DataFrame | None,
    process_events: pd.DataFrame | None,
    period: Period,
) -> ImpactSection:
    """The services, SLAs and processes the scenario's outage reaches, and which objectives it outlasts."""
    if services is None:
        return ImpactSection(
            available=False, note="The services dataset is not configured: no dependency graph.", definitions={}
        )
    graph = dependency_graph(services)
    catalogue = _services_by_id(services)
    failed = failed_nodes(scenario, services, vendors)
    unknown = [n for n in failed if n not in graph and n.removeprefix("service:") not in catalogue]
    primary = primary_services(scenario, services, vendors)
    reach: dict[str, str] = {}
    for node in failed:
        if node not in graph:
            continue
        paths = nx.single_source_shortest_path(graph, node)
        for target, path in paths.items():
            if target.startswith("service:") and (target not in reach or len(path) < reach[target].count(" -> ") + 1):
                reach[target] = " -> ".join(p.partition(":")[2] for p in path)
    hit = list(dict.fromkeys([*primary, *sorted(t.removeprefix("service:") for t in reach)]))
    duration = scenario.duration_hours
    sla_rows, categories = _sla_impacts(sla_events, services, hit, duration, period)
    breaks: dict[str, list[str]] = {}
    for row in sla_rows:
        if row.breaks:
            breaks.setdefault(row.service, []).append(row.category)
    rows = []
    for sid in hit:
        info = catalogue.get(sid, {})
        rto, mtpd = cells.number(info.get("rto_hours")), cells.number(info.get("mtpd_hours"))
        rows.append(
            ServiceImpact(
                service=sid,
                name=cells.text(info.get("name")),
                tier=cells.text(info.get("tier")),
                owner=cells.text(info.get("owner")),
                direct=sid in primary,
                path=reach.get(service_node(sid), sid),
                rto_hours=rto,
                mtpd_hours=mtpd,
                outage_over_rto=None if rto is None else duration > rto,
                outage_over_mtpd=None if mtpd is None else duration > mtpd,
                sla_categories=";".join(categories.get(sid, [])) or None,
                sla_breaks=";".join(sorted(breaks.get(sid, []))) or None,
            )
        )
    resources = {sid: sid for sid in hit}
    if scenario.target.kind == TargetKind.VENDOR:
        resources[scenario.target.id] = scenario.target.id
        name = cells.text(_vendors_by_id(vendors).get(scenario.target.id, {}).get("name"))
        if name:
            resources[name] = scenario.target.id
    processes = _process_impacts(process_events, resources, duration, period)

    over_mtpd = [r for r in rows if r.outage_over_mtpd]
    breaking = [r for r in sla_rows if r.breaks]
    actions = [
        Action(
            text=(
                f"A {duration:g}-hour outage of {scenario.target.id} breaks the {r.category} SLA on {r.service}: "
                f"{r.budget_minutes_left or 0:.0f} minutes of error budget left (objective {r.objective:.2%})."
            ),
            urgency=Urgency.IMPORTANT,
            owner=cells.text(catalogue.get(r.service, {}).get("owner")),
            source=f"sla {r.category}/{r.service}",
            section="impact",
            kind="drill_sla_break",
        )
        for r in breaking
        if r.service in primary
    ]
    actions += [
        Action(
            text=(
                f"{r.service} would be down {duration:g} h in this scenario, longer than its MTPD of "
                f"{r.mtpd_hours:g} h: plan a workaround that keeps it within the tolerable disruption."
            ),
            urgency=Urgency.IMPORTANT if r.tier == "critical" else Urgency.ON_RADAR,
            owner=r.owner,
            source=f"service {r.service}",
            section="impact",
            kind="drill_outage_over_mtpd",
        )
        for r in over_mtpd
        if r.direct
    ]
    notes = []
    if unknown:
        notes.append(f"Not in the service catalogue: {', '.join(n.partition(':')[2] for n in unknown)}.")
    if process_events is None:
        notes.append("No process_events dataset: open orders and cases are not counted.")
    elif not processes:
        notes.append("No process activity runs on a hit service or the failed vendor: open cases are not counted.")
    headlines = [
        Headline(key="impact.services_hit", label="Services hit", value=len(rows), better="lower"),
        Headline(
            key="impact.critical_hit",
            label="Critical services hit",
            value=sum(r.tier == "critical" for r in rows),
            better="lower",
        ),
        Headline(key="impact.sla_breaks", label="SLAs the outage breaks", value=len(breaking), better="lower"),
        Headline(
            key="impact.open_cases", label="Open cases hit", value=sum(p.open_cases for p in processes), better="lower"
        ),
    ]
    return ImpactSection(
        headlines=headlines,
        actions=actions,
        basis=[Basis(metric="impact.services_hit", rows_used=len(catalogue))],
        definitions=IMPACT_DEFINITIONS,
        note=" ".join(notes) or None,
        services=rows,
        sla_budgets=sla_rows,
        processes=processes,
        primary_services=primary,
    )


# -- readiness ---------------------------------------------------------------------------------------------------


class Finding(BaseModel):
    """One readiness check that failed, and what it cost."""

    check: str
    subject: str = Field(description="The service, vendor, contact or step the check is about.")
    points: int = Field(description="Points it takes off the readiness score.")
    detail: str
    owner: str | None = None


class RecoveryComparison(BaseModel):
    """The drill's measured recovery next to the RTO and the real MTTR of a directly failed service."""

    service: str
    rto_hours: float | None = None
    measured_recovery_seconds: float | None = Field(None, description="Time to steady state in the drill.")
    real_mttr_median_hours: float | None = Field(
        None, description="Median hours to resolve, real SEV1/SEV2 incidents, 365 days."
    )
    real_incidents: int = Field(0, description="Resolved real SEV1/SEV2 incidents the median rests on.")
    drill_within_rto: bool | None = None
    real_within_rto: bool | None = None
    plan_contradicted: bool = Field(
        False, description="The drill recovers within the RTO while real incidents take longer than it."
    )


class ReadinessSection(Section):
    """The readiness score and the findings that cost points."""

    name: str = "readiness"
    title: str = "Readiness"
    score: int = 100
    findings: list[Finding] = Field(default_factory=list, description="Checks that failed, with the points lost.")
    recovery: list[RecoveryComparison] = Field(
        default_factory=list, description="Measured recovery vs RTO vs real MTTR, per directly failed service."
    )


READINESS_DEFINITIONS = {
    "readiness score": (
        f"100 minus the points of every failed check, floor 0; a check that repeats (per service, per contact) "
        f"costs at most {MAX_POINTS_PER_CHECK} points in total however many fail it."
    ),
    "per hit service (critical / standard)": (
        "runbook_missing 10/4 (no runbook_url); runbook_stale 8/3 (runbook_tested_on empty or more than "
        f"{RUNBOOK_MAX_AGE_DAYS} days before as_of); rto_over_mtpd 8/3 (rto_hours > mtpd_hours); objectives_missing "
        "4/2 (rto_hours or mtpd_hours empty)."
    ),
    "per scenario": (
        "backup_vendor 15 (vendor target without a backup_vendor_id, or with one that is not in vendors); "
        "contacts_missing 10; contact_unreachable 3 per contact without phone or email; steady_state_not_holding 20 "
        "(drill stopped before it started); fault_failed 10; not_recovered 25 (steady state not back within the "
        "recovery timeout, or a recovery step failed); recovery_over_rto 15 (measured recovery longer than the "
        "shortest RTO of the directly failed services); steady_state_after 10; rollback_failed 10; "
        "real_mttr_over_rto 10 per directly failed service whose real MTTR exceeds its RTO."
    ),
    "real MTTR": (
        f"Median hours from opened_at to resolved_at of real SEV1/SEV2 incidents on the service opened in the "
        f"{MTTR_DAYS} days before the period end and resolved before it (the incidents section's MTTR rules). "
        "Only major incidents are disruptions an RTO is written for: a SEV4 ticket left open for days is not."
    ),
    "plan contradicted": "The drill recovered within the RTO but the service's real MTTR is longer than the RTO.",
}


def real_mttr(incidents: pd.DataFrame | None, period: Period) -> dict[str, tuple[float, int]]:
    """Per service: median hours to resolve real SEV1/SEV2 incidents opened in the 365 days, and how many."""
    if incidents is None or incidents.empty:
        return {}
    frame = prepare_incidents(incidents, period)
    frame = frame[
        (frame["kind"] == "real")
        & frame["severity"].isin(MAJOR)
        & (frame["opened_at"] >= period.days_back(MTTR_DAYS))
        & frame["resolved_at"].notna()
    ]
    hours = (frame["resolved_at"] - frame["opened_at"]).dt.total_seconds() / 3600
    grouped = hours.groupby(frame["service"]).agg(["median", "size"])
    return {str(s): (float(r["median"]), int(r["size"])) for s, r in grouped.iterrows()}


def _service_findings(impact: ImpactSection, services: pd.DataFrame | None, as_of: date) -> list[Finding]:
    catalogue = _services_by_id(services)
    findings = []
    for row in impact.services:
        info = catalogue.get(row.service, {})
        tier = 0 if row.tier == "critical" else 1

        cost = {check: weights[tier] for check, weights in WEIGHTS.items()}
        owner = row.owner
        if cells.text(info.get("runbook_url")) is None:
            findings.append(
                Finding(check="runbook_missing", subject=row.service, points=cost["runbook_missing"],
                        detail=f"{row.service} ({row.tier}) has no runbook.", owner=owner)
            )  # fmt: skip
        else:
            tested = info.get("runbook_tested_on")
            tested_on = None if tested is None or pd.isna(tested) else pd.Timestamp(tested).date()
            if tested_on is None or (as_of - tested_on).days > RUNBOOK_MAX_AGE_DAYS:
                when = "never" if tested_on is None else f"{(as_of - tested_on).days} days ago ({tested_on})"
                findings.append(
                    Finding(check="runbook_stale", subject=row.service, points=cost["runbook_stale"],
                            detail=f"{row.service} ({row.tier}) runbook last tested {when}, more than "
                                   f"{RUNBOOK_MAX_AGE_DAYS} days before {as_of}.", owner=owner)
                )  # fmt: skip
        if row.rto_hours is None or row.mtpd_hours is None:
            findings.append(
                Finding(check="objectives_missing", subject=row.service, points=cost["objectives_missing"],
                        detail=f"{row.service} has no RTO or MTPD.", owner=owner)
            )  # fmt: skip
        elif row.rto_hours > row.mtpd_hours:
            findings.append(
                Finding(check="rto_over_mtpd", subject=row.service, points=cost["rto_over_mtpd"],
                        detail=f"{row.service} RTO {row.rto_hours:g} h is longer than its MTPD {row.mtpd_hours:g} h.",
                        owner=owner)
            )  # fmt: skip
    return findings


def _scenario_findings(scenario: Scenario, vendors: pd.DataFrame | None) -> list[Finding]:
    findings = []
    target = scenario.target
    if target.kind == TargetKind.VENDOR:
        catalogue = _vendors_by_id(vendors)
        info = catalogue.get(target.id, {})
        backup = cells.text(info.get("backup_vendor_id"))
        owner = cells.text(info.get("owner"))
        if backup is None:
            findings.append(
                Finding(check="backup_vendor", subject=target.id, points=SCENARIO_WEIGHTS["backup_vendor"],
                        detail=f"Vendor {target.id} has no backup vendor.", owner=owner)
            )  # fmt: skip
        elif backup not in catalogue:
            findings.append(
                Finding(check="backup_vendor", subject=target.id, points=SCENARIO_WEIGHTS["backup_vendor"],
                        detail=f"Backup vendor {backup} of {target.id} is not a qualified vendor (not in vendors).",
                        owner=owner)
            )  # fmt: skip
    if not scenario.contacts:
        findings.append(
            Finding(check="contacts_missing", subject=scenario.id, points=SCENARIO_WEIGHTS["contacts_missing"],
                    detail="The scenario lists no contacts.")
        )  # fmt: skip
    for contact in scenario.contacts:
        if not contact.reachable:
            findings.append(
                Finding(check="contact_unreachable", subject=contact.name,
                        points=SCENARIO_WEIGHTS["contact_unreachable"],
                        detail=f"Contact {contact.name} ({contact.role}) has no phone or email.")
            )  # fmt: skip
    return findings


def _failed_steps(steps: list[StepResult]) -> list[StepResult]:
    return [s for s in steps if not s.ok]


def _run_findings(scenario: Scenario, run: DrillRun, shortest_rto: float | None, owner: str | None) -> list[Finding]:
    findings = []

    def add(check: str, subject: str, detail: str) -> None:
        findings.append(
            Finding(check=check, subject=subject, points=SCENARIO_WEIGHTS[check], detail=detail, owner=owner)
        )

    if run.outcome == Outcome.ABORTED:
        add("steady_state_not_holding", scenario.id, run.note or "Steady state did not hold before the drill.")
        return findings
    for step in _failed_steps([s for s in run.steps if s.phase == "fault"]):
        add("fault_failed", step.step, step.detail)
    if run.recovered is False:
        add("not_recovered", scenario.id, run.note or "Steady state did not return after recovery.")
    elif run.recovery_seconds is not None and shortest_rto is not None and run.recovery_seconds > shortest_rto * 3600:
        add(
            "recovery_over_rto",
            scenario.id,
            f"Recovered in {run.recovery_seconds / 3600:.2f} h, RTO {shortest_rto:g} h.",
        )
    failing_after = [r for r in run.steady_after if not r.ok]
    if failing_after and run.recovered is not False:
        add("steady_state_after", scenario.id, "; ".join(f"{r.probe}: {r.detail}" for r in failing_after))
    for step in _failed_steps(run.rollback):
        add("rollback_failed", step.step, step.detail)
    return findings


def _cap(findings: list[Finding]) -> list[Finding]:
    """A check that repeats (per service, per contact) costs at most MAX_POINTS_PER_CHECK in total, or one finding's
    points when they are more: later findings of the check cost what is left (maybe 0)."""
    spent: dict[str, int] = {}
    limit: dict[str, int] = {}
    for f in findings:
        limit.setdefault(f.check, max(MAX_POINTS_PER_CHECK, f.points))
        f.points = max(0, min(f.points, limit[f.check] - spent.get(f.check, 0)))
        spent[f.check] = spent.get(f.check, 0) + f.points
    return findings


def assess_readiness(
    scenario: Scenario,
    run: DrillRun,
    impact: ImpactSection,
    services: pd.DataFrame | None,
    vendors: pd.DataFrame | None,
    incidents: pd.DataFrame | None,
    period: Period,
) -> ReadinessSection:
    """Score 0-100 from runbooks, objectives, backup vendor, contacts and the drill itself; recovery vs RTO vs MTTR."""
    catalogue = _services_by_id(services)
    direct = [r for r in impact.services if r.direct]
    rtos = [r.rto_hours for r in direct if r.rto_hours is not None]
    shortest = min(rtos) if rtos else None
    lead = direct[0].owner if direct else None
    findings = _service_findings(impact, services, period.as_of)
    findings += _scenario_findings(scenario, vendors)
    findings += _run_findings(scenario, run, shortest, lead)

    mttr = real_mttr(incidents, period)
    measured = None if run.recovery_seconds is None else run.recovery_seconds / 3600
    comparisons = []
    for row in direct:
        median, n = mttr.get(row.service, (None, 0))
        drill_ok = None if measured is None or row.rto_hours is None else measured <= row.rto_hours
        real_ok = None if median is None or row.rto_hours is None else median <= row.rto_hours
        contradicted = bool(drill_ok and real_ok is False)
        comparisons.append(
            RecoveryComparison(
                service=row.service,
                rto_hours=row.rto_hours,
                measured_recovery_seconds=run.recovery_seconds,
                real_mttr_median_hours=None if median is None else round(median, 2),
                real_incidents=n,
                drill_within_rto=drill_ok,
                real_within_rto=real_ok,
                plan_contradicted=contradicted,
            )
        )
        if real_ok is False and median is not None and row.rto_hours is not None:
            detail = (
                f"Real incidents on {row.service} take {median:.1f} h to resolve (median of {n}, {MTTR_DAYS} days), "
                f"longer than its RTO of {row.rto_hours:g} h"
            )
            detail += ": the plan passes drills while real incidents breach it." if contradicted else "."
            findings.append(
                Finding(check="real_mttr_over_rto", subject=row.service, points=SCENARIO_WEIGHTS["real_mttr_over_rto"],
                        detail=detail, owner=cells.text(catalogue.get(row.service, {}).get("owner")))
            )  # fmt: skip
    findings = _cap(findings)
    score = max(0, 100 - sum(f.points for f in findings))
    actions = [_action(f, scenario) for f in findings]
    contradicted_n = sum(c.plan_contradicted for c in comparisons)
    headlines = [
        Headline(key="drill.readiness_score", label="Readiness score", value=score, unit="points", better="higher"),
        Headline(
            key="drill.detect_seconds",
            label="Measured time to detect (fault to first failing check)",
            value=run.detect_seconds,
            unit="seconds",
            better="lower",
        ),
        Headline(
            key="drill.recovery_seconds",
            label="Measured recovery",
            value=run.recovery_seconds,
            unit="seconds",
            better="lower",
        ),
        Headline(key="drill.rto_hours", label="RTO (shortest, direct services)", value=shortest, unit="hours"),
        Headline(
            key="drill.real_mttr_hours",
            label="Real MTTR (median, direct services)",
            value=max((c.real_mttr_median_hours for c in comparisons if c.real_mttr_median_hours is not None),
                      default=None),
            unit="hours",
            better="lower",
        ),  # fmt: skip
        Headline(key="drill.findings", label="Findings", value=len(findings), better="lower"),
        Headline(key="drill.plan_contradicted", label="Plans contradicted by real incidents", value=contradicted_n,
                 better="lower"),
    ]  # fmt: skip
    note = None
    if run.outcome == Outcome.TABLETOP:
        note = "Tabletop run: the score covers readiness only; recovery was not exercised."
    return ReadinessSection(
        headlines=headlines,
        actions=actions,
        definitions=READINESS_DEFINITIONS,
        basis=[Basis(metric="drill.real_mttr_hours", rows_used=sum(c.real_incidents for c in comparisons))],
        note=note,
        score=score,
        findings=findings,
        recovery=comparisons,
    )


_ACTION_TEXT = {
    "runbook_missing": "Write a recovery runbook for {subject}",
    "runbook_stale": "Exercise the runbook of {subject}",
    "rto_over_mtpd": "Bring the RTO of {subject} within its MTPD",
    "objectives_missing": "Set RTO and MTPD for {subject}",
    "backup_vendor": "Qualify a backup vendor for {subject}",
    "contacts_missing": "List the contacts of scenario {subject}",
    "contact_unreachable": "Add a phone or email for {subject}",
    "steady_state_not_holding": "Restore steady state, then re-run drill {subject}",
    "fault_failed": "Fix the fault step {subject}",
    "not_recovered": "Fix the recovery of {subject}: it did not restore service",
    "recovery_over_rto": "Shorten the recovery of {subject}: it took longer than the RTO",
    "steady_state_after": "Investigate why steady state did not hold after recovery in {subject}",
    "rollback_failed": "Repair the rollback step {subject}",
    "real_mttr_over_rto": "Review why real incidents on {subject} take longer than the RTO",
}
_URGENT = {"not_recovered", "rollback_failed", "steady_state_not_holding", "real_mttr_over_rto", "backup_vendor"}


def _action(f: Finding, scenario: Scenario) -> Action:
    return Action(
        text=f"{_ACTION_TEXT[f.check].format(subject=f.subject)}: {f.detail} (-{f.points} points)",
        urgency=Urgency.URGENT if f.check in _URGENT else Urgency.IMPORTANT,
        owner=f.owner,
        source=f"drill {scenario.id}",
        section="readiness",
        kind=f"drill_{f.check}",
    )


# -- the drill's own record ------------------------------------------------------------------------------------


class DrillSection(Section):
    """The drill as it ran: probes, steps, recovery, rollbacks."""

    name: str = "drill"
    title: str = "The drill"
    outcome: str = ""
    steady_before: list[ProbeResult] = Field(default_factory=list, description="Steady state before the drill.")
    steps: list[StepResult] = Field(default_factory=list, description="Fault and recovery steps.")
    steady_after: list[ProbeResult] = Field(default_factory=list, description="Steady state after recovery.")
    rollback: list[StepResult] = Field(default_factory=list, description="Rollback steps (always run).")
    after_rollback: list[ProbeResult] = Field(default_factory=list, description="Probes after the rollback.")


def drill_section(scenario: Scenario, run: DrillRun) -> DrillSection:
    """The run as a report section, with the scenario's expected response."""
    return DrillSection(
        headlines=[
            Headline(
                key="drill.steps_failed",
                label="Steps failed",
                value=len(_failed_steps(run.steps + run.rollback)),
                better="lower",
            ),
        ],  # fmt: skip
        definitions={
            "recovery time": "From the first recovery step to the moment every steady-state probe held again.",
            "outcomes": "passed, failed, aborted (steady state did not hold first), tabletop (probes not run).",
        },
        note=f"Outcome: {run.outcome}. Expected response: {scenario.expected_response}"
        + (f" {run.note}" if run.note else ""),
        outcome=str(run.outcome),
        steady_before=run.steady_before,
        steps=run.steps,
        steady_after=run.steady_after,
        rollback=run.rollback,
        after_rollback=run.after_rollback,
    )


# -- which scenario runs next ----------------------------------------------------------------------------------


class Candidate(BaseModel):
    """A scenario and why it is (or is not) next."""

    scenario: str
    title: str
    services: str = Field(description="Directly failed services, ';'-separated.")
    residual_risk: int = Field(description="Highest likelihood x impact of open risks on the target; 1 when none.")
    risk_ids: str | None = None
    last_exercised: date | None = None
    days_since: int | None = Field(None, description="Days since last exercised; empty: never exercised.")
    cycle_days: int
    overdue: bool
    priority: int | None = Field(
        None, description="residual_risk x days_since; empty for a scenario never exercised (the stalest, first)."
    )
    reason: str = Field("", description="Why it ranks where it does.")
    chosen: bool = False


class Coverage(BaseModel):
    """When a critical service was last drilled."""

    service: str
    name: str | None = None
    last_drilled: date | None = None
    source: str | None = Field(None, description="The drill incident or drill run that exercised it.")
    days_since: int | None = None
    overdue: bool
    owner: str | None = None


class ScheduleSection(Section):
    """The drill schedule: candidates by priority and critical services out of their cycle."""

    name: str = "schedule"
    title: str = "Drill schedule"
    chosen: str = ""
    candidates: list[Candidate] = Field(default_factory=list, description="Scenarios by priority.")
    coverage: list[Coverage] = Field(default_factory=list, description="Critical services and their last drill.")
    scenario_errors: list[str] = Field(default_factory=list)


def _last_runs(history: HistoryStore, until: date) -> list[dict[str, Any]]:
    """Exercised drill runs up to `until`: scenario, date and directly failed services."""
    out = []
    for run in history.list_runs(FLOW, until=until, limit=10_000):
        payload = run.payload or {}
        if payload.get("outcome") in {str(o) for o in EXERCISED}:
            out.append(
                {
                    "scenario": payload.get("scenario_id"),
                    "as_of": run.as_of,
                    "services": payload.get("primary_services") or [],
                }
            )
    return out


def residual_risk(
    risks: pd.DataFrame | None, evidence: dict[str, int], scenario: Scenario, primary: list[str]
) -> tuple[int, list[str]]:
    """The highest score of the open risks linked to the scenario's services or vendor (the evidence's suggested
    score where the risk section finds the rating contradicted), and their ids; 1 and none when nothing links."""
    if risks is None or risks.empty:
        return 1, []
    open_ = risks[(risks["status"] != "closed").fillna(True).to_numpy(dtype=bool)]
    vendor = scenario.target.id if scenario.target.kind == TargetKind.VENDOR else None
    linked = open_["linked_service"].isin(primary).fillna(False).astype(bool)
    if vendor is not None:
        linked = linked | (open_["linked_vendor"] == vendor).fillna(False).astype(bool)
    rows = open_[linked.to_numpy(dtype=bool)]
    if rows.empty:
        return 1, []
    ids = rows["risk_id"].astype(str).tolist()
    rated = (rows["likelihood"].astype("int64") * rows["impact"].astype("int64")).tolist()
    scores = [max(r, evidence.get(i, 0)) for i, r in zip(ids, rated, strict=True)]
    return int(max(scores)), sorted(ids)


def plan_schedule(
    scenarios: ScenarioSet,
    requested: str | None,
    services: pd.DataFrame | None,
    vendors: pd.DataFrame | None,
    risks: pd.DataFrame | None,
    risk_section: RiskSection | None,
    incidents: pd.DataFrame | None,
    history: HistoryStore,
    period: Period,
    cycle_days: int,
) -> ScheduleSection:
    """Rank scenarios by residual risk x days since exercised (pick the top one unless one is requested) and list
    critical services not drilled within the cycle."""
    runs = _last_runs(history, period.as_of)
    evidence = {c.risk_id: c.suggested_score for c in (risk_section.contradictions if risk_section else [])}
    candidates = []
    for s in scenarios.scenarios:
        primary = primary_services(s, services, vendors)
        risk, risk_ids = residual_risk(risks, evidence, s, primary)
        dates = [r["as_of"] for r in runs if r["scenario"] == s.id]
        last = max(dates) if dates else None
        days = (period.as_of - last).days if last else None
        risk_text = f"residual risk {risk}" + (f" ({', '.join(risk_ids)})" if risk_ids else "")
        reason = (
            f"never exercised: the stalest there is; {risk_text}"
            if days is None
            else f"{risk_text} x {days} days since exercised = {risk * days}"
        )
        candidates.append(
            Candidate(
                scenario=s.id,
                title=s.title,
                services=";".join(primary),
                residual_risk=risk,
                risk_ids=";".join(risk_ids) or None,
                last_exercised=last,
                days_since=days,
                cycle_days=s.cycle_days,
                overdue=days is None or days > s.cycle_days,
                priority=None if days is None else risk * days,
                reason=reason,
            )
        )
    # A scenario never exercised is the stalest: before every exercised one, the riskiest first.
    candidates.sort(
        key=lambda c: (c.priority is not None, -(c.residual_risk if c.priority is None else c.priority), c.scenario)
    )
    chosen = requested or (candidates[0].scenario if candidates else "")
    for c in candidates:
        c.chosen = c.scenario == chosen

    # Critical services: the latest drill incident or exercised drill run that covered each.
    last_drill: dict[str, tuple[date, str]] = {}
    if incidents is not None and not incidents.empty:
        drills = incidents[(incidents["kind"] == "drill").fillna(False).to_numpy(dtype=bool)]
        drills = drills[drills["opened_at"] < period.end]
        local = drills["opened_at"].dt.tz_convert(period.tz).dt.date
        for sid, day, ident in zip(drills["service"], local, drills["incident_id"], strict=True):
            key = str(sid)
            if key not in last_drill or day > last_drill[key][0]:
                last_drill[key] = (day, f"incident {ident}")
    for r in runs:
        for sid in r["services"]:
            if sid not in last_drill or r["as_of"] >= last_drill[sid][0]:
                last_drill[sid] = (r["as_of"], f"drill {r['scenario']}")
    coverage = []
    for sid, info in _services_by_id(services).items():
        if cells.text(info.get("tier")) != "critical":
            continue
        day, source = last_drill.get(sid, (None, None))
        days = None if day is None else (period.as_of - day).days
        coverage.append(
            Coverage(
                service=sid,
                name=cells.text(info.get("name")),
                last_drilled=day,
                source=source,
                days_since=days,
                overdue=days is None or days > cycle_days,
                owner=cells.text(info.get("owner")),
            )
        )
    coverage.sort(key=lambda c: (not c.overdue, -(c.days_since if c.days_since is not None else 10**6), c.service))
    overdue = [c for c in coverage if c.overdue]
    covered_by_scenario = {sid for c in candidates for sid in c.services.split(";") if sid}
    actions = [
        Action(
            text=(
                f"Drill {c.service} ({c.name or c.service}): "
                + ("never drilled" if c.last_drilled is None else f"last drilled {c.days_since} days ago")
                + f", cycle {cycle_days} days"
                + ("" if c.service in covered_by_scenario else "; no scenario in drills/ covers it yet")
                + "."
            ),
            urgency=Urgency.IMPORTANT if c.last_drilled is not None else Urgency.URGENT,
            owner=c.owner,
            source=f"service {c.service}",
            section="schedule",
            kind="drill_overdue",
        )
        for c in overdue
    ]
    actions += [
        Action(
            text=f"Fix drill scenario file: {line}",
            urgency=Urgency.IMPORTANT,
            source=line.split(":")[0],
            section="schedule",
            kind="drill_scenario_invalid",
        )
        for line in scenarios.errors
    ]
    headlines = [
        Headline(key="schedule.critical_overdue", label="Critical services out of cycle", value=len(overdue),
                 better="lower"),
        Headline(key="schedule.scenarios", label="Scenarios", value=len(candidates)),
        Headline(key="schedule.scenarios_overdue", label="Scenarios out of cycle",
                 value=sum(c.overdue for c in candidates), better="lower"),
    ]  # fmt: skip
    why = next((c.reason for c in candidates if c.scenario == chosen), "")
    note = (
        f"Requested scenario: {requested}."
        if requested
        else f"Chosen: {chosen or 'none'}" + (f" ({why})." if why else ".")
    )
    if scenarios.errors:
        note += f" {len(scenarios.errors)} scenario file(s) could not be used (see actions)."
    return ScheduleSection(
        headlines=headlines,
        actions=actions,
        definitions={
            "residual risk": (
                "The highest likelihood x impact of open risks (status not closed) linked to a directly failed "
                "service (linked_service) or to the failed vendor (linked_vendor); where the risk section finds a "
                "rating contradicted by incidents or vendor flags, its suggested score counts instead when higher; "
                "1 when no risk links."
            ),
            "days since exercised": (
                "Days from the last drill run of the scenario that passed or failed (not aborted, not tabletop) to "
                "as_of; empty for a scenario never exercised."
            ),
            "priority": (
                "A scenario never exercised is the stalest and runs before every exercised one (the highest residual "
                "risk first); then residual risk x days since exercised, highest first (ties: scenario id)."
            ),
            "critical service drilled": (
                "The latest incident of kind drill on the service opened before the period end, or the latest "
                "exercised drill run that failed it directly; overdue after the cycle or when never drilled."
            ),
        },
        note=note,
        chosen=chosen,
        candidates=candidates,
        coverage=coverage,
        scenario_errors=scenarios.errors,
    )


# -- history ---------------------------------------------------------------------------------------------------


class PastDrill(BaseModel):
    """One earlier drill run (any scenario)."""

    as_of: date
    scenario: str
    outcome: str
    readiness_score: float | None = None
    recovery_seconds: float | None = None
    findings: float | None = None


class HistorySection(Section):
    """Drills run so far and the trend of the readiness score."""

    name: str = "history"
    title: str = "Drill history"
    drills: list[PastDrill] = Field(default_factory=list, description="Drill runs, newest first.")


def previous_drill(history: HistoryStore, scenario_id: str, as_of: date) -> StoredRun | None:
    """The latest run of the same scenario on an earlier day: what this run's headlines are compared with."""
    earlier = [
        r
        for r in history.list_runs(FLOW, until=as_of, limit=10_000)
        if (r.payload or {}).get("scenario_id") == scenario_id and r.as_of < as_of
    ]
    return earlier[-1] if earlier else None


def drill_history(
    history: HistoryStore, scenario_id: str, as_of: date, current: dict[str, float | None], outcome: str
) -> HistorySection:
    """Every past drill (any scenario) plus this one, newest first."""
    rows = []
    for run in history.list_runs(FLOW, until=as_of, limit=200):
        payload = run.payload or {}
        sid = str(payload.get("scenario_id", ""))
        if sid == scenario_id and run.as_of == as_of:
            continue  # this run replaces it
        rows.append(
            PastDrill(
                as_of=run.as_of,
                scenario=sid,
                outcome=str(payload.get("outcome", "")),
                readiness_score=run.headlines.get("drill.readiness_score"),
                recovery_seconds=run.headlines.get("drill.recovery_seconds"),
                findings=run.headlines.get("drill.findings"),
            )
        )
    rows.append(
        PastDrill(
            as_of=as_of,
            scenario=scenario_id,
            outcome=outcome,
            readiness_score=current.get("drill.readiness_score"),
            recovery_seconds=current.get("drill.recovery_seconds"),
            findings=current.get("drill.findings"),
        )
    )
    rows.sort(key=lambda r: (r.as_of, r.scenario), reverse=True)
    same = sum(r.scenario == scenario_id for r in rows)
    return HistorySection(
        headlines=[Headline(key="history.scenario_runs", label=f"Runs of {scenario_id}", value=same)],
        basis=[Basis(metric="history", rows_used=len(rows))],
        definitions={"change": "Each headline's change compares with the previous run of the same scenario."},
        note=None if same > 1 else "First recorded run of this scenario.",
        drills=rows,
    )


compute_impact_task = compute_task(compute_impact, name="compute_impact")
assess_readiness_task = compute_task(assess_readiness, name="assess_readiness")
plan_schedule_task = compute_task(plan_schedule, name="plan_schedule")
