"""The data-check flow: load every dataset of a workspace, validate it, and publish the data-quality report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow
from prefect.states import State
from pydantic import BaseModel, Field

from opsflow.params import WorkspaceParams, date_field, workspace_field
from opsflow.period import last_complete_week_end
from tasks.data.prepare import DataNotUsableError
from tasks.reporting.quality import publish_quality_artifacts_task, write_quality_report_task
from tasks.run.skeleton import open_run

FLOW = "data-check"
REPORT_DIR = Path("reports") / "data-quality"
ARTIFACT_KEY = "data-quality"

__all__ = ["DataNotUsableError", "DataCheckParams", "DataCheckResult", "data_check"]


class DataCheckParams(WorkspaceParams):
    """What to check: the Prefect UI renders these fields as the run form."""

    workspace: Path = workspace_field("Workspace folder: holds opsflow.yaml and the exports it names.")
    as_of: date | None = date_field("Last day of the reporting week, used in the report title (default: last Sunday).")


DEFAULT_PARAMS = DataCheckParams()


class DataCheckResult(BaseModel):
    """What a data check produced and whether the data can be used."""

    workspace: Path
    usable: bool
    outputs: dict[str, Path] = Field(description="Label -> file the run wrote (report, quarantine files).")
    load_errors: dict[str, str] = Field(default_factory=dict, description="Dataset -> why it could not be read.")


@flow(name=FLOW)
def data_check(params: DataCheckParams = DEFAULT_PARAMS) -> DataCheckResult | State:
    """A workspace's datasets checked against the data contract, with a data-quality report and quarantine files."""
    # Opened whatever the data's state: the quality report is most needed when the data cannot be used.
    run = open_run(FLOW, params.workspace)
    workspace, data, load_errors = run.workspace, run.data, run.prepared.load_errors
    as_of = params.as_of or last_complete_week_end(date.today())
    run.tag(as_of.isoformat())
    title = f"{run.config.company}: data quality, week ending {as_of:%d %b %Y}"
    written = write_quality_report_task(data, load_errors, workspace / REPORT_DIR, title)
    publish_quality_artifacts_task(data, load_errors, key=ARTIFACT_KEY)
    if run.prepared.reasons:
        # The report above says why in detail; the run fails with one line, not an engine traceback.
        return run.not_usable()
    outputs = {f"report ({kind})": path for kind, path in written.items()}
    outputs.update(
        {
            f"quarantine ({name})": Path(ds.quality.quarantine_path)
            for name, ds in data.datasets.items()
            if ds.quality.quarantine_path and ds.quality.rows_quarantined
        }
    )
    return DataCheckResult(workspace=workspace, usable=True, outputs=outputs, load_errors=load_errors)
