"""One benchmark run of weekly-audit in this process, the way `opsflow run` runs it; prints one JSON line."""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from datetime import date
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument(
        "--prepare", action="store_true", help="Only start and stop Prefect's server once (creates its database)."
    )
    args = parser.parse_args()
    started = time.perf_counter()
    from opsflow.runtime import prefect_runtime

    if args.prepare:
        with prefect_runtime():
            pass
        print(json.dumps({"prepare_seconds": round(time.perf_counter() - started, 2)}))
        return
    if args.workspace is None or args.as_of is None:
        parser.error("--workspace and --as-of are required")
    from opsflow.timing import peak_memory_mib

    loaded: list[object] = []

    def warmup() -> None:
        from flows.weekly_audit import weekly_audit

        loaded.append(weekly_audit)

    with prefect_runtime(warmup=warmup) as runtime:
        flow_started = time.perf_counter()
        result = loaded[0](params={"workspace": args.workspace, "as_of": args.as_of, "post_to_slack": True})  # type: ignore[operator]
        flow_seconds = time.perf_counter() - flow_started
    total = time.perf_counter() - started
    # The peak resident memory of this process (the flow and its data), not the parent's: see peak_memory_mib.
    peak_mib = peak_memory_mib()
    inherited_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "timings": getattr(result, "timings", {}),
                "stage_peak_mib": getattr(result, "peak_memory_mib", {}),
                "flow_seconds": round(flow_seconds, 2),
                "server_start_seconds": round(runtime.server_start_seconds, 2),
                "total_seconds": round(total, 2),
                "peak_mib": peak_mib,
                "ru_maxrss_mib": round(inherited_mib),
            }
        ),
        file=sys.stdout,
    )


if __name__ == "__main__":
    main()
