"""The weekly audit's own units of work: its period, its history, its executive summary and its Slack digest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from opsflow.config import WorkspaceConfig
from opsflow.findings import Action, FocusSection, Headline, Section, pick_headlines
from opsflow.handoff import as_is
from opsflow.history import HistoryStore, StoredRun, open_history
from opsflow.period import Period
from opsflow.settings import get_settings
from opsflow.tasking import compute_task, io_task
from tasks.coo.summary import summary_references, template_summary
from tasks.reporting.narrative import Narrative, Narrator, UsageLog, narrate

SLACK_HEADLINES = (
    "incidents.week.total",
    "incidents.open_sev1_sev2",
    "incidents.postmortems_overdue",
    "sla.week.compliance",
    "sla.breached",
    "sla.breach_imminent",
    "vendors.flagged",
    "projects.off_track",
    "risks.contradictions",
    "kpis.okr_score.mean",
)
"""The ten figures the Slack post shows (Block Kit allows ten fields in a section). The SLO statuses are the SLA
section's own (breached, breach imminent); the MTTR median stays in the report, where its coverage is stated."""

FLOW = "weekly-audit"


def history_for(workspace: Path, config: WorkspaceConfig) -> HistoryStore:
    """The history store named by opsflow.yaml, else OPSFLOW_HISTORY_URL, else SQLite in the workspace."""
    return open_history(workspace, config.history_url or get_settings().history_url)


def load_previous_audit(history: HistoryStore, as_of: date) -> StoredRun | None:
    """The latest audit for a week that ended before `as_of` (the one this week is compared with)."""
    return history.previous_run(FLOW, as_of)


def write_summary(
    sections: list[Section], focus: FocusSection, period: Period, narrator: Narrator, usage: UsageLog
) -> Narrative:
    """The executive summary: Claude's words with opsflow's figures in its placeholders, else the template's. The
    focus line and the names in it come from the data: quoted data, never a figure."""
    quoted = {
        "week_start": f"{period.week_start:%d %b %Y}",
        "week_end": f"{period.as_of:%d %b %Y}",
        "focus": focus.closing,
    }
    for i, item in enumerate([*focus.urgent, *focus.important][:5], start=1):
        quoted[f"focus_item_{chr(96 + i)}"] = item.text
        if item.owner:
            quoted[f"focus_owner_{chr(96 + i)}"] = item.owner
    return narrate(
        "performance",
        summary_references(sections),
        ["The week runs from {week_start} to {week_end}.", "The focus items are what to do next, most urgent first."],
        lambda: template_summary(sections, focus, period),
        narrator,
        usage,
        quoted=quoted,
    )


AUDIT_TILES = (
    "incidents.open_sev1_sev2",
    "incidents.week.total",
    "incidents.week.mttr_median_hours",
    "sla.week.compliance",
    "sla.breached",
    "vendors.flagged",
    "projects.off_track",
    "kpis.on_track.share",
)
"""The eight figures on the audit's first screen: live work first, then each area's state."""


def slack_headlines(sections: list[Section]) -> list[Headline]:
    """The figures for the Slack post, in a fixed order, those the run could compute."""
    return pick_headlines(sections, SLACK_HEADLINES)


def focus_actions(focus: FocusSection) -> list[Action]:
    """The focus list as actions, urgent first, for the Slack post."""
    return [
        Action(text=i.text, urgency=i.urgency, owner=i.owner, source=i.source, section=i.section, due=i.due)
        for i in [*focus.urgent, *focus.important]
    ]


load_previous_audit_task = io_task(load_previous_audit, name="load_previous_audit")
write_summary_task = compute_task(write_summary, name="write_summary")


def audit_summary(
    sections: list[Section], focus: FocusSection, period: Period, narrator: Narrator, usage: UsageLog
) -> Narrative:
    """The executive summary by its task, the finished sections and focus handed over as they are."""
    return write_summary_task(as_is(sections), as_is(focus), period, narrator, usage)
