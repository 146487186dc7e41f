"""The leadership update from hand-made sections: the seed's areas, the audit's own figures, at most 15 lines."""

from __future__ import annotations

from datetime import date

from opsflow.findings import FocusItem, FocusSection, Headline, Section, Urgency
from opsflow.period import Period
from tasks.coo.leadership import MAX_LINES, build_leadership_update


def _h(key: str, value: float, unit: str = "", previous: float | None = None) -> Headline:
    return Headline(key=key, label=key, value=value, unit=unit, previous=previous)


def test_update_cites_the_sections_figures_with_units_and_changes() -> None:
    sections = [
        Section(
            name="incidents",
            title="Incidents",
            headlines=[
                _h("incidents.week.total", 12, previous=9),  # +3 on last week
                _h("incidents.week.sev1_sev2", 2),
                _h("incidents.open_sev1_sev2", 1),
                _h("incidents.week.mttr_median_hours", 4.46, "hours"),  # written 4.5 h
                _h("incidents.postmortems_overdue", 0),
            ],
        ),
        Section(name="sla", title="SLA", headlines=[_h("sla.week.compliance", 0.953, "ratio", previous=0.96)]),
        Section(name="kpis", title="KPIs", headlines=[_h("kpis.on_track.share", 0.5, "ratio")]),
    ]
    items = [
        FocusItem(rank=n, urgency=Urgency.URGENT, category="active incident", text=f"Fix thing {n}.", owner="Ann",
                  source=f"incident I{n}", section="incidents")
        for n in range(1, 6)
    ]  # fmt: skip
    focus = FocusSection(name="focus", title="Focus", closing="5 urgent. Start with incident I1 (Ann).", urgent=items)
    text = build_leadership_update(sections, focus, Period(date(2026, 3, 8)), "Acme")
    lines = text.splitlines()
    assert len(lines) <= MAX_LINES
    assert lines[0] == "**Weekly operations update, 02 Mar to 08 Mar 2026** (Acme)"
    assert "- **Incidents:** 12 opened (+3 vs last week), 2 SEV1/SEV2, 1 still open; MTTR median 4.5 h" in text
    # 95.3% vs 96.0% the week before: -0.7 points.
    assert "- **SLA:** 95.3% overall (-0.7 pts vs last week)" in text
    assert "- **Key metrics:** KPIs on track 50.0%." in text
    # Where to start, then the first three items only; no vendor or project line without those sections.
    assert "- **Next week's focus:** 5 urgent. Start with incident I1 (Ann)." in text
    assert [line for line in lines if line.startswith("  - ")] == [f"  - Fix thing {n}. (Ann)" for n in (1, 2, 3)]
    assert "Vendor health" not in text and "Projects" not in text
