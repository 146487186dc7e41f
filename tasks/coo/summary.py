"""The executive summary of the weekly audit: five to eight sentences built only from computed figures."""

from __future__ import annotations

from opsflow.findings import FocusSection, Section
from opsflow.period import Period
from tasks.reporting.narrative import Figure
from tasks.reporting.present import format_value


def _figures(sections: list[Section]) -> dict[str, float | None]:
    return {h.key: h.value for s in sections for h in s.headlines}


def _previous(sections: list[Section]) -> dict[str, float | None]:
    return {h.key: h.previous for s in sections for h in s.headlines}


def _n(value: float | None) -> str:
    return "no" if value is None else format_value(int(value) if float(value).is_integer() else value)


def _count(value: float | None) -> str:
    return "n/a" if value is None else format_value(int(value))


def _mttr_text(sections: list[Section]) -> str:
    """The week's median time to resolve with what it covers: resolved incidents, and the open ones it leaves out."""
    incidents = next((s for s in sections if s.name == "incidents"), None)
    rows = getattr(incidents, "response_times", None) or []
    week = next((r for r in rows if r.scope == "week" and r.severity == "all"), None)
    if week is None or week.mttr_median_hours is None:
        return ""
    median = format_value(week.mttr_median_hours)
    text = f"; median time to resolve was {median} hours over {_n(week.resolved)} resolved"
    if week.unresolved:
        oldest = week.oldest_unresolved_hours
        oldest_text = f", oldest {format_value(round(oldest))} hours" if oldest is not None else ""
        text += f" ({_n(week.unresolved)} still open and left out{oldest_text})"
    return text


def _kpi_coverage(sections: list[Section]) -> str:
    """What the mean OKR score covers: the KPIs with a score, of all KPIs."""
    kpis = next((s for s in sections if s.name == "kpis"), None)
    rows = getattr(kpis, "kpis", None) or []
    if not rows:
        return ""
    scored = sum(r.okr_score is not None for r in rows)
    return f" (over the {_n(scored)} KPIs with a score, of {_n(len(rows))})" if scored < len(rows) else ""


def summary_figures(sections: list[Section]) -> dict[str, float | int | str]:
    """The figures a summary may cite: every headline value (and its previous value) that exists."""
    figures: dict[str, float | int | str] = {}
    for section in sections:
        for h in section.headlines:
            if h.value is not None:
                figures[h.key] = round(h.value, 4)
                if h.unit == "ratio":
                    figures[h.key + ".percent"] = round(h.value * 100, 1)
            if h.previous is not None:
                figures[h.key + ".previous"] = round(h.previous, 4)
    return figures


def summary_references(sections: list[Section]) -> dict[str, Figure]:
    """The figures a summary may cite by placeholder: every headline value (and its previous value) that exists,
    with its label and unit so opsflow writes "95.3%" or "4.5 hours" where the model wrote the placeholder."""
    figures: dict[str, Figure] = {}
    for section in sections:
        for h in section.headlines:
            if h.value is not None:
                figures[h.key] = Figure(value=h.value, unit=h.unit, label=h.label)
            if h.previous is not None:
                figures[h.key + ".previous"] = Figure(value=h.previous, unit=h.unit, label=f"{h.label}, previous run")
    return figures


def template_summary(sections: list[Section], focus: FocusSection, period: Period) -> str:
    """The deterministic summary: one sentence per area that has data, and the focus line last."""
    f = _figures(sections)
    prev = _previous(sections)
    sentences: list[str] = []
    week = f"{period.week_start:%d %b} to {period.as_of:%d %b %Y}"

    total = f.get("incidents.week.total")
    if total is not None:
        change = ""
        if prev.get("incidents.week.total") is not None:
            change = f" (previous week: {_n(prev['incidents.week.total'])})"
        mttr_text = _mttr_text(sections)
        sentences.append(
            f"In the week {week}, {_n(total)} incidents were opened{change}, "
            f"{_n(f.get('incidents.week.sev1_sev2'))} of them SEV1 or SEV2{mttr_text}."
        )
        sentences.append(
            f"{_n(f.get('incidents.open_sev1_sev2')).capitalize()} SEV1/SEV2 incidents are still open and "
            f"{_n(f.get('incidents.postmortems_overdue'))} postmortems are overdue."
        )
    compliance = f.get("sla.week.compliance")
    if compliance is not None:
        sentences.append(
            f"SLA compliance was {format_value(compliance, 'ratio')} across all commitments this week; "
            f"SLO breached (30-day error budget exhausted): {_count(f.get('sla.breached'))}, breach imminent (on "
            f"course to exhaust it within 7 days): {_count(f.get('sla.breach_imminent'))}."
        )
    if f.get("vendors.flagged") is not None:
        sentences.append(
            f"{_n(f.get('vendors.flagged')).capitalize()} vendors are flagged (below contract with three or more "
            "violation days in 30 days), "
            f"{_n(f.get('vendors.below_threshold'))} are below their contract threshold, and "
            f"{_n(f.get('vendors.renewals.90d'))} contracts renew within 90 days."
        )
    if f.get("projects.off_track") is not None:
        spi = f.get("projects.portfolio.spi")
        spi_text = f" (portfolio SPI {format_value(spi, 'index')})" if spi is not None else ""
        sentences.append(
            f"Of the open projects, {_n(f.get('projects.on_track'))} are on track, {_n(f.get('projects.at_risk'))} at "
            f"risk and {_n(f.get('projects.off_track'))} off track{spi_text}."
        )
    if f.get("risks.open") is not None:
        sentences.append(
            f"The risk register holds {_n(f.get('risks.high'))} high risks; "
            f"{_n(f.get('risks.contradictions'))} ratings are contradicted by the evidence and "
            f"{_n(f.get('risks.mitigations_overdue'))} mitigations are overdue."
        )
    if f.get("kpis.okr_score.mean") is not None:
        sentences.append(
            f"KPIs score {format_value(f.get('kpis.okr_score.mean'), 'score')} on average against their targets"
            f"{_kpi_coverage(sections)}, with {_n(f.get('kpis.off_track.count'))} off track."
        )
    sentences.append(focus.closing if focus.closing else "Nothing urgent this week.")
    return " ".join(sentences)
