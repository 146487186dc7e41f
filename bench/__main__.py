"""`python -m bench`: weekly-audit on the sample at scale 1 and 10; prints rows, stage times, total and peak memory.

Each scale runs in a fresh process (so its peak memory is its own) exactly as `opsflow run weekly-audit` runs it:
Prefect's temporary server, the flow, the report, and Slack delivery (to the payload file when no Slack is set);
with `--server running` (or `both`, the default) also against a Prefect server that is already up, as a team's
`make server` or Prefect Cloud is. Targets on the project's 2-core machines: scale 1 under 20 s end to end; scale 10
under 3 minutes and 3 GB; at scale 1 the fixed cost (all but load, validate, compute) at most 25% of the run and the
run at most 3x the DuckDB baseline; load within 2x of pyarrow's plain read of the same files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

END = date(2026, 3, 29)  # a Sunday: the audited week is complete
STAGES = ("load", "validate", "compute", "render", "deliver")


def _bench_env(server_url: str = "") -> dict[str, str]:
    """The runs' environment: no Slack, Claude or Prefect API of the caller's; `server_url`: the running Prefect
    server the run finds (as `make server`'s), or none, so it starts a temporary one."""
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "OPSFLOW_LOCAL_SERVER": server_url}
    for name in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "ANTHROPIC_API_KEY", "PREFECT_API_URL"):
        env.pop(name, None)
    return env


def _prepare_prefect() -> float:
    """Start and stop Prefect's temporary server once: on a new machine that creates and migrates its database.

    That happens once per machine (4.5 s to 10 s on these machines), not once per audit, so it is timed and shown on
    its own line rather than charged to whichever scale happens to run first.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_audit", "--prepare"], capture_output=True, text=True, env=_bench_env()
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit("could not start Prefect's temporary server:\n" + (proc.stderr or proc.stdout)[-2000:])
    return float(json.loads(lines[-1])["prepare_seconds"])


def _run_scale(scale: float, fmt: str, root: Path, servers: dict[str, str]) -> list[dict[str, Any]]:
    """The audit of one generated sample, once per server mode (temporary, running), each beside DuckDB's run."""
    from opsflow.sample import write_sample

    workspace = root / f"scale-{scale:g}-{fmt}"
    started = time.perf_counter()
    rows = write_sample(workspace, scale=scale, end=END, fmt=fmt)  # type: ignore[arg-type]
    generate = time.perf_counter() - started
    os.sync()  # the sample written to disk before the run: its write-back is not the audit's to pay for
    results = []
    for mode, url in servers.items():
        result = _run_audit(workspace, url)
        duckdb = _run_duckdb(workspace, fmt) if fmt == "csv" else None
        results.append(
            {"scale": scale, "format": fmt, "server": mode, "rows": rows, "generate_seconds": round(generate, 1),
             **result, "duckdb": duckdb, "pyarrow_read": _run_pyarrow_read(workspace)}
        )  # fmt: skip
    return results


def _run_audit(workspace: Path, server_url: str) -> dict[str, Any]:
    env = _bench_env(server_url)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run_audit", "--workspace", str(workspace), "--as-of", END.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
        raise SystemExit(f"weekly-audit failed on {workspace.name}:\n{tail}")
    measured: dict[str, Any] = json.loads(lines[-1])
    return measured


def _run_duckdb(workspace: Path, fmt: str) -> dict[str, Any]:
    """The DuckDB baseline on the same files in a fresh process, timed end to end like the audit (imports included),
    and its figures compared with the audit's report.json."""
    report = workspace / "reports" / "weekly-audit" / END.isoformat() / "report.json"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.duckdb_baseline", "--workspace", str(workspace), "--as-of", END.isoformat(),
         "--report", str(report)],
        capture_output=True, text=True, env=_bench_env(), check=False,
    )  # fmt: skip
    total = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit("the DuckDB baseline failed:\n" + "\n".join(proc.stderr.splitlines()[-10:]))
    measured = json.loads(proc.stdout.splitlines()[-1])
    return {"total_seconds": round(total, 2), **measured}


def _run_pyarrow_read(workspace: Path) -> dict[str, Any]:
    """pyarrow's plain read of the same files in a fresh process (the read only, not its imports)."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.pyarrow_read", "--workspace", str(workspace)],
        capture_output=True, text=True, env=_bench_env(), check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit("the pyarrow read failed:\n" + "\n".join(proc.stderr.splitlines()[-10:]))
    measured: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return measured


def _fixed_share(result: dict[str, Any]) -> str:
    timings: dict[str, float] = result["timings"]
    data_work = sum(timings.get(stage, 0.0) for stage in ("load", "validate", "compute"))
    total = float(result["total_seconds"])
    return f"{(total - data_work) / total:.0%}"


def _table(results: list[dict[str, Any]], prepare_seconds: float) -> str:
    datasets = list(results[0]["rows"])
    header = ["", *[f"scale {r['scale']:g} ({r['format']}, {r['server']} server)" for r in results]]
    lines = [header]
    lines += [[f"rows: {d}", *[f"{r['rows'][d]:,}" for r in results]] for d in datasets]
    lines.append(["rows: total", *[f"{sum(r['rows'].values()):,}" for r in results]])
    lines.append(["sample generation (s, not in total)", *[f"{r['generate_seconds']:.1f}" for r in results]])
    lines.append(
        ["Prefect database set-up, once (s, not in total)", f"{prepare_seconds:.1f}", *[""] * (len(results) - 1)]
    )
    lines.append(["Prefect temporary server start (s)", *[f"{r['server_start_seconds']:.1f}" for r in results]])
    for stage in STAGES:
        lines.append([f"stage: {stage} (s)", *[f"{r['timings'].get(stage, 0.0):.1f}" for r in results]])
    lines.append(
        ["pyarrow's plain read of the same files (s)", *[f"{r['pyarrow_read']['seconds']:.2f}" for r in results]]
    )
    lines.append(
        [
            "load / pyarrow's read",
            *[f"{r['timings'].get('load', 0.0) / r['pyarrow_read']['seconds']:.1f}x" for r in results],
        ]
    )
    lines.append(["flow run (s)", *[f"{r['flow_seconds']:.1f}" for r in results]])
    lines.append(["total, end to end (s)", *[f"{r['total_seconds']:.1f}" for r in results]])
    lines.append(["peak memory (MiB)", *[f"{r['peak_mib']:,}" for r in results]])
    lines.append(["fixed-cost share (all but load, validate, compute)", *[_fixed_share(r) for r in results]])
    duck = [r.get("duckdb") or {} for r in results]
    lines.append(["DuckDB baseline, end to end (s)", *[f"{d['total_seconds']:.1f}" if d else "" for d in duck]])
    lines.append(["DuckDB baseline, queries (s)", *[f"{d['seconds']:.2f}" if d else "" for d in duck]])
    lines.append(
        [
            "opsflow / DuckDB, end to end",
            *[
                f"{r['total_seconds'] / d['total_seconds']:.1f}x" if d else ""
                for r, d in zip(results, duck, strict=True)
            ],
        ]
    )
    lines.append(
        [
            "figures DuckDB and opsflow agree on",
            *[f"{d['agree']} of {d['agree'] + len(d['differ'])}" if d else "" for d in duck],
        ]
    )
    for stage in STAGES:
        cells = [r.get("stage_peak_mib", {}).get(stage) for r in results]
        lines.append([f"peak memory by end of {stage} (MiB)", *[f"{c:,}" if c else "" for c in cells]])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = []
    for i, row in enumerate(lines):
        out.append("| " + " | ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)) + " |")
        if i == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scales", default="1,10", help="Comma-separated sample scales (default: 1,10).")
    parser.add_argument("--format", default="csv", choices=["csv", "parquet"], help="Sample file format.")
    parser.add_argument(
        "--server",
        default="both",
        choices=["temporary", "running", "both"],
        help="Each run starts a temporary Prefect server, uses one already running, or both (default).",
    )
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    print("starting Prefect's server once (creates its database on a new machine)...", file=sys.stderr, flush=True)
    prepare_seconds = _prepare_prefect()
    from opsflow.runtime import TemporaryServer

    running = TemporaryServer() if args.server != "temporary" else None
    servers = {"temporary": ""} if args.server != "running" else {}
    try:
        if running is not None:
            # A Prefect server started once and left up, as a team's `make server` is: its start is not any run's.
            os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
            running.start(timeout=120)
            servers["running"] = running.api_url
        with tempfile.TemporaryDirectory(prefix="opsflow-bench-") as tmp:
            results = []
            for scale in scales:
                print(f"scale {scale:g}: generating the sample, running weekly-audit...", file=sys.stderr, flush=True)
                results += _run_scale(scale, args.format, Path(tmp), servers)
    finally:
        if running is not None:
            running.stop()
    print(_table(results, prepare_seconds))
    out = Path("bench") / "results"
    out.mkdir(parents=True, exist_ok=True)
    summary = {"prefect_database_setup_seconds": prepare_seconds, "runs": results}
    (out / "weekly-audit.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
