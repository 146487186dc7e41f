"""The daily brief's selection: today's kinds of work, round-robin to ten lines, the 07:30 cut-off, the closing line."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

from opsflow.findings import Action, Section, Urgency
from tasks.coo.brief import BriefPeriod, brief_lines, brief_period, day_group, select_brief
from tasks.delivery.slack import FileSender, Progress, build_message

DAY = date(2026, 3, 11)  # a Wednesday


def _a(
    kind: str, source: str, urgency: Urgency = Urgency.URGENT, due: date | None = None, section: str = "x"
) -> Action:
    return Action(text=f"{kind} {source}", urgency=urgency, owner="Ana", source=source, section=section, due=due,
                  kind=kind)  # fmt: skip


def test_cutoff_is_0730_local_time() -> None:
    period = BriefPeriod(DAY, "Europe/Berlin")
    # Berlin is UTC+1 in March before the switch (29 March): 07:30 local = 06:30 UTC; the week starts 5 March.
    assert period.end.isoformat() == "2026-03-11T06:30:00+00:00"
    assert period.start.isoformat() == "2026-03-04T23:00:00+00:00"
    assert period.cutoff == time(7, 30) and period.key == "2026-03-11"
    # Default day: today in the workspace's time zone (23:30 UTC on the 10th is already the 11th in Berlin).
    from datetime import UTC, datetime

    assert brief_period(None, "Europe/Berlin", now=datetime(2026, 3, 10, 23, 30, tzinfo=UTC)).as_of == DAY


def test_day_groups_and_their_windows() -> None:
    assert day_group(_a("open_major_incident", "incident I1"), DAY) is not None
    assert day_group(_a("risk_rerate", "risk R1"), DAY) is None, "re-rating a risk is not today's work"
    # A ticket about to miss its own SLA is today's work.
    assert day_group(_a("ticket_sla_at_risk", "incident T5"), DAY) is not None
    # Contract notices count within 14 days (25 March), milestones within 7 (18 March).
    assert day_group(_a("contract_notice", "vendor V1", due=date(2026, 3, 25)), DAY) is not None
    assert day_group(_a("contract_notice", "vendor V1", due=date(2026, 3, 26)), DAY) is None
    assert day_group(_a("milestone_due", "project P1", Urgency.IMPORTANT, due=date(2026, 3, 18)), DAY) is not None
    assert day_group(_a("milestone_due", "project P1", Urgency.IMPORTANT, due=date(2026, 3, 19)), DAY) is None


def test_round_robin_gives_every_kind_a_line_before_any_gets_a_second() -> None:
    actions = [
        *[_a("sla_breach_imminent", f"sla S{i}") for i in range(5)],
        *[_a("vendor_critical", f"vendor V{i}") for i in range(5)],
        _a("postmortem_overdue", "incident I9", due=date(2026, 3, 9)),
        _a("open_major_incident", "incident I1"),
        _a("mitigation_overdue", "risk R1", Urgency.IMPORTANT, due=date(2026, 1, 5)),
        _a("milestone_due", "project P1 task T1", Urgency.IMPORTANT, due=date(2026, 3, 13)),
        _a("kpi_definition_incomplete", "kpi K1", Urgency.IMPORTANT),
    ]
    focus, brief = select_brief([Section(name="x", title="X", actions=actions)], BriefPeriod(DAY, "UTC"), limit=8)
    lines = brief_lines(focus)
    # Six kinds present -> round one: 6 lines; round two: SLA S1 and vendor V1 -> 8 (limit).
    assert len(lines) == 8
    sources = [line.rsplit(": ", 1)[1] for line in lines]
    assert set(sources) == {"incident I1", "incident I9", "sla S0", "sla S1", "vendor V0", "vendor V1", "risk R1",
                            "project P1 task T1"}  # fmt: skip
    # Shown in focus order: urgent first (active incident, SLA, vendor, compliance deadline), then important.
    assert sources[0] == "incident I1" and sources[-2:] == ["risk R1", "project P1 task T1"]
    assert [i.rank for i in [*focus.urgent, *focus.important]] == list(range(1, 9))
    assert sum(r.count for r in focus.left_out) == 3 + 3, "3 SLA and 3 vendor lines left out"
    # 5 SLA + 5 vendor + the postmortem + the incident = 12 urgent; the closing counts them all.
    assert focus.closing.startswith("12 urgent: 1 active incident, 5 SLA breaches imminent")
    assert focus.closing.endswith("Start with incident I1 (Ana).")
    assert [a.source for a in brief.actions] == ["kpi K1"], "the rest waits in 'if you have time'"
    assert next(h for h in brief.headlines if h.key == "brief.lines").value == 8


def test_limit_never_exceeds_ten() -> None:
    actions = [_a("sla_breach_imminent", f"sla S{i:02d}") for i in range(30)]
    focus, _ = select_brief([Section(name="x", title="X", actions=actions)], BriefPeriod(DAY, "UTC"), limit=50)
    assert len(brief_lines(focus)) == 10


def test_closing_line_goes_into_the_post(tmp_path: Path) -> None:
    message = build_message("daily-brief", "Daily brief", "2026-03-11", [], [_a("open_major_incident", "incident I1")],
                            None, "", [], channel="#ops-daily",
                            closing="1 urgent: 1 active incident. Start with <!channel> I1.")  # fmt: skip
    sender = FileSender(tmp_path)
    sender.send(message, Progress(), lambda p: None)
    posted = json.loads((tmp_path / "slack-payload.json").read_text(encoding="utf-8"))["messages"][0]
    blocks = posted["chat.postMessage"]["blocks"]
    # Where to start opens the focus block (before the "full report" context line), escaped like every data string.
    assert blocks[-2]["text"]["text"].startswith("*1 urgent: 1 active incident. Start with &lt;!channel&gt; I1.*\n")
    assert blocks[-1]["type"] == "context"
    assert posted["chat.postMessage"]["text"].endswith("Start with &lt;!channel&gt; I1.")


def test_the_brief_repeats_ticket_sla_compliance() -> None:
    from opsflow.findings import Headline

    sla = Section(name="sla", title="SLA", headlines=[Headline(key="sla.tickets.compliance", label="t", value=0.8)])
    _, brief = select_brief([sla], BriefPeriod(DAY, "Europe/Berlin"))
    assert {h.key: h.value for h in brief.headlines}["sla.tickets.compliance"] == 0.8
