"""Drill probes against real stand-ins: HTTP endpoints on 127.0.0.1, SQLite in tmp, files, the Prefect test server."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsflow.probes import FileFreshnessProbe, HttpProbe, PrefectDeploymentProbe, SqlProbe, wait_until_healthy
from tasks.continuity.standin import StandInEndpoint


@pytest.fixture
def endpoint() -> Iterator[StandInEndpoint]:
    with StandInEndpoint() as e:
        yield e


@pytest.mark.slow
def test_http_probe_healthy_failing_slow_and_unreachable(endpoint: StandInEndpoint, tmp_path: Path) -> None:
    probe = HttpProbe(name="api", url=endpoint.url + "/health", max_latency_ms=2000)
    healthy = probe.check(tmp_path)
    assert healthy.ok and healthy.detail.startswith("HTTP 200") and healthy.latency_ms is not None

    endpoint.state.status = 503
    failing = probe.check(tmp_path)
    assert not failing.ok and failing.detail == "HTTP 503, expected 200"

    endpoint.state.status, endpoint.state.delay_ms = 200, 300
    slow = HttpProbe(name="api", url=endpoint.url + "/health", max_latency_ms=100).check(tmp_path)
    assert not slow.ok and "limit 100 ms" in slow.detail and (slow.latency_ms or 0) >= 300

    endpoint.state.delay_ms = 1500
    timed_out = HttpProbe(name="api", url=endpoint.url + "/health", timeout_seconds=0.3).check(tmp_path)
    assert not timed_out.ok and timed_out.detail == "no answer within 0.3 s"

    endpoint.stop()
    refused = probe.check(tmp_path)
    assert not refused.ok and refused.detail.startswith("request failed")
    assert [r for r in endpoint.state.requests if r[0] != "GET"] == [], "a probe only ever reads"


@pytest.mark.slow
def test_http_probe_ignores_proxy_settings(endpoint: StandInEndpoint, tmp_path: Path, monkeypatch) -> None:
    # A proxy from the environment would route the request to another address: the probe must not use it.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert HttpProbe(name="api", url=endpoint.url + "/health").check(tmp_path).ok
    assert endpoint.state.requests == [("GET", "/health")]


def test_sql_probe_against_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "orders.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table replication (lag_seconds integer)")
        conn.execute("insert into replication values (3)")
    url = f"sqlite:///{db}"
    assert SqlProbe(name="db", url=url, query="select count(*) from replication", expected=1).check(tmp_path).ok
    # Numbers compare as numbers: the driver's 3 equals the scenario's "3.0".
    assert SqlProbe(name="db", url=url, query="select lag_seconds from replication", expected="3.0").check(tmp_path).ok
    wrong = SqlProbe(name="db", url=url, query="select lag_seconds from replication", expected=0).check(tmp_path)
    assert not wrong.ok and wrong.detail == "first cell 3, expected 0"
    broken = SqlProbe(name="db", url=url, query="select * from missing_table").check(tmp_path)
    assert not broken.ok and broken.detail.startswith("query failed: OperationalError") and "\n" not in broken.detail
    monkeypatch.delenv("DRILL_DB_PASSWORD", raising=False)
    secret = SqlProbe(name="db", url="postgresql://ops:${DRILL_DB_PASSWORD}@127.0.0.1:1/x", query="select 1")
    missing_env = secret.check(tmp_path)
    assert not missing_env.ok and "DRILL_DB_PASSWORD is not set" in missing_env.detail
    assert missing_env.target == "postgresql 127.0.0.1:1/x", "the target never shows user or password"


def test_file_freshness_probe(tmp_path: Path) -> None:
    marker = tmp_path / "backups" / "last-backup.txt"
    marker.parent.mkdir()
    marker.write_text("ok")
    assert FileFreshnessProbe(name="backup", path="backups/last-backup.txt", max_age_hours=1).check(tmp_path).ok
    ten_hours_ago = time.time() - 10 * 3600
    os.utime(marker, (ten_hours_ago, ten_hours_ago))
    stale = FileFreshnessProbe(name="backup", path="backups/last-backup.txt", max_age_hours=5).check(tmp_path)
    assert not stale.ok and stale.detail.startswith("modified 10.0 h ago (limit 5 h)")
    missing = FileFreshnessProbe(name="backup", path="backups/none.txt", max_age_hours=5).check(tmp_path)
    assert not missing.ok and missing.detail == "file not found"
    outside = FileFreshnessProbe(name="x", path="../etc/passwd", max_age_hours=5).check(tmp_path)
    assert not outside.ok and "outside the workspace" in outside.detail


def test_prefect_deployment_probe(tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Completed

    missing = PrefectDeploymentProbe(name="audit", deployment="no-such-flow/nightly", max_age_hours=24)
    result = missing.check(tmp_path)
    assert not result.ok and result.detail == "deployment not found"

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("drill-probe-flow")
        deployment_id = client.create_deployment(flow_id=flow_id, name="nightly")
        probe = PrefectDeploymentProbe(name="audit", deployment="drill-probe-flow/nightly", max_age_hours=24)
        never = probe.check(tmp_path)
        assert not never.ok and never.detail == "no completed run"
        run = client.create_flow_run_from_deployment(deployment_id)
        client.set_flow_run_state(run.id, Completed(), force=True)
    done = probe.check(tmp_path)
    assert done.ok, done.detail
    assert done.detail.startswith("last completed run ended 0.0 h ago")


@pytest.mark.slow
def test_wait_until_healthy_measures_and_gives_up(endpoint: StandInEndpoint, tmp_path: Path) -> None:
    probe = HttpProbe(name="api", url=endpoint.url + "/health")
    seconds, results = wait_until_healthy([probe], tmp_path, timeout_seconds=5, poll_seconds=0.05)
    assert seconds is not None and seconds < 5 and results[0].ok
    endpoint.state.status = 500
    seconds, results = wait_until_healthy([probe], tmp_path, timeout_seconds=0.3, poll_seconds=0.1)
    assert seconds is None and not results[0].ok
