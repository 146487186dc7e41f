"""Steady-state probes of a continuity drill: an HTTP endpoint, a SQL query, a file's age, a deployment's last run.

A probe only ever talks to the address its scenario names: HTTP requests never follow redirects and ignore proxy
settings from the environment, and nothing a response says is ever used as an address.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field

from opsflow.config import ENV_VAR, sql_label


class ProbeResult(BaseModel):
    """What one probe saw, once."""

    probe: str = Field(description="The probe's name in the scenario.")
    kind: str = Field(description="http, sql, file or prefect_deployment.")
    target: str = Field(description="What was checked, safe to print (no password).")
    ok: bool = Field(description="The check held.")
    detail: str = Field(description="What was seen, in one line.")
    latency_ms: float | None = Field(None, description="Response time (http and sql).")
    checked_at: datetime = Field(description="When the check ran (UTC).")


class Probe(Protocol):
    """A steady-state check: `check` never raises, it returns a failed result saying why."""

    name: str
    kind: str

    def check(self, workspace: Path) -> ProbeResult: ...

    def target(self) -> str: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _expand_env(text: str) -> str:
    """`${VAR}` from the environment (for credentials kept out of scenario files); a missing one is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]

    return ENV_VAR.sub(value, text)


class _ProbeBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique within the scenario: recovery and rollback steps refer to it.")
    kind: str

    def _result(self, ok: bool, detail: str, latency_ms: float | None = None) -> ProbeResult:
        return ProbeResult(
            probe=self.name,
            kind=self.kind,
            target=self.target(),
            ok=ok,
            detail=detail,
            latency_ms=None if latency_ms is None else round(latency_ms, 1),
            checked_at=_now(),
        )

    def target(self) -> str:  # pragma: no cover - every probe overrides it
        raise NotImplementedError


class HttpProbe(_ProbeBase):
    """GET a health endpoint: healthy when the status is the expected one within the latency limit."""

    kind: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://", description="The endpoint, exactly as it will be called.")
    expected_status: int = Field(200, ge=100, le=599)
    max_latency_ms: float | None = Field(None, gt=0, description="Slower than this counts as a failure.")
    timeout_seconds: float = Field(5.0, gt=0, le=120)

    def target(self) -> str:
        return self.url

    def check(self, workspace: Path) -> ProbeResult:
        start = time.perf_counter()
        try:
            # trust_env=False: no proxy from the environment; redirects are never followed (httpx default).
            with httpx.Client(timeout=self.timeout_seconds, trust_env=False, follow_redirects=False) as client:
                response = client.get(self.url)
        except httpx.TimeoutException:
            return self._result(False, f"no answer within {self.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return self._result(False, f"request failed: {type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - start) * 1000
        if response.status_code != self.expected_status:
            return self._result(
                False, f"HTTP {response.status_code}, expected {self.expected_status}", latency_ms=latency
            )
        if self.max_latency_ms is not None and latency > self.max_latency_ms:
            return self._result(
                False, f"HTTP {response.status_code} in {latency:.0f} ms, limit {self.max_latency_ms:g} ms", latency
            )
        return self._result(True, f"HTTP {response.status_code} in {latency:.0f} ms", latency)


class SqlProbe(_ProbeBase):
    """Run a query through SQLAlchemy: healthy when the first cell equals `expected` (or, without one, it runs)."""

    kind: Literal["sql"] = "sql"
    url: str = Field(description="SQLAlchemy URL; `${ENV_VAR}` is expanded, so passwords stay out of the file.")
    query: str
    expected: str | int | float | bool | None = Field(None, description="Expected value of the first cell.")
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    def target(self) -> str:
        return sql_label(self.url)

    def check(self, workspace: Path) -> ProbeResult:
        from sqlalchemy import create_engine, text

        start = time.perf_counter()
        try:
            url = _expand_env(self.url)
            engine = create_engine(url, pool_pre_ping=False)
            try:
                with engine.connect() as conn:
                    row = conn.execute(text(self.query)).first()
            finally:
                engine.dispose()
        except Exception as exc:  # any driver error is the probe failing, said in one line without the URL
            line = str(exc).splitlines()[0] if str(exc) else ""
            return self._result(False, f"query failed: {type(exc).__name__}: {line}"[:300])
        latency = (time.perf_counter() - start) * 1000
        value = None if row is None else row[0]
        if self.expected is None:
            return self._result(True, f"query ran, first cell {value!r}", latency)
        if _same(value, self.expected):
            return self._result(True, f"first cell {value!r} as expected", latency)
        return self._result(False, f"first cell {value!r}, expected {self.expected!r}", latency)


def _same(value: Any, expected: Any) -> bool:
    """Equal as numbers when both read as numbers, else as text (drivers return 1, 1.0, Decimal or '1')."""
    try:
        return float(value) == float(expected)
    except (TypeError, ValueError):
        return str(value) == str(expected)


class FileFreshnessProbe(_ProbeBase):
    """A file inside the workspace (a replicated export, a backup marker) modified within `max_age_hours`."""

    kind: Literal["file"] = "file"
    path: str = Field(description="Relative to the workspace; it may not point outside it.")
    max_age_hours: float = Field(gt=0)

    def target(self) -> str:
        return self.path

    def check(self, workspace: Path) -> ProbeResult:
        root = workspace.resolve()
        path = (root / self.path).resolve()
        if not path.is_relative_to(root):
            return self._result(False, "path points outside the workspace: not checked")
        if not path.is_file():
            return self._result(False, "file not found")
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        age = (_now() - modified).total_seconds() / 3600
        detail = f"modified {age:.1f} h ago (limit {self.max_age_hours:g} h)"
        return self._result(age <= self.max_age_hours, detail)


class PrefectDeploymentProbe(_ProbeBase):
    """A Prefect deployment whose last Completed flow run ended within `max_age_hours` (asks the configured API)."""

    kind: Literal["prefect_deployment"] = "prefect_deployment"
    deployment: str = Field(pattern=r"^[^/]+/[^/]+$", description="<flow name>/<deployment name>.")
    max_age_hours: float = Field(gt=0)

    def target(self) -> str:
        return f"deployment {self.deployment}"

    def check(self, workspace: Path) -> ProbeResult:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterDeploymentId,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort
        from prefect.exceptions import ObjectNotFound

        start = time.perf_counter()
        try:
            with get_client(sync_client=True) as client:
                deployment = client.read_deployment_by_name(self.deployment)
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
                        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED])),
                    ),
                    sort=FlowRunSort.END_TIME_DESC,
                    limit=1,
                )
        except ObjectNotFound:
            return self._result(False, "deployment not found")
        except Exception as exc:
            return self._result(False, f"Prefect API error: {type(exc).__name__}")
        latency = (time.perf_counter() - start) * 1000
        ended = runs[0].end_time if runs else None
        if ended is None:
            return self._result(False, "no completed run", latency)
        age = (_now() - ended).total_seconds() / 3600
        detail = f"last completed run ended {age:.1f} h ago (limit {self.max_age_hours:g} h)"
        return self._result(age <= self.max_age_hours, detail, latency)


ProbeSpec = Annotated[HttpProbe | SqlProbe | FileFreshnessProbe | PrefectDeploymentProbe, Field(discriminator="kind")]
"""Any probe a scenario can declare, told apart by `kind`."""


def check_all(probes: list[ProbeSpec], workspace: Path) -> list[ProbeResult]:
    """Every probe once, in order."""
    return [p.check(workspace) for p in probes]


def wait_until_healthy(
    probes: list[ProbeSpec], workspace: Path, timeout_seconds: float, poll_seconds: float
) -> tuple[float | None, list[ProbeResult]]:
    """Poll every probe until all hold: seconds it took (None when they did not within the timeout) and the last
    results."""
    start = time.perf_counter()
    deadline = start + timedelta(seconds=timeout_seconds).total_seconds()
    while True:
        results = check_all(probes, workspace)
        if all(r.ok for r in results):
            return time.perf_counter() - start, results
        if time.perf_counter() + poll_seconds > deadline:
            return None, results
        time.sleep(poll_seconds)
