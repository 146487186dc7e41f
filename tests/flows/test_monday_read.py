"""The Monday read's budgets on the sample at scale 1: report.md <= 300 lines, the HTML <= 12,000 px tall at 1280 px
wide in headless Chromium with no table wider than the page, the Slack top-level message within one screen, one
definitions appendix, and the first screen kept as a screenshot (test-artifacts/monday-read.png; with
OPSFLOW_UPDATE_DOCS=1 also docs/monday-read.png, which the README shows)."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from deployments.spec import REPO_ROOT
from flows.weekly_audit import WeeklyAuditParams, WeeklyAuditResult, weekly_audit
from opsflow.sample import write_sample
from opsflow.settings import get_settings
from tasks.coo.leadership import MAX_LINES
from tasks.delivery.slack import MAX_FOCUS_ITEMS, ONE_SCREEN_CHARS
from tests.conftest import SAMPLE_END, SAMPLE_SEED
from tests.deployments.test_ui import CHROMIUM, CHROMIUM_FLAGS, _ensure_chromium

pytestmark = pytest.mark.slow

ARTIFACTS = REPO_ROOT / "test-artifacts"
MD_LINES = 300
HTML_HEIGHT = 12_000
WIDTH = 1280
FIRST_SCREEN = 1000  # px of the first screen kept as the screenshot


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The audit of the sample at scale 1, with the week before it run first so every tile has its change."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "OPSFLOW_SLACK_API_URL", "ANTHROPIC_API_KEY"):
        os.environ.pop(name, None)
    get_settings.cache_clear()
    ws = tmp_path_factory.mktemp("scale-1")
    write_sample(ws, scale=1.0, seed=SAMPLE_SEED, end=SAMPLE_END, marked=False)
    weekly_audit(WeeklyAuditParams(workspace=ws, as_of=SAMPLE_END - timedelta(days=7), post_to_slack=False))
    result = weekly_audit(WeeklyAuditParams(workspace=ws, as_of=SAMPLE_END, post_to_slack=True))
    assert isinstance(result, WeeklyAuditResult), result
    return result.report_html.parent


def _measure(html: Path) -> dict[str, Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` dev dependency is not installed")
    _ensure_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": FIRST_SCREEN})
            page.goto(html.as_uri(), wait_until="load")
            measured: dict[str, Any] = page.evaluate(
                """() => ({
                  height: document.documentElement.scrollHeight,
                  pageWidth: document.documentElement.scrollWidth,
                  tooWide: Array.from(document.querySelectorAll('table'))
                    .filter(t => t.getClientRects().length)
                    .filter(t => t.getBoundingClientRect().width > t.parentElement.clientWidth + 1
                                 || t.getBoundingClientRect().right > document.documentElement.clientWidth)
                    .map(t => t.querySelector('th, td').textContent),
                  firstScreenUrgent: document.querySelectorAll('#first-screen table.first')[0]
                    ?.querySelectorAll('tr').length ?? 0,
                  tiles: document.querySelectorAll('#first-screen .tile').length,
                  definitionBlocks: document.querySelectorAll('#definitions').length,
                })"""
            )
            page.screenshot(path=str(ARTIFACTS / "monday-read.png"))
            page.screenshot(path=str(ARTIFACTS / "monday-read-full.png"), full_page=True)
        finally:
            browser.close()
    if os.environ.get("OPSFLOW_UPDATE_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / "monday-read.png", REPO_ROOT / "docs" / "monday-read.png")
    return measured


def test_markdown_budget_and_full_lists_beside_it(audit: Path) -> None:
    markdown = (audit / "report.md").read_text(encoding="utf-8")
    assert len(markdown.splitlines()) <= MD_LINES
    # No HTML entities in Markdown: '&' and '>=' read as written.
    assert not re.search(r"&(amp|lt|gt|quot|#\d+);", markdown)
    # Every action is in actions.csv, however few the report shows.
    sections = json.loads((audit / "report.json").read_text(encoding="utf-8"))["sections"]
    actions = pd.read_csv(audit / "actions.csv")
    assert len(actions) == sum(len(s["actions"]) for s in sections)
    assert list(actions["rank"]) == list(range(1, len(actions) + 1))
    # One definitions appendix: each term once, in definitions.md.
    terms = re.findall(r"^- \*\*(.+?)\*\* \(", (audit / "definitions.md").read_text(encoding="utf-8"), re.M)
    assert len(terms) >= 20
    assert "Appendix: definitions" not in markdown and markdown.count("definitions.md") == 1


def test_html_fits_the_budget_in_chromium(audit: Path) -> None:
    measured = _measure(audit / "report.html")
    assert measured["height"] <= HTML_HEIGHT, measured
    assert measured["pageWidth"] <= WIDTH, measured
    assert measured["tooWide"] == [], measured
    assert 6 <= measured["tiles"] <= 8
    assert 1 <= measured["firstScreenUrgent"] <= 5
    assert measured["definitionBlocks"] == 1


def test_slack_top_level_is_one_screen_and_details_go_in_the_thread(audit: Path) -> None:
    # The flow's channel first; an open SEV1/SEV2 adds its severity's channel with the same message.
    message = json.loads((audit / "slack-payload.json").read_text(encoding="utf-8"))["messages"][0]
    blocks = message["chat.postMessage"]["blocks"]
    visible = "".join(
        (b.get("text") or {}).get("text", "") + "".join(f["text"] for f in b.get("fields", [])) for b in blocks
    )
    assert len(visible) <= ONE_SCREEN_CHARS, len(visible)
    focus = next(b["text"]["text"] for b in blocks if "What to do next" in (b.get("text") or {}).get("text", ""))
    lines = [line for line in focus.splitlines() if line.startswith("•")]
    assert 1 <= len(lines) <= MAX_FOCUS_ITEMS
    assert message["thread_reply"]["blocks"], "the details are in the thread"


def test_leadership_update_is_short_and_posted_to_its_own_channel(audit: Path) -> None:
    update = (audit / "leadership-update.md").read_text(encoding="utf-8")
    assert len(update.splitlines()) <= MAX_LINES
    for area in ("Incidents:", "SLA:", "Projects:", "Vendor health:", "Key metrics:", "Next week's focus:"):
        assert area in update
    # The same figures as the report: this week's incident count is the audit's headline.
    figures = {h["key"]: h["value"] for s in json.loads((audit / "report.json").read_text())["sections"]
               for h in s["headlines"]}  # fmt: skip
    assert f"**Incidents:** {int(figures['incidents.week.total']):,} opened" in update
    [posted] = json.loads((audit / "slack-leadership-payload.json").read_text(encoding="utf-8"))["messages"]
    assert posted["channel"] == "#ops-leadership"
