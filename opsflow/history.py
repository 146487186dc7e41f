"""The history store: past audit results (for trends) and Slack delivery records (for exactly-once posting)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    select,
    update,
)

metadata = MetaData()

runs = Table(
    "opsflow_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(100), nullable=False),
    Column("period_key", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("headlines", JSON, nullable=False),
    Column("payload", JSON, nullable=False),
    UniqueConstraint("flow", "period_key", name="uq_opsflow_runs_flow_period"),
)

deliveries = Table(
    "opsflow_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("flow", String(100), nullable=False),
    Column("period_key", String(64), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("message_ts", String(64)),
    Column("detail", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("flow", "period_key", "channel", name="uq_opsflow_deliveries_key"),
)


registered_kpis = Table(
    "opsflow_registered_kpis",
    metadata,
    Column("kpi_id", String(100), primary_key=True),
    Column("source_flow", String(100), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("definition", JSON, nullable=False),
)


@dataclass(frozen=True)
class StoredRun:
    """One past run of a flow for a period."""

    flow: str
    period_key: str
    as_of: date
    created_at: datetime
    headlines: dict[str, float | None]
    payload: dict[str, Any]


@dataclass(frozen=True)
class DeliveryRecord:
    """What happened to one post of one flow, period and channel."""

    flow: str
    period_key: str
    channel: str
    status: str
    message_ts: str | None
    detail: str | None


def default_url(workspace: Path) -> str:
    """SQLite file inside the workspace."""
    return f"sqlite:///{(workspace / 'history.db').resolve()}"


class HistoryStore:
    """Past runs and delivery records in any SQLAlchemy database (SQLite by default, PostgreSQL by URL)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, future=True, pool_pre_ping=True)
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- runs -------------------------------------------------------------------------------------------------

    def save_run(
        self, flow: str, period_key: str, as_of: date, headlines: dict[str, float | None], payload: dict[str, Any]
    ) -> None:
        """Store a run; a run for the same flow and period replaces the earlier one (never a duplicate)."""
        # JSON round trip so dates and enums in the payload are plain values on every backend.
        payload = json.loads(json.dumps(payload, default=str))
        with self.engine.begin() as conn:
            conn.execute(delete(runs).where(runs.c.flow == flow, runs.c.period_key == period_key))
            conn.execute(
                insert(runs).values(
                    flow=flow,
                    period_key=period_key,
                    as_of=as_of,
                    created_at=datetime.now(UTC),
                    headlines=headlines,
                    payload=payload,
                )
            )

    def previous_run(self, flow: str, as_of: date) -> StoredRun | None:
        """The latest run of `flow` for a period that ended before `as_of`."""
        query = select(runs).where(runs.c.flow == flow, runs.c.as_of < as_of).order_by(runs.c.as_of.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _run(row) if row else None

    def list_runs(self, flow: str, until: date | None = None, limit: int = 52) -> list[StoredRun]:
        """The latest `limit` runs of `flow` up to `until` (inclusive), oldest first."""
        query = select(runs).where(runs.c.flow == flow)
        if until is not None:
            query = query.where(runs.c.as_of <= until)
        query = query.order_by(runs.c.as_of.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_run(r) for r in reversed(rows)]

    def count_runs(self, flow: str, period_key: str) -> int:
        with self.engine.connect() as conn:
            rows = conn.execute(select(runs.c.id).where(runs.c.flow == flow, runs.c.period_key == period_key)).all()
        return len(rows)

    # -- deliveries -------------------------------------------------------------------------------------------

    def get_delivery(self, flow: str, period_key: str, channel: str) -> DeliveryRecord | None:
        query = select(deliveries).where(
            deliveries.c.flow == flow, deliveries.c.period_key == period_key, deliveries.c.channel == channel
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return DeliveryRecord(
            row["flow"], row["period_key"], row["channel"], row["status"], row["message_ts"], row["detail"]
        )

    def record_delivery(
        self,
        flow: str,
        period_key: str,
        channel: str,
        status: str,
        message_ts: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Insert or update the delivery record of (flow, period, channel)."""
        now = datetime.now(UTC)
        key = (deliveries.c.flow == flow, deliveries.c.period_key == period_key, deliveries.c.channel == channel)
        with self.engine.begin() as conn:
            updated = conn.execute(
                update(deliveries)
                .where(*key)
                .values(status=status, message_ts=message_ts, detail=detail, updated_at=now)
            )
            if updated.rowcount == 0:
                conn.execute(
                    insert(deliveries).values(
                        flow=flow,
                        period_key=period_key,
                        channel=channel,
                        status=status,
                        message_ts=message_ts,
                        detail=detail,
                        updated_at=now,
                    )
                )

    # -- KPIs registered by flows -------------------------------------------------------------------------------

    def register_kpi(self, kpi_id: str, source_flow: str, definition: dict[str, Any]) -> None:
        """Store (or replace) a KPI a flow proposed, so later weekly audits track it."""
        definition = json.loads(json.dumps(definition, default=str))
        with self.engine.begin() as conn:
            conn.execute(delete(registered_kpis).where(registered_kpis.c.kpi_id == kpi_id))
            conn.execute(
                insert(registered_kpis).values(
                    kpi_id=kpi_id, source_flow=source_flow, registered_at=datetime.now(UTC), definition=definition
                )
            )

    def registered_kpis(self) -> list[dict[str, Any]]:
        """Every registered KPI definition, oldest registration first."""
        query = select(registered_kpis).order_by(registered_kpis.c.registered_at, registered_kpis.c.kpi_id)
        with self.engine.connect() as conn:
            return [dict(row["definition"]) for row in conn.execute(query).mappings()]


def _run(row: Any) -> StoredRun:
    as_of = row["as_of"]
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    return StoredRun(row["flow"], row["period_key"], as_of, row["created_at"], row["headlines"], row["payload"])


def open_history(workspace: Path, url: str | None = None) -> HistoryStore:
    """The workspace's history store: `url` (opsflow.yaml or OPSFLOW_HISTORY_URL) or SQLite in the workspace."""
    return HistoryStore(url or default_url(workspace))
