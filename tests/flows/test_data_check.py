"""The data-check flow on the sample workspace: outputs written, artifacts published, unusable data fails the run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from flows.data_check import ARTIFACT_KEY, DataCheckParams, DataCheckResult, DataNotUsableError, data_check
from opsflow.config import CONFIG_FILE


def _copy(sample_workspace: Path, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(sample_workspace, ws)
    return ws


def _spoil(ws: Path, dataset: str, share: float) -> int:
    """Overwrite every cell of the first `share` of a dataset's rows with junk; returns how many rows were spoiled."""
    config = yaml.safe_load((ws / CONFIG_FILE).read_text(encoding="utf-8"))
    path = ws / config["sources"][dataset]["path"]
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    bad = int(len(frame) * share)
    frame.iloc[:bad, :] = "???"
    frame.to_csv(path, index=False)
    return bad


def test_usable_sample_writes_report_quarantine_and_artifacts(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)

    result = data_check(DataCheckParams(workspace=ws))

    assert isinstance(result, DataCheckResult)
    assert result.usable and result.load_errors == {}
    assert result.outputs, "the run lists what it wrote"
    for label, path in result.outputs.items():
        assert path.is_file(), f"{label}: {path} was not written"
    assert any(p.parent == ws / "reports" / "data-quality" for p in result.outputs.values())
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[ARTIFACT_KEY])))
    assert artifacts, "the data-quality artifact is published to Prefect"


def test_unusable_data_fails_the_run_with_one_clear_message(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    spoiled = _spoil(ws, "incidents", 0.5)
    assert spoiled > 0

    state = data_check(DataCheckParams(workspace=ws), return_state=True)

    assert state.is_failed()
    assert state.message is not None
    assert "data not usable" in state.message
    assert "incidents:" in state.message and "quarantined" in state.message
    assert "\n" not in state.message
    with pytest.raises(DataNotUsableError, match="incidents"):
        state.result()
    # The report that explains the failure is still written.
    assert any((ws / "reports" / "data-quality").iterdir())


def test_dataset_that_cannot_be_read_makes_the_data_unusable(sample_workspace: Path, tmp_path: Path) -> None:
    ws = _copy(sample_workspace, tmp_path)
    config = yaml.safe_load((ws / CONFIG_FILE).read_text(encoding="utf-8"))
    (ws / config["sources"]["vendors"]["path"]).unlink()

    with pytest.raises(DataNotUsableError, match="vendors: could not be read"):
        data_check(DataCheckParams(workspace=ws))


def test_parameters_render_as_a_described_form() -> None:
    # The Prefect UI builds the run form from this schema: every field needs a description.
    schema = data_check.parameters.model_dump()
    fields = schema["definitions"]["DataCheckParams"]["properties"]
    assert set(fields) == {"workspace", "as_of"}
    assert all(field.get("description") for field in fields.values())
