"""The bench tests use the flow tests' workspace: a copy of the session's sample, no Slack or Claude configured."""

from tests.flows.conftest import workspace  # noqa: F401
