"""Stand-in HTTP servers for the external systems opsflow talks to (Slack, Anthropic), started by the tests."""
