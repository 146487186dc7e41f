"""The Prefect UI in a real browser: weekly-audit's run form sets `as_of`, the run completes with that value.

Debian's chromium (installed with apt-get when absent) driven by the `playwright` package; `playwright install`
(which downloads a browser of its own) is never run. A screenshot of the filled form is saved under test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from deployments.spec import REPO_ROOT
from opsflow.period import last_complete_week_end
from opsflow.sample import write_sample
from tests.deployments.conftest import PYTHON, Processes, clean_env, no_traceback, wait_for

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"
RUN_TIMEOUT = 240.0


def _ensure_chromium() -> None:
    """Debian's chromium, installed as CI does it (root, with Debian's package index reachable)."""
    if CHROMIUM.exists():
        return
    assert os.geteuid() == 0 and shutil.which("apt-get"), f"{CHROMIUM} is missing: apt-get install -y chromium"
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    assert CHROMIUM.exists()


def _runs(api: str, deployment_id: str) -> list[dict[str, Any]]:
    body = {"deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 10}
    response = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10)
    response.raise_for_status()
    runs: list[dict[str, Any]] = response.json()
    return runs


def test_run_form_sets_as_of_and_the_run_completes_with_it(processes: Processes, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` dev dependency is not installed")
    _ensure_chromium()

    home = tmp_path / "prefect-home"
    api, _ = processes.server(home)
    ui = api.removesuffix("/api")
    # serve's flow runs work from its directory: a small sample named `workspace`, as the default parameter expects,
    # ending last Sunday so that a run with the default `as_of` would have its week too.
    run_dir = tmp_path / "run"
    sample_end = last_complete_week_end(date.today())
    write_sample(run_dir / "workspace", scale=0.02, end=sample_end)
    as_of = sample_end - timedelta(days=7)  # not the default (empty: last week), set through the form
    serve = processes.start(
        "serve",
        [PYTHON, "-m", "deployments.serve", "--only", "weekly-audit"],
        clean_env(home, PREFECT_API_URL=api),
        cwd=run_dir,
    )
    wait_for(lambda: "serve: running" in serve.output() or not serve.alive(), 120, "serve to start")
    assert serve.alive(), serve.output()
    deployment = httpx.get(f"{api}/deployments/name/weekly-audit/weekly-audit", timeout=10).json()

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1200},
        )
        try:
            page = browser.new_page()
            page.goto(f"{ui}/deployments/deployment/{deployment['id']}/run", wait_until="networkidle")
            sync_api.expect(page.get_by_text("As Of (Optional)")).to_be_visible(timeout=30_000)
            # `as_of` is `date | None`: the form shows a date/None switch, then a date picker with a native input.
            page.get_by_role("button", name="date", exact=True).click()
            page.get_by_text("Select date").click()
            page.locator("input[type=date]").fill(as_of.isoformat())
            page.get_by_role("button", name="Apply", exact=True).click()
            sync_api.expect(page.get_by_text(f"{as_of:%b}")).not_to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "ui-weekly-audit-run-form.png"), full_page=True)
            page.get_by_role("button", name="Submit", exact=True).click()  # exact: "Run" alone would match "Runs"
            page.wait_for_url(lambda url: not url.endswith("/run"), timeout=30_000)
        finally:
            browser.close()

    def finished() -> dict[str, Any] | None:
        runs = _runs(api, deployment["id"])
        return next((r for r in runs if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")), None)

    run = wait_for(finished, RUN_TIMEOUT, "the run submitted from the UI to finish", interval=1.0)
    assert run["state_type"] == "COMPLETED", f"{run['state_name']}: {serve.output()[-4000:]}"
    assert run["parameters"]["params"]["as_of"] == as_of.isoformat()
    assert (run_dir / "workspace" / "reports" / "weekly-audit" / as_of.isoformat() / "report.html").is_file()
    assert serve.stop(signal.SIGTERM) == 0
    assert no_traceback(serve.output()), serve.output()[-4000:]
