"""The sample workspace's opsflow.yaml: a source per dataset, Slack channels per flow, and the scoring weights."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import yaml

from opsflow.config import CONFIG_FILE
from opsflow.contract import DATASETS
from opsflow.sample.common import COMPANY, TIMEZONE
from opsflow.sample.incidents import incident_source


def _config(fmt: str) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for name in DATASETS:
        sources[name] = incident_source(fmt) if name == "incidents" else {"type": fmt, "path": f"data/{name}.{fmt}"}
    return {
        "company": COMPANY,
        "timezone": TIMEZONE,
        "currency": "EUR",
        "sources": sources,
        "quality": {"max_quarantine_share": 0.05},
        "slack": {
            "default_channel": "#ops",
            "channels": {
                "weekly-audit": "#ops-weekly",
                "data-check": "#ops-data-quality",
                "vendor-sla-review": "#vendor-management",
                "contingency-drill": "#bcp-drills",
                "daily-brief": "#ops-daily",
                "problem-solution-metrics": "#sre-problems",
                "risk-aware-planning": "#pmo",
                "operational-transformation": "#ops-transformation",
                "improvement-initiative": "#ops-transformation",
                "risk-assessment": "#risk-committee",
                "performance-review": "#ops-leadership",
            },
            "severity_channels": {
                "SEV1": "#inc-critical",
                "SEV2": "#inc-major",
                "SEV3": "#ops-incidents",
                "SEV4": "#ops-incidents",
            },  # fmt: skip
            "alerts_channel": "#opsflow-alerts",
        },
        "vendor_scoring": {"delivery": 0.5, "quality": 0.3, "responsiveness": 0.2},
    }


def write_config(out: Path, fmt: str, seed: int, end: date, scale: float, marked: bool = True) -> None:
    """Write `out/opsflow.yaml`, its header naming how the sample was made; `marked` writes `sample: true`."""
    header = (
        f"# {COMPANY}: a sample workspace written by `opsflow sample` (seed {seed}, scale {scale:g}, "
        f"data up to {end.isoformat()}).\n"
    )
    config = _config(fmt)
    if marked:
        header += (
            "# `sample: true`: made-up data, so nothing is posted to Slack from here unless a run opts in with\n"
            "# `opsflow run --post-sample` (or OPSFLOW_POST_SAMPLE=true); the payload is saved next to the report.\n"
        )
        config = {"company": config.pop("company"), "sample": True, **config}
    else:
        header += "# Set SLACK_BOT_TOKEN and every flow posts to the channels below.\n"
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)
    (out / CONFIG_FILE).write_text(header + text, encoding="utf-8")
