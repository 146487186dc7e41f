"""The reader's speed for the benchmark: pyarrow reading a workspace's files as they are, typed by pyarrow's own
inference, with nothing checked or mapped; prints one JSON line. The load stage's target is within 2x of this.

Run alone: `python -m bench.pyarrow_read --workspace DIR` (reads every source file opsflow.yaml names).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workspace", type=Path, required=True)
    args = parser.parse_args()
    config = yaml.safe_load((args.workspace / "opsflow.yaml").read_text(encoding="utf-8"))
    paths = [args.workspace / s["path"] for s in config["sources"].values() if s.get("path")]
    rows = 0
    started = time.perf_counter()
    for path in paths:
        table = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
        rows += table.num_rows
        del table
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": round(seconds, 2), "rows": rows, "files": len(paths)}))


if __name__ == "__main__":
    main()
