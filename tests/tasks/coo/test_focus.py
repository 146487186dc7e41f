"""Tests for tasks/coo/focus.py with hand-made sections and actions."""

from __future__ import annotations

from datetime import date

from opsflow.findings import Action, Section, Urgency
from opsflow.period import Period
from tasks.coo.focus import build_focus, category

PERIOD = Period(date(2025, 7, 6))
U, IM, R = Urgency.URGENT, Urgency.IMPORTANT, Urgency.ON_RADAR


def act(
    section: str,
    kind: str,
    source: str,
    urgency: Urgency,
    owner: str | None = None,
    due: date | None = None,
    text: str | None = None,
) -> Action:
    return Action(
        text=text or f"{kind} on {source}",
        urgency=urgency,
        owner=owner,
        source=source,
        section=section,
        due=due,
        kind=kind,
    )


def sec(name: str, *actions: Action) -> Section:
    return Section(name=name, title=name.title(), actions=list(actions))


def test_order_by_level_kind_due_and_source() -> None:
    sections = [
        sec(
            "vendors",
            act("vendors", "vendor_flagged", "vendor V2", IM, owner="Vic"),
            act("vendors", "vendor_critical", "vendor V1", U, owner="Vic"),
            act("vendors", "contract_notice", "vendor V3", U, due=date(2025, 7, 15)),
        ),
        sec(
            "incidents",
            act("incidents", "open_incident", "incident INC2", U, owner="Ann"),
            act("incidents", "open_incident", "incident INC1", U, owner="Bob"),
            act("incidents", "postmortem_overdue", "incident INC0", U, due=date(2025, 7, 3)),
            act("incidents", "repeat_cluster", "service S1", IM),
        ),
        sec("sla", act("sla", "sla_breach_imminent", "service S9", U)),
        sec(
            "kpis",
            act("kpis", "kpi_definition_incomplete", "kpi K1", IM, owner="Kim"),
            act("kpis", "kpi_off_track", "kpi K2", IM, owner="Kim"),
        ),
        sec("projects", act("projects", "milestone_due", "project P1", IM, due=date(2025, 7, 10))),
        sec("risks", act("risks", "risk_watch", "risk R1", R)),
    ]
    f = build_focus(sections, PERIOD)
    # urgent: active incidents (INC1 before INC2 by source), SLA, vendor critical, then deadlines by due date.
    assert [i.source for i in f.urgent] == [
        "incident INC1",
        "incident INC2",
        "service S9",
        "vendor V1",
        "incident INC0",
        "vendor V3",
    ]
    # important: improvements (kpi K2 < service S1 by source), vendor review, project milestone, reporting.
    assert [i.source for i in f.important] == ["kpi K2", "service S1", "vendor V2", "project P1", "kpi K1"]
    assert [i.source for i in f.on_radar] == ["risk R1"]
    assert [i.rank for i in f.urgent + f.important + f.on_radar] == list(range(1, 13))
    assert f.urgent[0].owner == "Bob" and f.urgent[2].owner == "unassigned"
    assert f.urgent[4].due == date(2025, 7, 3) and f.urgent[4].section == "incidents"
    # 6 urgent: 2 active incidents, 1 SLA, 1 vendor critical, 2 compliance deadlines; first is INC1, owner Bob.
    assert f.closing == (
        "6 urgent: 2 active incidents, 1 SLA breach imminent, 1 vendor critical issue, 2 compliance deadlines. "
        "Start with incident INC1 (Bob)."
    )
    h = {x.key: x.value for x in f.headlines}
    assert h["focus.urgent.count"] == 6 and h["focus.important.count"] == 5
    assert not f.left_out and f.note is None


def test_duplicates_keep_the_most_urgent() -> None:
    a = act("incidents", "open_incident", "incident INC1", IM, owner="Ann")
    b = act("incidents", "open_incident", "incident INC1", U, owner="Ann")
    other = act("incidents", "postmortem_overdue", "incident INC1", U)  # same source, other kind: kept
    f = build_focus([sec("incidents", a, b, other)], PERIOD)
    assert [(i.source, i.category) for i in f.urgent] == [
        ("incident INC1", "active incident"),
        ("incident INC1", "compliance deadline"),
    ]
    assert not f.important


def test_limit_counts_left_out_by_section() -> None:
    # 3 urgent incidents + 2 urgent SLA, limit 2: INC1, INC2 listed; INC3 and both SLA items left out.
    sections = [
        sec("incidents", *[act("incidents", "open_incident", f"incident INC{n}", U) for n in (3, 1, 2)]),
        sec("sla", *[act("sla", "sla_breach_imminent", f"service S{n}", U) for n in (1, 2)]),
        sec("kpis", *[act("kpis", "kpi_off_track", f"kpi K{n}", IM) for n in (1, 2, 3)]),
    ]
    f = build_focus(sections, PERIOD, limit=2)
    assert [i.source for i in f.urgent] == ["incident INC1", "incident INC2"]
    assert [i.source for i in f.important] == ["kpi K1", "kpi K2"]
    assert [(r.urgency, r.section, r.count) for r in f.left_out] == [
        (U, "incidents", 1),
        (U, "sla", 2),
        (IM, "kpis", 1),
    ]
    # One line says what else waits, by level and section.
    assert f.note == "Also waiting: 3 more urgent (incidents 1, sla 2); 1 more important (kpis 1). Each section lists "\
        "its own; all are in actions.csv."
    # the headline and the closing line count everything, not only what is listed.
    assert {x.key: x.value for x in f.headlines}["focus.urgent.count"] == 5
    assert f.closing.startswith("5 urgent: 3 active incidents, 2 SLA breaches imminent.")


def test_nothing_urgent_and_nothing_at_all() -> None:
    f = build_focus([sec("kpis", act("kpis", "kpi_off_track", "kpi K7", IM, owner="Kim"))], PERIOD)
    assert f.closing.startswith("Nothing urgent this week") and "kpi K7" in f.closing
    empty = build_focus([sec("incidents"), sec("sla")], PERIOD)
    assert empty.closing.startswith("Nothing urgent this week")
    assert not empty.urgent and not empty.important and empty.note
    assert {x.key: x.value for x in empty.headlines}["focus.urgent.count"] == 0


def test_category_from_kind_or_section() -> None:
    assert category(act("vendors", "", "vendor V1", U)) == "vendor_critical_issue"
    assert category(act("vendors", "", "vendor V1", IM)) == "vendor_review"
    assert category(act("incidents", "open_sev1", "incident INC1", U)) == "active_incident"
    assert category(act("incidents", "problem_management", "service S1", IM)) == "improvement"
    assert category(act("risks", "risk_rerate", "risk R1", U)) == "other"  # urgent but no known kind: after them
    assert category(act("x", "reporting", "y", IM)) == "reporting"


def test_rank_by_consequence_not_by_record_id() -> None:
    week = Period(date(2026, 3, 8))

    def act(kind: str, source: str, section: str, urgency: Urgency = Urgency.URGENT, **kw: object) -> Action:
        return Action(text=f"{kind} {source}", urgency=urgency, source=source, section=section, kind=kind, **kw)

    actions = [
        # Open majors: the SEV2 has the lower id and is older, but a SEV1 comes first.
        act("open_major_incident", "incident A-1", "incidents", severity="SEV2", impact=90.0),
        act("open_major_incident", "incident Z-9", "incidents", severity="SEV1", impact=2.0),
        # Breached SLOs: the one still burning (3.5x) before the one that stopped (0x), whatever their ids.
        act("sla_breached", "sla a/stopped", "sla", impact=0.0),
        act("sla_breached", "sla z/burning", "sla", impact=3.5),
        # Compliance work: an overdue SEV2 postmortem before vendor paperwork due earlier, and before breached SLOs.
        act("contract_notice", "vendor V1", "vendors", due=date(2026, 3, 1)),
        act("vendor_critical_issue", "vendor V2", "vendors"),
        act("sla_breach_imminent", "sla m/imminent", "sla", impact=8.0),
        act("postmortem_overdue", "incident P-7", "incidents", severity="SEV2", impact=30.0, due=date(2026, 3, 5)),
        # Repeat clusters: the 650-incident cluster before the 4-incident one (ids would say otherwise).
        act("repeat_problem_management", "incident C-1", "incidents", Urgency.IMPORTANT, impact=4.0),
        act("repeat_problem_management", "incident C-9", "incidents", Urgency.IMPORTANT, impact=650.0),
    ]
    focus = build_focus([Section(name="mixed", title="Mixed", actions=actions)], week)
    # Live incidents, the overdue SEV1/SEV2 postmortem, the SLO still burning, the imminent breach, the vendor's
    # critical issue, the vendor's paperwork, and last the breached SLO that stopped burning.
    focus = build_focus([Section(name="mixed", title="Mixed", actions=actions)], week, limit=10)
    assert [i.source for i in focus.urgent] == [
        "incident Z-9", "incident A-1", "incident P-7", "sla z/burning", "sla m/imminent", "vendor V2", "vendor V1",
        "sla a/stopped",
    ]  # fmt: skip
    assert [i.source for i in focus.important] == ["incident C-9", "incident C-1"]
