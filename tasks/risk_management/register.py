"""Risks section of the weekly audit: the open register on the 5x5 matrix, and ratings the evidence contradicts."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, Field

from opsflow.findings import Action, Basis, Headline, Section, Urgency
from opsflow.period import Period
from opsflow.tasking import compute_task

HIGH_SCORE = 15
TOP_N = 10
EVIDENCE_DAYS = 365
REPEAT_DAYS = 30
LIKELIHOOD = {1: "rare", 2: "unlikely", 3: "possible", 4: "likely", 5: "almost certain"}
FLAGGED_VENDOR_LIKELIHOOD = 3
# A register risk describes a major event (an outage, a breach, a supplier failure): only major incidents are evidence
# of how often it happens. Hundreds of minor tickets say nothing about it.
MAJOR_SEVERITIES = ("SEV1", "SEV2")


class RiskRow(BaseModel):
    """One open risk as rated in the register."""

    risk_id: str
    title: str
    category: str
    likelihood: int
    impact: int
    score: int = Field(description="likelihood x impact (1..25).")
    status: str
    owner: str | None = None
    mitigation_due: dt.date | None = None


class HeatCell(BaseModel):
    """One cell of the 5x5 matrix: open risks rated at this likelihood and impact."""

    likelihood: int
    impact: int
    score: int
    risks: int


class OverdueMitigation(BaseModel):
    """An open risk whose mitigation is past its due date."""

    risk_id: str
    title: str
    score: int
    mitigation_due: dt.date
    days_overdue: int
    owner: str | None = None


class Contradiction(BaseModel):
    """A risk rated less likely than the incident or vendor evidence says."""

    risk_id: str
    title: str
    rated_likelihood: int
    impact: int
    evidence: str = Field(description="What the data shows, with numbers.")
    suggested_likelihood: int
    suggested_score: int = Field(description="suggested likelihood x impact.")
    owner: str | None = None


class RiskSection(Section):
    """The risk register: matrix, top risks, overdue mitigations and contradictions with the evidence."""

    name: str = "risks"
    title: str = "Risks"
    heat_map: list[list[int]] = Field(
        default_factory=lambda: [[0] * 5 for _ in range(5)],
        description="Open risks per cell: heat_map[likelihood - 1][impact - 1].",
    )
    heat_cells: list[HeatCell] = Field(default_factory=list, description="The matrix as a long table (25 cells).")
    top_risks: list[RiskRow] = Field(default_factory=list, description="Top 10 open risks by score.")
    overdue_mitigations: list[OverdueMitigation] = Field(default_factory=list)
    contradictions: list[Contradiction] = Field(default_factory=list)
    without_plan: list[RiskRow] = Field(
        default_factory=list,
        description="High open risks (score >= 15) with no if-then contingency plan (trigger and response), by score.",
    )


DEFINITIONS = {
    "open risk": "A register row whose status is not closed (open or mitigating).",
    "score": "likelihood x impact, each on the 1..5 scale; high risk: score >= 15.",
    "heat map": "Number of open risks per (likelihood, impact) cell.",
    "top risks": "Open risks by score, ties broken by impact, then likelihood (both higher first), then risk id.",
    "mitigation overdue": "Open risk with mitigation_due before as_of; urgent when its score is >= 15.",
    "contingency plan": (
        "An if-then plan on the register row: contingency_trigger (if) and contingency_response (then), carried out "
        "by contingency_owner or the risk's owner. A high open risk (score >= 15) without both is listed."
    ),
    "major incidents in 365 days": (
        "Incidents of kind real and severity SEV1 or SEV2 opened in the 365 days ending as_of (opened before the "
        "end of as_of in the reporting time zone). A register risk describes a major event, so only major incidents "
        "are evidence of its likelihood: SEV3 and SEV4 incidents, drills and maintenance never count."
    ),
    "implied likelihood": (
        "From major (SEV1/SEV2) incidents in 365 days on the linked service, or caused by the linked vendor "
        "(vendor_id): 0 -> 1, 1 -> 2, 2-3 -> 3, 4-11 -> 4, 12 or more -> 5."
    ),
    "repeat incidents": (
        "At least 2 major (SEV1/SEV2) incidents on the same service with the same non-empty root_cause opened "
        "within 30 days of each other, in the 365 days."
    ),
    "what a risk is about": (
        "From its title and category, first match wins: security (vulnerability, exploited, data breach, GDPR, "
        "hack, ransomware, phishing, malware, intrusion, leak); vendor commercial (insolvent, bankrupt, prices, "
        "ends support, end of life: no incident or delivery evidence speaks to these); key person (single engineer, "
        "knows how, key person: people risks); vendor performance (a linked_vendor otherwise: deliveries, outages "
        "it causes); availability (an operational or technology risk with a linked_service otherwise: outages, "
        "capacity, failures); other."
    ),
    "security incident": (
        "A major incident whose root_cause or title names a security cause (security, vulnerability, exploit, "
        "breach, malware, phishing, ransomware, intrusion, unauthorised access, credential)."
    ),
    "contradiction": (
        "An open risk rated lower than evidence that matches what the risk is about. (a) Availability risks with a "
        "linked_service: rated likelihood <= 2 while the service had repeat major incidents, or the likelihood "
        "implied by its major incidents is >= rating + 2. (b) Vendor performance risks: rated likelihood <= 2 "
        "while the vendor is flagged in the vendor section (suggests at least 3, possible), or the likelihood "
        "implied by major incidents the vendor caused is >= rating + 2. (c) Security risks: the likelihood implied "
        "by major security incidents on the linked service or caused by the linked vendor is >= rating + 2. "
        "Vendor commercial, key-person and other risks are never contradicted by incidents or delivery flags. "
        "Suggested likelihood = the highest the matching evidence implies. Re-rating is important, not urgent: a "
        "rating is a planning input, not an outage."
    ),
}

Subject = Literal["security", "vendor_commercial", "key_person", "vendor_performance", "availability", "other"]

_SECURITY_RISK_WORDS = ("vulnerab", "exploit", "breach", "gdpr", "hack", "ransom", "phish", "malware", "intrusion",
                        "leak")  # fmt: skip
_COMMERCIAL_WORDS = ("insolven", "bankrupt", "price", "ends support", "end of life", "end-of-life")
_KEY_PERSON_WORDS = ("single engineer", "knows how", "key person", "key-person")
_SECURITY_INCIDENT_WORDS = ("security", "vulnerab", "exploit", "breach", "malware", "phish", "ransom", "intrusion",
                            "unauthori", "credential")  # fmt: skip


def risk_subject(title: str, category: str | None, linked_service: str | None, linked_vendor: str | None) -> Subject:
    """What a risk is about (DEFINITIONS['what a risk is about']): which evidence may change its likelihood."""
    text = title.lower()
    if any(w in text for w in _SECURITY_RISK_WORDS):
        return "security"
    if any(w in text for w in _COMMERCIAL_WORDS):
        return "vendor_commercial"
    if any(w in text for w in _KEY_PERSON_WORDS) or (category or "").lower() == "people":
        return "key_person"
    if linked_vendor:
        return "vendor_performance"
    if linked_service and (category or "").lower() in INCIDENT_EVIDENCE_CATEGORIES:
        return "availability"
    return "other"


INCIDENT_EVIDENCE_CATEGORIES = {"operational", "technology"}
"""Risk categories whose likelihood a linked service's major incidents speak to."""


def implied_likelihood(incidents: pd.Series) -> pd.Series:
    """Likelihood implied by a count of SEV1/SEV2 incidents in 365 days: 0->1, 1->2, 2-3->3, 4-11->4, >=12->5."""
    return incidents.astype("int64").map(_implied)


def _implied(n: int) -> int:
    return 5 if n >= 12 else 4 if n >= 4 else 3 if n >= 2 else 2 if n >= 1 else 1


def _str(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def compute_risks(
    risks: pd.DataFrame | None,
    incidents: pd.DataFrame | None,
    services: pd.DataFrame | None,
    period: Period,
    flagged_vendor_ids: set[str],
) -> RiskSection:
    """Summarise open risks on the 5x5 matrix and list the ratings that incidents or vendor evidence contradict."""
    if risks is None:
        return RiskSection(
            available=False, note="No risks dataset configured.", definitions=DEFINITIONS, headlines=_headlines()
        )
    section = RiskSection(definitions=dict(DEFINITIONS))
    as_of = pd.Timestamp(period.as_of)
    notes: list[str] = []

    r = risks.drop_duplicates("risk_id").copy()
    is_open = (r["status"] != "closed").fillna(True).to_numpy(dtype=bool)
    closed = int((~is_open).sum())
    r = r.loc[is_open].copy()
    r["likelihood"] = r["likelihood"].astype("int64")
    r["impact"] = r["impact"].astype("int64")
    r["score"] = r["likelihood"] * r["impact"]
    section.basis.append(
        Basis(metric="open risks", rows_used=len(r), rows_excluded=closed, reasons={"closed": closed} if closed else {})
    )

    # Heat map.
    cells = r.groupby(["likelihood", "impact"]).size().reset_index(name="n")
    for li, im, n in zip(cells["likelihood"].tolist(), cells["impact"].tolist(), cells["n"].tolist(), strict=True):
        if 1 <= li <= 5 and 1 <= im <= 5:
            section.heat_map[li - 1][im - 1] = int(n)
    section.heat_cells = [
        HeatCell(likelihood=li, impact=im, score=li * im, risks=section.heat_map[li - 1][im - 1])
        for li in range(5, 0, -1)
        for im in range(1, 6)
    ]

    # Top risks.
    top = r.sort_values(
        ["score", "impact", "likelihood", "risk_id"], ascending=[False, False, False, True], kind="stable"
    ).head(TOP_N)
    section.top_risks = [_risk_row(x) for x in top.to_dict("records")]

    # Overdue mitigations.
    overdue = r[r["mitigation_due"].notna() & (r["mitigation_due"] < as_of)].sort_values(
        ["score", "mitigation_due"], ascending=[False, True]
    )
    for x in overdue.to_dict("records"):
        due = pd.Timestamp(x["mitigation_due"])
        days = int((as_of - due).days)
        score = int(x["score"])
        owner = _str(x.get("owner"))
        section.overdue_mitigations.append(
            OverdueMitigation(
                risk_id=str(x["risk_id"]),
                title=str(x["title"]),
                score=score,
                mitigation_due=due.date(),
                days_overdue=days,
                owner=owner,
            )
        )
        section.actions.append(
            Action(
                text=f"Mitigation of risk {x['risk_id']} '{x['title']}' (score {score}) was due "
                f"{due.date().isoformat()}, {days} days ago: complete it or re-plan it.",
                urgency=Urgency.URGENT if score >= HIGH_SCORE else Urgency.IMPORTANT,
                owner=owner,
                source=f"risk {x['risk_id']}",
                section="risks",
                due=due.date(),
                kind="mitigation_overdue",
            )
        )

    # Evidence.
    service_counts, repeats, vendor_counts, security_counts = _incident_evidence(incidents, period, section, notes)
    service_names = (
        services.drop_duplicates("service_id").set_index("service_id")["name"].astype(str).to_dict()
        if services is not None
        else {}
    )
    for x in r.sort_values("risk_id").to_dict("records"):
        contradiction = _contradiction(
            x, service_counts, repeats, vendor_counts, security_counts, flagged_vendor_ids, service_names, period
        )
        if contradiction is None:
            continue
        section.contradictions.append(contradiction)
        section.actions.append(
            Action(
                text=f"Re-rate risk {contradiction.risk_id} '{contradiction.title}': rated "
                f"{contradiction.rated_likelihood} ({LIKELIHOOD[contradiction.rated_likelihood]}), evidence: "
                f"{contradiction.evidence}; suggested likelihood {contradiction.suggested_likelihood} "
                f"({LIKELIHOOD[contradiction.suggested_likelihood]}), score {contradiction.suggested_score}.",
                urgency=Urgency.IMPORTANT,
                owner=contradiction.owner,
                source=f"risk {contradiction.risk_id}",
                section="risks",
                kind="risk_rerate",
            )
        )

    # High risks without an if-then contingency plan: one action for the lot, the list in the table.
    planned = pd.Series(True, index=r.index)
    for column in ("contingency_trigger", "contingency_response"):
        planned &= r[column].notna() & (r[column].astype("string").str.strip() != "") if column in r else False
    bare = r[(r["score"] >= HIGH_SCORE) & ~planned.fillna(False)].sort_values(
        ["score", "risk_id"], ascending=[False, True], kind="stable"
    )
    section.without_plan = [_risk_row(x) for x in bare.to_dict("records")]
    if section.without_plan:
        first = ", ".join(x.risk_id for x in section.without_plan[:5])
        more = f" and {len(section.without_plan) - 5} more" if len(section.without_plan) > 5 else ""
        section.actions.append(
            Action(
                text=f"Write an if-then contingency plan (trigger, response, owner) for {len(section.without_plan)} "
                f"high risk(s) without one: {first}{more}.",
                urgency=Urgency.IMPORTANT,
                owner=section.without_plan[0].owner,
                source=f"risk {section.without_plan[0].risk_id}",
                section="risks",
                kind="contingency_plan_missing",
            )
        )
    section.headlines = _headlines(
        len(r), int((r["score"] >= HIGH_SCORE).sum()), len(section.overdue_mitigations), len(section.contradictions),
        len(section.without_plan),
    )  # fmt: skip
    if r.empty:
        notes.append("No open risks in the register.")
    section.note = " ".join(notes) or None
    return section


def _risk_row(x: dict[Any, Any]) -> RiskRow:
    due = x.get("mitigation_due")
    return RiskRow(
        risk_id=str(x["risk_id"]),
        title=str(x["title"]),
        category=str(x["category"]),
        likelihood=int(x["likelihood"]),
        impact=int(x["impact"]),
        score=int(x["score"]),
        status=str(x["status"]),
        owner=_str(x.get("owner")),
        mitigation_due=None if due is None or pd.isna(due) else pd.Timestamp(due).date(),
    )


def _incident_evidence(
    incidents: pd.DataFrame | None, period: Period, section: RiskSection, notes: list[str]
) -> tuple[pd.Series, dict[str, tuple[str, int]], pd.Series, pd.Series]:
    """Major incidents in 365 days per service and per vendor, each service's largest repeat group, and major
    security incidents per service and per vendor (one index: service ids and vendor ids)."""
    empty_counts = pd.Series(dtype="int64")
    if incidents is None:
        notes.append("No incidents dataset configured: ratings are checked against vendor flags only.")
        return empty_counts, {}, empty_counts, empty_counts
    start, end = period.days_back(EVIDENCE_DAYS), period.end
    real = (incidents["kind"] == "real").fillna(False).to_numpy(dtype=bool)
    before = (incidents["opened_at"] < start).fillna(False).to_numpy(dtype=bool)
    after = (incidents["opened_at"] >= end).fillna(False).to_numpy(dtype=bool)
    in_window = ~before & ~after
    severity = incidents["severity"].astype("string").str.strip().str.upper()
    major = severity.isin(MAJOR_SEVERITIES).fillna(False).to_numpy(dtype=bool)
    used = incidents.loc[real & in_window & major]
    reasons = {
        "drill or maintenance": int((~real).sum()),
        "opened before the 365 days ending as_of": int((real & before).sum()),
        "opened after as_of (unknown then)": int((real & after).sum()),
        "SEV3 or SEV4 (not a major incident)": int((real & in_window & ~major).sum()),
    }
    section.basis.append(
        Basis(
            metric="incident evidence",
            rows_used=len(used),
            rows_excluded=len(incidents) - len(used),
            reasons={k: v for k, v in reasons.items() if v},
        )
    )
    service_counts = used.groupby("service").size()
    vendor_counts = used[used["vendor_id"].notna()].groupby("vendor_id").size()
    cause = used["root_cause"].astype("string").fillna("")
    title = used["title"].astype("string").fillna("") if "title" in used else pd.Series("", index=used.index)
    said = (cause + " " + title).str.lower()
    security = used[said.str.contains("|".join(_SECURITY_INCIDENT_WORDS), regex=True).fillna(False).to_numpy(bool)]
    security_counts = pd.concat(
        [security.groupby("service").size(), security[security["vendor_id"].notna()].groupby("vendor_id").size()]
    )

    # A repeat: an incident within 30 days of another on the same service with the same root cause.
    rc = used[used["root_cause"].notna() & (used["root_cause"].astype("string").str.strip() != "")]
    rc = rc.sort_values(["service", "root_cause", "opened_at"])
    keys = [rc["service"], rc["root_cause"]]
    window = pd.Timedelta(days=REPEAT_DAYS)
    gap_prev = rc["opened_at"] - rc.groupby(keys)["opened_at"].shift(1)
    gap_next = rc.groupby(keys)["opened_at"].shift(-1) - rc["opened_at"]
    is_repeat = ((gap_prev <= window) | (gap_next <= window)).fillna(False).to_numpy(dtype=bool)
    groups = rc.loc[is_repeat].groupby(["service", "root_cause"]).size().rename("incidents").reset_index()
    biggest = groups.sort_values(["service", "incidents", "root_cause"], ascending=[True, False, True])
    biggest = biggest.drop_duplicates("service")
    repeats = {
        str(s): (str(c), int(n))
        for s, c, n in zip(biggest["service"], biggest["root_cause"], biggest["incidents"], strict=True)
    }
    return service_counts, repeats, vendor_counts, security_counts


def _contradiction(
    x: dict[Any, Any],
    service_counts: pd.Series,
    repeats: dict[str, tuple[str, int]],
    vendor_counts: pd.Series,
    security_counts: pd.Series,
    flagged_vendor_ids: set[str],
    service_names: dict[Any, str],
    period: Period,
) -> Contradiction | None:
    rated = int(x["likelihood"])
    evidence: list[str] = []
    suggested = rated
    window = f"in the 365 days to {period.as_of.isoformat()}"

    service = _str(x.get("linked_service"))
    vendor = _str(x.get("linked_vendor"))
    subject = risk_subject(str(x["title"]), _str(x.get("category")), service, vendor)
    if subject == "security":
        # Only security incidents speak to a security risk: an outage of the same service says nothing about it.
        for key, label in ((service, "service"), (vendor, "vendor")):
            if not key:
                continue
            n = int(security_counts.get(key, 0))
            implied = _implied(n)
            if implied >= rated + 2:
                name = service_names.get(key, key) if label == "service" else key
                evidence.append(
                    f"security risk: {n} SEV1/SEV2 security incidents on {label} {name} {window} "
                    f"(implies likelihood {implied})"
                )
                suggested = max(suggested, implied)
    # Outage evidence speaks to availability risks only: a people, financial or security risk that names a service
    # is not contradicted by that service's outages.
    if service and subject == "availability":
        n = int(service_counts.get(service, 0))
        implied = _implied(n)
        label = f"service {service_names.get(service, service)}"
        repeat = repeats.get(service)
        hit = False
        if repeat is not None and rated <= 2:
            hit = True
            evidence.append(
                f"availability risk: {n} SEV1/SEV2 incidents on {label} {window}, including {repeat[1]} with root "
                f"cause '{repeat[0]}' within {REPEAT_DAYS} days of each other (repeat incidents; "
                f"implies likelihood {implied})"
            )
        elif implied >= rated + 2:
            hit = True
            evidence.append(
                f"availability risk: {n} SEV1/SEV2 incidents on {label} {window} (implies likelihood {implied})"
            )
        if hit:
            suggested = max(suggested, implied)

    # Delivery flags and vendor-caused outages speak to the vendor's performance, not to its prices or solvency.
    if vendor and subject == "vendor_performance":
        n = int(vendor_counts.get(vendor, 0))
        implied = _implied(n)
        if vendor in flagged_vendor_ids and rated <= 2:
            evidence.append(
                f"vendor performance risk: vendor {vendor} is flagged (below contract with 3 or more violation days "
                "in the last 30 days)"
            )
            suggested = max(suggested, FLAGGED_VENDOR_LIKELIHOOD)
            if implied > rated:
                evidence.append(
                    f"vendor performance risk: {n} SEV1/SEV2 incidents caused by vendor {vendor} {window} "
                    f"(implies likelihood {implied})"
                )
                suggested = max(suggested, implied)
        elif implied >= rated + 2:
            evidence.append(
                f"vendor performance risk: {n} SEV1/SEV2 incidents caused by vendor {vendor} {window} "
                f"(implies likelihood {implied})"
            )
            suggested = max(suggested, implied)

    if not evidence:
        return None
    impact = int(x["impact"])
    return Contradiction(
        risk_id=str(x["risk_id"]),
        title=str(x["title"]),
        rated_likelihood=rated,
        impact=impact,
        evidence="; ".join(evidence),
        suggested_likelihood=suggested,
        suggested_score=suggested * impact,
        owner=_str(x.get("owner")),
    )


def _headlines(
    open_risks: int | None = None,
    high: int | None = None,
    overdue: int | None = None,
    contradictions: int | None = None,
    without_plan: int | None = None,
) -> list[Headline]:
    return [
        Headline(key="risks.open", label="Open risks", value=open_risks, unit="risks", better="lower"),
        Headline(key="risks.high", label="High risks (score >= 15)", value=high, unit="risks", better="lower"),
        Headline(key="risks.mitigations_overdue", label="Mitigations overdue", value=overdue, unit="risks",
                 better="lower"),
        Headline(key="risks.contradictions", label="Ratings the evidence contradicts", value=contradictions,
                 unit="risks", better="lower"),
        Headline(key="risks.without_plan", label="High risks without an if-then plan", value=without_plan,
                 unit="risks", better="lower"),
    ]  # fmt: skip


compute_risks_task = compute_task(compute_risks, name="compute_risks")
