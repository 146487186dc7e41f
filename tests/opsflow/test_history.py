"""The history store keeps one run per flow and period, finds the previous run, and records deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsflow.history import HistoryStore, open_history

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_up() -> bool:
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    if request.param == "sqlite":
        s = open_history(tmp_path)
        yield s
        s.close()
        return
    if not _postgres_up():
        pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (it is part of this machine kind)")
    name = f"opsflow_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    s = HistoryStore(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    yield s
    s.close()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def test_rerun_replaces_instead_of_duplicating(store: HistoryStore) -> None:
    store.save_run("weekly-audit", "2026-11-15", date(2026, 11, 15), {"a": 1.0}, {"x": 1})
    store.save_run("weekly-audit", "2026-11-15", date(2026, 11, 15), {"a": 2.0}, {"x": 2})
    assert store.count_runs("weekly-audit", "2026-11-15") == 1
    [run] = store.list_runs("weekly-audit")
    assert run.headlines == {"a": 2.0}
    assert run.payload == {"x": 2}


def test_previous_run_is_the_latest_before(store: HistoryStore) -> None:
    for day, value in [(1, 10.0), (8, 20.0), (15, 30.0)]:
        store.save_run("weekly-audit", f"2026-11-{day:02d}", date(2026, 11, day), {"a": value}, {})
    store.save_run("other-flow", "2026-11-14", date(2026, 11, 14), {"a": 99.0}, {})
    prev = store.previous_run("weekly-audit", date(2026, 11, 15))
    assert prev is not None and prev.as_of == date(2026, 11, 8) and prev.headlines["a"] == 20.0
    assert store.previous_run("weekly-audit", date(2026, 11, 1)) is None
    assert [r.as_of.day for r in store.list_runs("weekly-audit", until=date(2026, 11, 8))] == [1, 8]


def test_delivery_record_is_upserted(store: HistoryStore) -> None:
    assert store.get_delivery("weekly-audit", "2026-11-15", "#ops") is None
    store.record_delivery("weekly-audit", "2026-11-15", "#ops", "pending")
    store.record_delivery("weekly-audit", "2026-11-15", "#ops", "sent", message_ts="1700000000.000100")
    record = store.get_delivery("weekly-audit", "2026-11-15", "#ops")
    assert record is not None and record.status == "sent" and record.message_ts == "1700000000.000100"
    assert store.get_delivery("weekly-audit", "2026-11-15", "#other") is None
