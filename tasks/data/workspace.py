"""The workspace folder a command works on: made from the bundled sample company the first time it is used."""

from __future__ import annotations

from pathlib import Path

from opsflow.config import CONFIG_FILE, ConfigError


def ensure_workspace(path: Path) -> Path:
    """Return `path`, first writing the sample company into it when it does not exist or is an empty folder.

    A folder that holds anything else is left untouched: it is the user's, and a missing opsflow.yaml there is an
    error `load_config` reports.
    """
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path}: is a file, not a workspace folder")
    if (path / CONFIG_FILE).is_file() or (path.is_dir() and any(path.iterdir())):
        return path
    from opsflow.sample import write_sample  # imported here: only the first run needs the sample generator

    rows = write_sample(path)
    print(f"Created a sample workspace in {path} ({sum(rows.values()):,} rows in {len(rows)} datasets).")
    return path
