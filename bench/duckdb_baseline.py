"""An independent baseline for the benchmark: the weekly audit's incident figures and SLA error budgets computed by
DuckDB in SQL straight from a workspace's CSV exports, timed, so `make bench` can print opsflow beside it.

It shares no code with opsflow: it reads the user's mapping (opsflow.yaml) for column names and value labels only,
and the figures it prints can be compared with the audit's report.json (`compare`) to show both compute the same
thing. Run alone: `python -m bench.duckdb_baseline --workspace DIR --as-of YYYY-MM-DD [--report report.json]`.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

BUDGET_DAYS = 30
REPEAT_DAYS = 30
POSTMORTEM_HOURS = 48


def _instant(day: date, tz: str) -> datetime:
    """Local midnight starting `day` in `tz`, as an aware datetime (DuckDB compares it with TIMESTAMPTZ)."""
    return datetime.combine(day, dtime(0), tzinfo=ZoneInfo(tz))


def _case(column: str, labels: dict[str, str]) -> str:
    """A SQL CASE mapping the export's labels to the contract's values (unmapped values pass through)."""
    if not labels:
        return column
    whens = " ".join(f"WHEN {column} = '{k.replace(chr(39), chr(39) * 2)}' THEN '{v}'" for k, v in labels.items())
    return f"(CASE {whens} ELSE {column} END)"


def _incidents_view(con: Any, ws: Path, source: dict[str, Any], tz: str) -> None:
    back = {v: k for k, v in source.get("rename", {}).items()}  # contract column -> export column
    values = source.get("values", {})
    fmt = source.get("date_format", "%Y-%m-%d %H:%M:%S")
    src_tz = source.get("timezone", tz)

    def col(name: str) -> str:
        return f'"{back.get(name, name)}"'

    def ts(name: str) -> str:
        return f"timezone('{src_tz}', try_strptime({col(name)}, '{fmt}'))"

    con.execute(
        f"""
        CREATE OR REPLACE VIEW incidents AS
        SELECT {col("incident_id")} AS incident_id,
               {_case(col("severity"), values.get("severity", {}))} AS severity,
               {_case(col("service"), values.get("service", {}))} AS service,
               {_case(col("kind"), values.get("kind", {}))} AS kind,
               {_case(col("postmortem_status"), values.get("postmortem_status", {}))} AS postmortem_status,
               NULLIF(TRIM({col("vendor_id")}), '') AS vendor_id,
               NULLIF(TRIM({col("root_cause")}), '') AS root_cause,
               {ts("opened_at")} AS opened_at, {ts("resolved_at")} AS resolved_at,
               {ts("postmortem_due_at")} AS postmortem_due_at,
               {ts("postmortem_completed_at")} AS postmortem_completed_at
        FROM read_csv('{ws / source["path"]}', all_varchar = true, header = true)
        """
    )


def incident_figures(con: Any, start: datetime, end: datetime, month_start: datetime) -> dict[str, float | None]:
    """The weekly audit's incident headlines for the week [start, end), real incidents only."""
    params = {"s": start, "e": end, "m": month_start}
    real = "kind = 'real' AND opened_at IS NOT NULL"
    row = con.execute(
        f"""
        SELECT
          count(*) FILTER (WHERE opened_at >= $s AND opened_at < $e),
          count(*) FILTER (WHERE opened_at >= $m AND opened_at < $e),
          count(*) FILTER (WHERE opened_at >= $s AND opened_at < $e AND severity IN ('SEV1', 'SEV2')),
          quantile_cont(epoch(resolved_at - opened_at) / 3600.0, 0.5)
            FILTER (WHERE opened_at >= $s AND opened_at < $e AND resolved_at < $e),
          count(*) FILTER (WHERE severity IN ('SEV1', 'SEV2') AND opened_at < $e
                           AND (resolved_at IS NULL OR resolved_at >= $e)),
          count(*) FILTER (WHERE severity IN ('SEV1', 'SEV2') AND resolved_at < $e
                           AND coalesce(postmortem_status, '') <> 'not_required'
                           AND NOT (postmortem_status = 'complete'
                                    AND (postmortem_completed_at IS NULL OR postmortem_completed_at < $e))
                           AND coalesce(postmortem_due_at, resolved_at + INTERVAL {POSTMORTEM_HOURS} HOUR) < $e),
          count(*) FILTER (WHERE opened_at >= $s AND opened_at < $e AND vendor_id IS NOT NULL)
            / nullif(count(*) FILTER (WHERE opened_at >= $s AND opened_at < $e), 0),
          count(*) FILTER (WHERE opened_at >= $m AND opened_at < $e AND vendor_id IS NOT NULL)
            / nullif(count(*) FILTER (WHERE opened_at >= $m AND opened_at < $e), 0)
        FROM incidents WHERE {real}
        """,
        params,
    ).fetchone()
    repeats = con.execute(
        f"""
        SELECT count(DISTINCT a.incident_id) FROM incidents a JOIN incidents b
          ON a.service = b.service AND a.root_cause = b.root_cause AND b.opened_at < a.opened_at
             AND b.opened_at >= a.opened_at - INTERVAL {REPEAT_DAYS} DAY
        WHERE a.kind = 'real' AND b.kind = 'real' AND a.opened_at >= $s AND a.opened_at < $e
        """,
        {"s": start, "e": end},
    ).fetchone()
    keys = [
        "incidents.week.total",
        "incidents.month_to_date.total",
        "incidents.week.sev1_sev2",
        "incidents.week.mttr_median_hours",
        "incidents.open_sev1_sev2",
        "incidents.postmortems_overdue",
        "incidents.week.third_party_share",
        "incidents.month_to_date.third_party_share",
    ]
    out = {k: (None if v is None else float(v)) for k, v in zip(keys, row, strict=True)}
    out["incidents.week.repeats"] = float(repeats[0])
    return out


def error_budgets(
    con: Any, ws: Path, source: dict[str, Any], start: datetime, end: datetime, budget_start: datetime
) -> tuple[dict[str, float | None], list[tuple[Any, ...]]]:
    """Per (category, service): the objective in force, events, failures and budget remaining over 30 days."""
    con.execute(
        f"""
        CREATE OR REPLACE VIEW sla AS
        SELECT category, service, measured_at::TIMESTAMPTZ AS measured_at, objective::DOUBLE AS objective,
               CASE WHEN met IS NOT NULL THEN met::BOOLEAN
                    WHEN measured_value IS NOT NULL AND target_value IS NOT NULL
                      THEN measured_value::DOUBLE <= target_value::DOUBLE END AS ok
        FROM read_csv('{ws / source["path"]}', all_varchar = true, header = true)
        """
    )
    week = con.execute(
        "SELECT count(*) FILTER (WHERE ok), count(*) FROM sla WHERE ok IS NOT NULL AND measured_at >= $s AND "
        "measured_at < $e",
        {"s": start, "e": end},
    ).fetchone()
    rows = con.execute(
        """
        WITH win AS (SELECT * FROM sla WHERE ok IS NOT NULL AND measured_at >= $b AND measured_at < $e),
        objective AS (  -- the most frequent objective in the week, ties: the strictest
          SELECT category, service, arg_max(objective, n * 1e6 + objective) AS objective FROM (
            SELECT category, service, objective, count(*) AS n FROM sla
            WHERE measured_at >= $s AND measured_at < $e GROUP BY ALL) GROUP BY ALL)
        SELECT w.category, w.service, o.objective, count(*) AS events,
               count(*) FILTER (WHERE NOT ok) AS failed,
               1 - (count(*) FILTER (WHERE NOT ok) / count(*)) / (1 - o.objective) AS remaining
        FROM win w JOIN objective o USING (category, service) GROUP BY 1, 2, 3 ORDER BY 1, 2
        """,
        {"s": start, "e": end, "b": budget_start},
    ).fetchall()
    return {"sla.week.compliance": week[0] / week[1] if week[1] else None}, rows


def run(workspace: Path, as_of: date) -> dict[str, Any]:
    """Compute the figures, timed from opening DuckDB to the last result."""
    import duckdb

    started = time.perf_counter()
    config = yaml.safe_load((workspace / "opsflow.yaml").read_text(encoding="utf-8"))
    tz = config.get("timezone", "UTC")
    end_day = as_of + timedelta(days=1)
    start, end = _instant(end_day - timedelta(days=7), tz), _instant(end_day, tz)
    month_start = _instant(as_of.replace(day=1), tz)
    con = duckdb.connect()
    _incidents_view(con, workspace, config["sources"]["incidents"], tz)
    figures = incident_figures(con, start, end, month_start)
    sla_figures, budgets = error_budgets(
        con, workspace, config["sources"]["sla_events"], start, end, _instant(end_day - timedelta(days=BUDGET_DAYS), tz)
    )
    figures.update(sla_figures)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "figures": figures,
        "budgets": [
            {"category": c, "service": s, "objective": o, "events_30d": n, "failed_30d": f, "budget_remaining": r}
            for c, s, o, n, f, r in budgets
        ],
    }


def compare(baseline: dict[str, Any], report: dict[str, Any], tolerance: float = 1e-6) -> tuple[int, list[str]]:
    """How many of the baseline's figures the audit's report.json gives too (within `tolerance`), and which differ."""
    audit = {h["key"]: h["value"] for s in report["sections"] for h in s["headlines"]}
    sla: dict[str, Any] = next((s for s in report["sections"] if s["name"] == "sla"), {"error_budgets": []})
    audit_budgets = {(b["category"], b["service"]): b for b in sla.get("error_budgets", [])}
    agree, differ = 0, []
    for key, value in baseline["figures"].items():
        theirs = audit.get(key)
        if (value is None and theirs is None) or (
            value is not None and theirs is not None and abs(value - theirs) <= tolerance
        ):
            agree += 1
        else:
            differ.append(f"{key}: duckdb {value} vs opsflow {theirs}")
    for b in baseline["budgets"]:
        theirs = audit_budgets.get((b["category"], b["service"]))
        if theirs is not None and abs(theirs["budget_remaining"] - b["budget_remaining"]) <= 1e-6:
            agree += 1
        else:
            differ.append(f"budget {b['category']}/{b['service']}: duckdb {b['budget_remaining']} vs opsflow "
                          f"{theirs and theirs['budget_remaining']}")  # fmt: skip
    return agree, differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--report", type=Path, help="The audit's report.json to compare the figures with.")
    args = parser.parse_args()
    result = run(args.workspace, args.as_of)
    if args.report:
        agree, differ = compare(result, json.loads(args.report.read_text(encoding="utf-8")))
        result.update(agree=agree, differ=differ)
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
