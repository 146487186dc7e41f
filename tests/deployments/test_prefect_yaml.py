"""prefect.yaml loads: entrypoints name flows, parameters fit the flows' models, schedules parse in one time zone."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, get_type_hints

import pytest
import yaml
from prefect import Flow
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.steps.core import run_steps
from prefect.server.schemas.schedules import CronSchedule as ServerCronSchedule
from prefect.utilities.callables import parameter_schema
from prefect.utilities.templating import apply_values

from deployments.serve import runner_deployments
from deployments.spec import PREFECT_FILE, REPO_ROOT, DeploymentSpec, deployment_schedules, flow_modules, load_flow
from deployments.spec import load_specs as _load_specs
from deployments.worker import DEFAULT_POOL
from opsflow.settings import Settings
from tasks.delivery.slack import FileSender, sender_from_settings

RAW = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
SPECS = _load_specs()
TIMEZONE = RAW["definitions"]["timezone"]


def _next_dates(schedule: CronSchedule, n: int, start: dt.datetime) -> list[dt.datetime]:
    """The next n run times, computed the way the server's scheduler computes them."""
    server_schedule = ServerCronSchedule(cron=schedule.cron, timezone=schedule.timezone, day_or=schedule.day_or)
    return list(asyncio.run(server_schedule.get_dates(n=n, start=start)))


def _schedule_dicts(node: Any) -> list[dict[str, Any]]:
    """Every mapping with a `cron` key anywhere in the file (deployments and definitions alike)."""
    if isinstance(node, dict):
        found = [node] if "cron" in node else []
        return found + [d for v in node.values() for d in _schedule_dicts(v)]
    if isinstance(node, list):
        return [d for v in node for d in _schedule_dicts(v)]
    return []


def test_the_two_existing_flows_are_deployed_on_the_opsflow_pool() -> None:
    by_name = {s.name: s for s in SPECS}
    assert {"data-check", "weekly-audit"} <= set(by_name)
    assert by_name["weekly-audit"].entrypoint == "flows/weekly_audit.py:weekly_audit"
    assert by_name["data-check"].entrypoint == "flows/data_check.py:data_check"
    for spec in SPECS:
        assert spec.work_pool == DEFAULT_POOL, spec.name
        assert spec.tags, f"{spec.name}: every deployment carries its family tag"


def test_every_flow_module_has_a_deployment() -> None:
    deployed = {s.entrypoint.split(":", 1)[0] for s in SPECS}
    missing = [m for m in flow_modules() if m not in deployed]
    assert not missing, f"flow modules with no entry in prefect.yaml: {missing}"


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_entrypoint_names_a_flow_whose_parameters_validate(spec: DeploymentSpec) -> None:
    flow = load_flow(spec)
    assert isinstance(flow, Flow)
    assert flow.name == spec.name, "a deployment is named after its flow"
    # What `prefect deploy` sends as the run form (it fails here if the flow's parameters cannot be rendered).
    schema = parameter_schema(flow).model_dump_for_openapi()
    assert list(schema["properties"]) == ["params"], "one pydantic parameter model, rendered as the run form"
    model = get_type_hints(flow.fn)["params"]
    runs = [{**spec.parameters, **(s.get("parameters") or {})} for s in spec.schedules]
    for parameters in [spec.parameters, *runs]:
        # The models ignore unknown fields, so a misspelt one would silently fall back to its default.
        assert set(parameters) <= {"params"}, parameters
        assert set(parameters.get("params", {})) <= set(model.model_fields), parameters
    if not spec.schedules:
        return  # run from the UI form, which asks for any required field
    for parameters in runs:
        # A scheduled run has nobody to fill the form: what the deployment and schedule give must be a valid run.
        # (A schedule's parameters replace the deployment's top-level keys: a shallow merge, as Prefect does.)
        flow.validate_parameters(parameters)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_schedules_parse_as_cron_in_the_one_time_zone(spec: DeploymentSpec) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for created in deployment_schedules(spec):
        schedule = created.schedule
        assert isinstance(schedule, CronSchedule)
        assert schedule.timezone == TIMEZONE
        dates = _next_dates(schedule, 3, start)
        assert len(dates) == 3 and dates == sorted(dates) and dates[0] >= start


def test_every_schedule_in_the_file_uses_the_timezone_anchor() -> None:
    schedules = _schedule_dicts(RAW)
    assert len(schedules) >= len(SPECS)
    assert {s.get("timezone") for s in schedules} == {TIMEZONE}


def test_weekly_audit_runs_monday_0700_berlin_across_the_dst_change() -> None:
    [created] = deployment_schedules(next(s for s in SPECS if s.name == "weekly-audit"))
    assert isinstance(created.schedule, CronSchedule)
    # 2026-03-29 is the spring change in Europe/Berlin: 07:00 local is 06:00 UTC before, 05:00 UTC after.
    dates = _next_dates(created.schedule, 3, dt.datetime(2026, 3, 20, tzinfo=dt.UTC))
    assert [d.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") for d in dates] == [
        "2026-03-23 06:00",
        "2026-03-30 05:00",
        "2026-04-06 05:00",
    ]


def test_first_tuesday_of_the_month_needs_day_or_false() -> None:
    config = RAW["definitions"]["schedules"]["first_tuesday_1000"]
    assert config["day_or"] is False
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule

    schedule = _schedule_config_to_deployment_schedule(config)["schedule"]
    dates = _next_dates(schedule, 6, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    # 2026's first Tuesdays: Jan 6, Feb 3, Mar 3, Apr 7, May 5, Jun 2 (Jan 1 2026 is a Thursday).
    assert [d.date() for d in dates] == [
        dt.date(2026, 1, 6),
        dt.date(2026, 2, 3),
        dt.date(2026, 3, 3),
        dt.date(2026, 4, 7),
        dt.date(2026, 5, 5),
        dt.date(2026, 6, 2),
    ]
    assert all(d.hour == 10 for d in dates)
    # Without day_or: false, cron ORs the two fields: every day from the 1st to the 7th, plus every Tuesday.
    ored = _next_dates(schedule.model_copy(update={"day_or": True}), 6, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert [d.day for d in ored] == [1, 2, 3, 4, 5, 6]


def _pull_directory() -> str:
    """What `prefect deploy` stores as the pull step's directory: the build step run, its output templated in."""
    outputs = asyncio.run(run_steps(RAW["build"], {}, print_function=lambda *a, **k: None))
    pull = apply_values(RAW["pull"], outputs, remove_notset=False)
    assert isinstance(pull, list)
    return str(pull[0]["prefect.deployments.steps.set_working_directory"]["directory"])


def test_pull_step_works_from_the_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPSFLOW_REPO_DIR", raising=False)
    monkeypatch.chdir(REPO_ROOT)  # `prefect deploy` runs where prefect.yaml is
    assert Path(_pull_directory()) == REPO_ROOT.resolve()
    # A team deploying for workers whose checkout lives elsewhere names it.
    monkeypatch.setenv("OPSFLOW_REPO_DIR", "/srv/opsflow")
    assert _pull_directory() == "/srv/opsflow"


def test_slack_secret_is_a_block_name_read_at_run_time(tmp_path: Path) -> None:
    text = PREFECT_FILE.read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "prefect.blocks." not in code, "no secret templates: prefect deploy would resolve them into the deployment"
    for spec in SPECS:
        assert spec.env["OPSFLOW_SLACK_TOKEN_BLOCK"] == "slack-bot-token", spec.name
    # Someone with no Slack: the block does not exist, and the flow saves the payload instead of failing.
    settings = Settings(OPSFLOW_SLACK_TOKEN_BLOCK="slack-bot-token", OPSFLOW_SLACK_WEBHOOK_BLOCK="slack-webhook-url")
    assert isinstance(sender_from_settings(settings, tmp_path), FileSender)


def test_serve_registers_what_the_file_says() -> None:
    served = asyncio.run(runner_deployments(SPECS))
    assert [d.name for d in served] == [s.name for s in SPECS]
    for deployment, spec in zip(served, SPECS, strict=True):
        assert deployment.tags == spec.tags
        # No description in the file: the flow's docstring, as `prefect deploy` does.
        assert deployment.description == (spec.description or load_flow(spec).description)
        assert deployment.parameters == spec.parameters
        assert [s.schedule for s in deployment.schedules or []] == [c.schedule for c in deployment_schedules(spec)]
        # Module entrypoints: a served run imports the installed package from whatever directory serve runs in.
        assert deployment.entrypoint == f"{spec.module}.{spec.function}"
