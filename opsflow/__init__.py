"""opsflow: an operations team's autopilot built on Prefect 3 pipelines."""

__version__ = "0.1.0"
