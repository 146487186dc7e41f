"""Risks scored on the 5x5 matrix against the evidence, with a treatment by rule: for a whole register or a plan."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from opsflow.charts import heatmap_5x5
from opsflow.findings import Action, Basis, Headline, Section, Urgency
from opsflow.history import HistoryStore, StoredRun
from opsflow.period import Period
from opsflow.tasking import compute_task, io_task
from tasks.performance_metrics.registry import RegisteredKpi
from tasks.risk_management.register import HIGH_SCORE, LIKELIHOOD, RiskSection, compute_risks

MEDIUM_SCORE = 8
AVOID_SCORE = 20
MAJOR_IMPACT = 4
UNCONTROLLABLE = frozenset({"financial", "strategic"})
"""Categories whose cause lies outside the company (markets, competitors): they can be transferred, not mitigated."""

DUE_DAYS = {"high": 30, "medium": 90, "low": 180}
"""Days from as_of to the treatment's due date by score band (high >= 15, medium 8..14, low < 8)."""
REPLAN_DAYS = 14
"""A mitigation already past its due date gets a new date this many days after as_of."""


class Treatment(StrEnum):
    """The four responses to a risk."""

    AVOID = "avoid"
    MITIGATE = "mitigate"
    TRANSFER = "transfer"
    ACCEPT = "accept"


TREATMENT_RULE = (
    "Applied in order to the evidence-based score (likelihood x impact): score < 8 -> accept (monitor); a vendor "
    "risk whose vendor has a qualified backup (backup_vendor_id) -> transfer (move the work to the backup, invoke "
    "the contract); category financial or strategic (outside the company's control) -> transfer when score >= 15 "
    "(insure, hedge, contract), else accept; score >= 20 -> avoid (change the plan or process so it cannot happen); "
    "score >= 15 -> mitigate; score 8..14 with impact >= 4 -> mitigate; otherwise accept (monitor). When the "
    "evidence raised the likelihood, the register's treatment is kept if it is stronger (avoid > mitigate or "
    "transfer > accept): a rising likelihood never weakens the response."
)


STRENGTH = {Treatment.ACCEPT: 0, Treatment.TRANSFER: 1, Treatment.MITIGATE: 1, Treatment.AVOID: 2}
"""How strong a response is (transfer and mitigate both act on the risk, by different means): a risk whose
likelihood rose never gets a weaker one than the register records."""


def no_weaker(rule: Treatment, register: str | None, raised: bool) -> Treatment:
    """The rule's treatment, or the register's when the likelihood rose and the register's is stronger."""
    current = (register or "").strip().lower()
    if not raised or current not in Treatment._value2member_map_:
        return rule
    recorded = Treatment(current)
    return recorded if STRENGTH[recorded] > STRENGTH[rule] else rule


def band(score: int) -> Literal["high", "medium", "low"]:
    """The score band of the 5x5 matrix: high >= 15, medium 8..14, low < 8."""
    return "high" if score >= HIGH_SCORE else "medium" if score >= MEDIUM_SCORE else "low"


def suggest_treatment(likelihood: int, impact: int, category: str | None, backup_vendor: str | None) -> Treatment:
    """The treatment TREATMENT_RULE gives a risk."""
    score = likelihood * impact
    if score < MEDIUM_SCORE:
        return Treatment.ACCEPT
    if backup_vendor:
        return Treatment.TRANSFER
    if (category or "").strip().lower() in UNCONTROLLABLE:
        return Treatment.TRANSFER if score >= HIGH_SCORE else Treatment.ACCEPT
    if score >= AVOID_SCORE:
        return Treatment.AVOID
    if score >= HIGH_SCORE or impact >= MAJOR_IMPACT:
        return Treatment.MITIGATE
    return Treatment.ACCEPT


class RatedRisk(BaseModel):
    """A risk rated on the 5x5 matrix as the register has it and as the evidence says, with its treatment."""

    risk_id: str = Field(description="Register id, or NEW-<service or vendor> for a risk suggested from history.")
    title: str
    category: str
    source: Literal["register", "suggested"] = Field(description="In the register, or suggested from history.")
    linked_service: str | None = None
    linked_vendor: str | None = None
    owner: str | None = None
    status: str = Field(description="Register status; 'suggested' for a risk not in the register.")
    rated_likelihood: int = Field(description="Likelihood in the register (suggested risks: 1, not yet rated).")
    likelihood: int = Field(description="Likelihood after the evidence: the higher of the rating and the evidence.")
    impact: int
    rated_score: int = Field(description="rated_likelihood x impact.")
    score: int = Field(description="likelihood x impact.")
    register_treatment: str | None = Field(None, description="The treatment the register records.")
    treatment: Treatment = Field(description="The treatment the rule gives the evidence-based score.")
    evidence: str | None = Field(None, description="What the incident and vendor data show, when it moves the rating.")
    mitigation_due: dt.date | None = None
    backup_vendor: str | None = Field(None, description="The linked vendor's qualified backup, if any.")


def _str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def backup_vendors(vendors: pd.DataFrame | None) -> dict[str, str]:
    """Vendor id -> its qualified backup vendor id, for the vendors that have one."""
    if vendors is None or "backup_vendor_id" not in vendors:
        return {}
    v = vendors.drop_duplicates("vendor_id")
    v = v[v["backup_vendor_id"].notna()]
    return {str(a): str(b) for a, b in zip(v["vendor_id"], v["backup_vendor_id"], strict=True) if str(b).strip()}


def rate_register(risks: pd.DataFrame, evidence: RiskSection, vendors: pd.DataFrame | None) -> list[RatedRisk]:
    """Every open register risk rated against the evidence that the risks section found (its contradictions), with
    the rule's treatment. The evidence never lowers a rating: the register may know of causes the data does not."""
    contradictions = {c.risk_id: c for c in evidence.contradictions}
    backups = backup_vendors(vendors)
    r = risks.drop_duplicates("risk_id")
    r = r[(r["status"] != "closed").fillna(True).to_numpy(dtype=bool)]
    rated: list[RatedRisk] = []
    for x in r.sort_values("risk_id").to_dict("records"):
        risk_id = str(x["risk_id"])
        rated_l, impact = int(x["likelihood"]), int(x["impact"])
        c = contradictions.get(risk_id)
        likelihood = max(rated_l, c.suggested_likelihood) if c is not None else rated_l
        vendor = _str(x.get("linked_vendor"))
        backup = backups.get(vendor) if vendor else None
        due = x.get("mitigation_due")
        rated.append(
            RatedRisk(
                risk_id=risk_id,
                title=str(x["title"]),
                category=str(x["category"]),
                source="register",
                linked_service=_str(x.get("linked_service")),
                linked_vendor=vendor,
                owner=_str(x.get("owner")),
                status=str(x["status"]),
                rated_likelihood=rated_l,
                likelihood=likelihood,
                impact=impact,
                rated_score=rated_l * impact,
                score=likelihood * impact,
                register_treatment=_str(x.get("treatment")),
                # A rising likelihood never weakens the response (R-0097: avoid must not become accept).
                treatment=no_weaker(
                    suggest_treatment(likelihood, impact, str(x["category"]), backup),
                    _str(x.get("treatment")),
                    raised=likelihood > rated_l,
                ),
                evidence=c.evidence if c is not None else None,
                mitigation_due=None if due is None or pd.isna(due) else pd.Timestamp(due).date(),
                backup_vendor=backup,
            )
        )
    return rated


SUGGESTED_IMPACT = {"critical": 4, "vendor": 4, "other": 3}
"""Impact of a suggested risk: 4 for a critical-tier service or a vendor the work depends on, else 3."""


def suggest_from_history(
    services: list[str],
    vendors: list[str],
    register: list[RatedRisk],
    incidents: pd.DataFrame | None,
    services_frame: pd.DataFrame | None,
    vendors_frame: pd.DataFrame | None,
    period: Period,
    flagged_vendor_ids: set[str],
) -> list[RatedRisk]:
    """Risks the register lacks, suggested from incident and vendor history for the given services and vendors.

    Each service or vendor becomes a candidate risk rated likelihood 1 and is put through the risks section's own
    evidence check (repeat or frequent SEV1/SEV2 incidents, a flagged vendor): a candidate the evidence contradicts
    is suggested at the likelihood the evidence implies, unless an open register risk on the same service or vendor
    already carries that likelihood or more.
    """
    names = _names(services_frame, "service_id")
    vendor_names = _names(vendors_frame, "vendor_id")
    tiers = (
        services_frame.drop_duplicates("service_id").set_index("service_id")["tier"].astype("string").to_dict()
        if services_frame is not None and "tier" in services_frame
        else {}
    )
    backups = backup_vendors(vendors_frame)
    rows: list[dict[str, Any]] = []
    for s in services:
        impact = SUGGESTED_IMPACT["critical" if str(tiers.get(s) or "") == "critical" else "other"]
        title = f"Major incidents on {names.get(s, s)} disrupt the work that depends on it"
        rows.append(_candidate(f"NEW-{s}", title, "technology", impact, service=s))
    for v in vendors:
        title = f"{vendor_names.get(v, v)} misses its commitments and delays the work that depends on it"
        rows.append(_candidate(f"NEW-{v}", title, "vendor", SUGGESTED_IMPACT["vendor"], vendor=v))
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    frame["likelihood"] = frame["likelihood"].astype("Int64")
    frame["impact"] = frame["impact"].astype("Int64")
    frame["mitigation_due"] = pd.to_datetime(frame["mitigation_due"])
    checked = compute_risks(frame, incidents, services_frame, period, flagged_vendor_ids)
    carried: dict[str, int] = {}
    for r in register:
        for key in (r.linked_service, r.linked_vendor):
            if key:
                carried[key] = max(carried.get(key, 0), r.likelihood)
    suggested: list[RatedRisk] = []
    by_id = {str(x["risk_id"]): x for x in rows}
    for c in checked.contradictions:
        x = by_id[c.risk_id]
        key = x["linked_service"] or x["linked_vendor"]
        if c.suggested_likelihood <= carried.get(key, 0):
            continue
        backup = backups.get(x["linked_vendor"]) if x["linked_vendor"] else None
        suggested.append(
            RatedRisk(
                risk_id=c.risk_id,
                title=c.title,
                category=x["category"],
                source="suggested",
                linked_service=x["linked_service"],
                linked_vendor=x["linked_vendor"],
                status="suggested",
                rated_likelihood=1,
                likelihood=c.suggested_likelihood,
                impact=c.impact,
                rated_score=c.impact,
                score=c.suggested_score,
                treatment=suggest_treatment(c.suggested_likelihood, c.impact, x["category"], backup),
                evidence=c.evidence,
                backup_vendor=backup,
            )
        )
    return suggested


def _names(frame: pd.DataFrame | None, key: str) -> dict[str, str]:
    if frame is None or "name" not in frame:
        return {}
    f = frame.drop_duplicates(key)
    return {str(k): str(n) for k, n in zip(f[key], f["name"], strict=True)}


def _candidate(
    risk_id: str, title: str, category: str, impact: int, service: str | None = None, vendor: str | None = None
) -> dict[str, Any]:
    return {
        "risk_id": risk_id,
        "title": title,
        "category": category,
        "likelihood": 1,
        "impact": impact,
        "owner": None,
        "treatment": None,
        "mitigation_due": None,
        "status": "open",
        "linked_service": service,
        "linked_vendor": vendor,
    }


# -- risk assessment: the whole register re-scored, with a treatment plan ---------------------------------------------


class TreatmentPlanRow(BaseModel):
    """One open risk: its rating now and as the evidence says, and what to do about it by when."""

    risk_id: str
    title: str
    owner: str | None = None
    current_likelihood: int
    impact: int
    current_score: int
    suggested_likelihood: int
    suggested_score: int
    band: Literal["high", "medium", "low"] = Field(description="Band of the suggested score.")
    current_treatment: str | None = Field(None, description="Treatment recorded in the register.")
    treatment: Treatment = Field(description="Treatment the rule gives the suggested score.")
    due: dt.date = Field(description="When the treatment (or the next review, for accept) is due.")
    mitigation_overdue: bool = Field(description="The register's mitigation_due is before as_of.")
    action: str = Field(description="What to do, in one sentence.")
    evidence: str | None = None


class RiskAssessmentSection(Section):
    """The open register re-scored against the evidence, with a treatment plan and the matrix before and after."""

    name: str = "risk_assessment"
    title: str = "Risk register re-assessment"
    treatment_plan: list[TreatmentPlanRow] = Field(
        default_factory=list, description="Every open risk, highest suggested score first."
    )
    heat_map_before: list[list[int]] = Field(
        default_factory=lambda: [[0] * 5 for _ in range(5)],
        description="Open risks per cell as rated: heat_map_before[likelihood - 1][impact - 1].",
    )
    heat_map_after: list[list[int]] = Field(
        default_factory=lambda: [[0] * 5 for _ in range(5)],
        description="Open risks per cell as the evidence rates them.",
    )


ASSESSMENT_DEFINITIONS = {
    "suggested likelihood": (
        "The higher of the register's likelihood and the likelihood the incident and vendor evidence implies (the "
        "weekly audit's contradiction rule, see 'contradiction'). The evidence never lowers a rating."
    ),
    "treatment rule": TREATMENT_RULE,
    "due date": (
        "Score band of the suggested score: high (>= 15) within 30 days of as_of, medium (8..14) within 90 days, "
        "low (< 8, accept) reviewed within 180 days. An earlier mitigation_due in the register is kept; a "
        "mitigation_due already past is re-planned 14 days after as_of."
    ),
    "high risk with an overdue mitigation": "Suggested score >= 15 and the register's mitigation_due before as_of.",
    "treatment change": "The rule's treatment differs from the register's (an empty register treatment counts).",
    "under-treated": (
        "A medium or high risk (suggested score >= 8) with no treatment in the register, or accepted while the rule "
        "says avoid, mitigate or transfer. A stronger response than the rule asks for is not counted."
    ),
}


def _action(r: RatedRisk, due: dt.date, backup_names: dict[str, str]) -> str:
    what = {
        Treatment.AVOID: f"Avoid: change the plan or process so that '{r.title}' cannot happen",
        Treatment.MITIGATE: f"Mitigate: cut the likelihood or impact of '{r.title}'",
        Treatment.TRANSFER: (
            f"Transfer: move the work to backup vendor {backup_names.get(r.backup_vendor, r.backup_vendor)} "
            f"({r.backup_vendor}) and invoke the contract's service-credit clause for '{r.title}'"
            if r.backup_vendor
            else f"Transfer: insure, hedge or contract away '{r.title}'"
        ),
        Treatment.ACCEPT: f"Accept and monitor '{r.title}'; review it",
    }[r.treatment]
    return f"{what} by {due.isoformat()} (score {r.score})."


def assess_register(
    risks: pd.DataFrame | None,
    evidence: RiskSection,
    vendors: pd.DataFrame | None,
    period: Period,
) -> RiskAssessmentSection:
    """Every open risk re-scored against the evidence, with a treatment plan (rating now and suggested, treatment,
    owner, due date, action) and the 5x5 matrix before and after."""
    if risks is None:
        return RiskAssessmentSection(
            available=False, note="No risks dataset configured.", definitions={**evidence.definitions}
        )
    section = RiskAssessmentSection(definitions={**evidence.definitions, **ASSESSMENT_DEFINITIONS})
    section.basis = list(evidence.basis)
    as_of = period.as_of
    rated = rate_register(risks, evidence, vendors)
    backup_names = _names(vendors, "vendor_id")
    rows: list[TreatmentPlanRow] = []
    for r in rated:
        b = band(r.score)
        overdue = r.mitigation_due is not None and r.mitigation_due < as_of
        due = as_of + dt.timedelta(days=DUE_DAYS[b])
        if overdue:
            due = as_of + dt.timedelta(days=REPLAN_DAYS)
        elif r.mitigation_due is not None and r.treatment in (Treatment.MITIGATE, Treatment.AVOID):
            due = min(due, r.mitigation_due)
        rows.append(
            TreatmentPlanRow(
                risk_id=r.risk_id,
                title=r.title,
                owner=r.owner,
                current_likelihood=r.rated_likelihood,
                impact=r.impact,
                current_score=r.rated_score,
                suggested_likelihood=r.likelihood,
                suggested_score=r.score,
                band=b,
                current_treatment=r.register_treatment,
                treatment=r.treatment,
                due=due,
                mitigation_overdue=overdue,
                action=_action(r, due, backup_names),
                evidence=r.evidence,
            )
        )
        section.heat_map_before[r.rated_likelihood - 1][r.impact - 1] += 1
        section.heat_map_after[r.likelihood - 1][r.impact - 1] += 1
    rows.sort(key=lambda x: (-x.suggested_score, -x.current_score, -x.impact, x.risk_id))
    section.treatment_plan = rows
    section.actions = _assessment_actions(rows, rated)

    rerated = sum(r.likelihood != r.rated_likelihood for r in rated)
    changes = sum(x.treatment.value != (x.current_treatment or "") for x in rows)
    gaps = sum(x.band != "low" and treatment_gap(x.current_treatment, x.treatment) for x in rows)
    high_overdue = sum(x.band == "high" and x.mitigation_overdue for x in rows)
    section.headlines = [
        Headline(key="risk_assessment.open", label="Open risks", value=len(rows), unit="risks", better="lower"),
        Headline(key="risk_assessment.high_before", label="High risks as rated", value=sum(
            band(x.current_score) == "high" for x in rows), unit="risks", better="lower"),
        Headline(key="risk_assessment.high_after", label="High risks after the evidence", value=sum(
            x.band == "high" for x in rows), unit="risks", better="lower"),
        Headline(key="risk_assessment.rerated", label="Ratings raised by the evidence", value=rerated, unit="risks",
                 better="lower"),
        Headline(key="risk_assessment.treatment_changes", label="Treatments that differ from the rule", value=changes,
                 unit="risks", better="lower"),
        Headline(key="risk_assessment.treatment_gaps", label="Medium or high risks under-treated", value=gaps,
                 unit="risks", better="lower"),
        Headline(key="risk_assessment.high_overdue", label="High risks with an overdue mitigation",
                 value=high_overdue, unit="risks", better="lower"),
        Headline(key="risk_assessment.unowned", label="Open risks without an owner", value=sum(
            x.owner is None for x in rows), unit="risks", better="lower"),
    ]  # fmt: skip
    section.basis.append(Basis(metric="treatment plan", rows_used=len(rows)))
    if not rows:
        section.note = "No open risks in the register."
    return section


def treatment_gap(current: str | None, suggested: Treatment) -> bool:
    """The register under-treats the risk: no treatment recorded, or accepted while the rule says to act.
    A stronger response than the rule asks for (mitigating a low risk) is not a gap."""
    current = (current or "").strip().lower()
    return current not in {t.value for t in Treatment} or (current == "accept" and suggested != Treatment.ACCEPT)


def _assessment_actions(rows: list[TreatmentPlanRow], rated: list[RatedRisk]) -> list[Action]:
    """Urgent: high risks that the evidence raised or whose mitigation is overdue; important: other re-ratings and
    medium or high risks the register under-treats. The rest stays in the plan table."""
    by_id = {r.risk_id: r for r in rated}
    actions: list[Action] = []
    for x in rows:
        raised = x.suggested_likelihood > x.current_likelihood
        high = x.band == "high"
        gap = x.band != "low" and treatment_gap(x.current_treatment, x.treatment)
        if not (raised or gap or (high and x.mitigation_overdue)):
            continue
        urgent = high and (raised or x.mitigation_overdue)
        reason = []
        if raised:
            reason.append(
                f"the evidence raises its likelihood from {x.current_likelihood} to {x.suggested_likelihood} "
                f"({LIKELIHOOD[x.suggested_likelihood]}), score {x.current_score} -> {x.suggested_score}"
            )
        if x.mitigation_overdue and by_id[x.risk_id].mitigation_due is not None:
            reason.append(f"its mitigation was due {by_id[x.risk_id].mitigation_due}")
        if x.treatment.value != (x.current_treatment or ""):
            reason.append(f"treatment {x.current_treatment or 'none'} -> {x.treatment.value}")
        kind = "mitigation_overdue" if x.mitigation_overdue else "risk_rerate" if raised else "risk_treatment"
        actions.append(
            Action(
                text=f"Risk {x.risk_id}: {'; '.join(reason)}. {x.action}",
                urgency=Urgency.URGENT if urgent else Urgency.IMPORTANT,
                owner=x.owner,
                source=f"risk {x.risk_id}",
                section="risk_assessment",
                due=x.due,
                kind=kind,
            )
        )
    return actions


# -- the risk-assessment flow's report, history, KPIs and Slack post -------------------------------------------------

FLOW_ASSESSMENT = "risk-assessment"
SECTION_CHARTS = {"risk_assessment": ["heat-map-as-rated", "heat-map-after-evidence"]}
"""The assessment's charts, at the top of its section."""
KPI_DAYS = 90
"""Registered risk KPIs are due this many days after the assessment."""
ASSESSMENT_KPIS = (
    ("RA-mitigations-overdue", "Risk mitigations overdue", "risks.mitigations_overdue"),
    ("RA-ratings-contradicted", "Risk ratings the evidence contradicts", "risks.contradictions"),
)
"""(kpi_id, name, weekly-audit headline key): the assessment's KPIs, measured by every later weekly audit."""


def assessment_charts(section: RiskAssessmentSection) -> dict[str, bytes]:
    """The 5x5 matrix as the register rates the open risks and as the evidence rates them."""
    return {
        "heat-map-as-rated": heatmap_5x5("Open risks as rated", section.heat_map_before),
        "heat-map-after-evidence": heatmap_5x5("Open risks after the evidence", section.heat_map_after),
    }


def assessment_kpis(evidence: RiskSection, as_of: dt.date) -> list[RegisteredKpi]:
    """KPIs the assessment proposes, each a weekly-audit risks figure with today's value as the baseline and 0 as
    the target: overdue mitigations and ratings the evidence contradicts."""
    values = {h.key: h.value for h in evidence.headlines}
    return [
        RegisteredKpi(
            kpi_id=kpi_id,
            name=name,
            perspective="internal_process",
            objective="Keep the risk register current: treatments on time, ratings that match the evidence.",
            unit="risks",
            direction="decrease",
            baseline=float(values[key] or 0),
            baseline_date=as_of,
            target=0.0,
            deadline=as_of + dt.timedelta(days=KPI_DAYS),
            metric_key=key,
            source_flow=FLOW_ASSESSMENT,
        )
        for kpi_id, name, key in ASSESSMENT_KPIS
        if values.get(key) is not None
    ]


def assessment_facts(section: RiskAssessmentSection) -> list[str]:
    """Facts a narrative may cite besides the headline figures: the highest re-rated risks."""
    raised = [x for x in section.treatment_plan if x.suggested_likelihood > x.current_likelihood][:3]
    return [
        f"Risk {x.risk_id} '{x.title}': score {x.current_score} -> {x.suggested_score}, treatment "
        f"{x.treatment.value} due {x.due.isoformat()}"
        for x in raised
    ]


def template_assessment_summary(section: RiskAssessmentSection, as_of: dt.date) -> str:
    """The deterministic assessment summary, from the section's figures."""
    f = {h.key: h.value for h in section.headlines}

    def n(key: str) -> int:
        return int(f.get(key) or 0)

    sentences = [
        f"Of {n('risk_assessment.open')} open risks, the evidence up to {as_of:%d %b %Y} raises the likelihood of "
        f"{n('risk_assessment.rerated')}: high risks go from {n('risk_assessment.high_before')} as rated to "
        f"{n('risk_assessment.high_after')}.",
    ]
    raised = [x for x in section.treatment_plan if x.suggested_likelihood > x.current_likelihood]
    if raised:
        top = raised[0]
        sentences.append(
            f"The largest is {top.risk_id} '{top.title}' (score {top.current_score} -> {top.suggested_score}): "
            f"{top.treatment.value} by {top.due:%d %b %Y}."
        )
    sentences.append(
        f"{n('risk_assessment.high_overdue')} high risks have an overdue mitigation and "
        f"{n('risk_assessment.treatment_gaps')} medium or high risks are under-treated (no treatment, or accepted "
        "while the rule says to act)."
    )
    return " ".join(sentences)


def assessment_slack_headlines(section: RiskAssessmentSection) -> list[Headline]:
    return [h for h in section.headlines if h.value is not None]


def load_previous_assessment(history: HistoryStore, as_of: dt.date) -> StoredRun | None:
    """The latest assessment before `as_of`, for the change in each figure."""
    return history.previous_run(FLOW_ASSESSMENT, as_of)


suggest_from_history_task = compute_task(suggest_from_history, name="suggest_risks")
assess_register_task = compute_task(assess_register, name="assess_register")
assessment_charts_task = compute_task(assessment_charts, name="draw_assessment_charts")
load_previous_assessment_task = io_task(load_previous_assessment, name="load_previous_assessment")


def assessment_counts(section: RiskAssessmentSection) -> dict[str, int]:
    """The assessment in four counts: open risks, ratings the evidence raised, high risks before and after it."""
    figures = {h.key: h.value for h in section.headlines}
    names = {"open_risks": "open", "rerated": "rerated", "high_before": "high_before", "high_after": "high_after"}
    return {name: int(figures.get(f"risk_assessment.{key}") or 0) for name, key in names.items()}
