"""Shared fixtures: one Prefect test server for the whole session, and a small sample workspace written once."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

# Set before Prefect is imported (it reads its settings at import): no analytics, and a Prefect home of the test
# session's own, so tests never touch the user's ~/.prefect database.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A developer's `make server` on 127.0.0.1:4200 must not receive the tests' runs: only a test that starts its own
# server names one (OPSFLOW_LOCAL_SERVER).
os.environ["OPSFLOW_LOCAL_SERVER"] = ""
if "PREFECT_HOME" not in os.environ:
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="opsflow-prefect-home-")
    atexit.register(shutil.rmtree, os.environ["PREFECT_HOME"], True)

import prefect.main  # noqa: E402, F401  (configures Prefect's log handlers on the real stderr, before CliRunner swaps it)
import pytest  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

SAMPLE_END = date(2026, 3, 29)
"""A Sunday: the sample's last day, so the week ending SAMPLE_END is complete."""
SAMPLE_SCALE = 0.05
SAMPLE_SEED = 7


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """Every flow and task in the session reports to one temporary Prefect server with its own SQLite database."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample company (scale 0.05, fixed seed and end date), written once per session. Treat it as
    read-only: copy it (shutil.copytree) before a test changes anything in it. It is not marked `sample: true`:
    tests use it as a user's own workspace, whose reports go to the stand-in Slack."""
    from opsflow.sample import write_sample

    out = tmp_path_factory.mktemp("sample-workspace")
    write_sample(out, scale=SAMPLE_SCALE, seed=SAMPLE_SEED, end=SAMPLE_END, marked=False)
    return out
