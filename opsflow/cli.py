"""The `opsflow` command: make a sample workspace, check a workspace's data, run a flow."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from opsflow.runtime import configure_environment, flow_names


class UserError(Exception):
    """Something the user can fix (a bad option, file or mapping); shown as one line, never a traceback."""


class _OneLineErrors(typer.Typer):
    """A Typer app whose usage errors are one line on stderr instead of a boxed panel with a usage block."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        command = typer.main.get_command(self)
        try:
            code = command.main(args=kwargs.get("args"), prog_name="opsflow", standalone_mode=False)
        except typer.TyperException as exc:
            _fail(exc.format_message(), getattr(exc, "exit_code", 2))
        except typer.Abort:
            _fail("aborted", 1)
        sys.exit(code if isinstance(code, int) else 0)


app = _OneLineErrors(
    name="opsflow",
    help="An operations team's autopilot: check operational data, compute what matters, write it up.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class SampleFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


DEFAULT_WORKSPACE_HELP = "Workspace folder (default: $OPSFLOW_WORKSPACE or ./workspace)."


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"opsflow: error: {message}", err=True)
    raise SystemExit(code)


def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: {value!r} is not a date (expected YYYY-MM-DD)") from None


def _workspace(value: Path | None) -> Path:
    if value is not None:
        return value
    from opsflow.settings import get_settings

    return get_settings().workspace


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input, not a bug: each is reported as its one-line message."""
    from opsflow.config import ConfigError
    from opsflow.datasets import DataSourceError
    from opsflow.openslo import OpenSloError
    from opsflow.period import PeriodError
    from opsflow.runtime import UnknownFlowError

    return (UserError, ConfigError, DataSourceError, UnknownFlowError, PeriodError, OpenSloError, OSError)


@app.callback()
def _main() -> None:
    configure_environment()


@app.command()
def sample(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the sample workspace into.")],
    scale: Annotated[
        float, typer.Option(help="Size relative to the standard sample (1.0 = a mid-size company).")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 7,
    end: Annotated[str | None, typer.Option(help="Last day of the data, YYYY-MM-DD (default: last Sunday).")] = None,
    fmt: Annotated[SampleFormat, typer.Option("--format", help="File format of the exports.")] = SampleFormat.csv,
) -> None:
    """Write the sample company's exports and an opsflow.yaml mapping them into OUT."""
    try:
        if scale <= 0:
            raise UserError(f"--scale: must be above 0, got {scale}")
        end_date = _parse_date(end, "--end")
        from opsflow.sample import write_sample

        rows = write_sample(out, scale=scale, seed=seed, end=end_date, fmt=fmt.value)
    except _user_errors() as exc:
        _fail(str(exc))
    width = max(len(name) for name in rows) if rows else 0
    for name, count in rows.items():
        typer.echo(f"  {name:<{width}}  {count:>9,} rows")
    typer.echo(f"Wrote the sample workspace to {out} ({sum(rows.values()):,} rows in {len(rows)} datasets).")


def _quality_table(data: Any, load_errors: dict[str, str]) -> list[str]:
    """The summary table `opsflow validate` prints: one line per dataset."""
    header = ("dataset", "source rows", "rows in", "used", "quarantined", "share", "status")
    rows: list[tuple[str, ...]] = []
    for name, ds in data.datasets.items():
        q = ds.quality
        status = "ok" if q.usable else f"NOT USABLE (limit {q.threshold:.1%})"
        rows.append(
            (
                name,
                f"{q.rows_read if q.rows_read is not None else q.rows_in:,}",
                f"{q.rows_in:,}",
                f"{q.rows_used:,}",
                f"{q.rows_quarantined:,}",
                f"{q.quarantined_share:.1%}",
                status,
            )
        )
    for name in sorted(load_errors):
        rows.append((name, "-", "-", "-", "-", "-", "NOT READ"))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for r in [header, *rows]:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:6], widths[1:6], strict=True)] + [r[6]]
        lines.append("  ".join(cells).rstrip())
    return lines


QUARANTINE_LINES = 5
"""Quarantined rows shown per dataset on the console; the quarantine file and the report have them all."""


def _quarantine_lines(data: Any) -> list[str]:
    """One line per quarantined row (the first few per dataset): source, row, and what is wrong with it."""
    from opsflow.datasets import REASON, ROW

    lines = []
    for name, ds in data.datasets.items():
        q = ds.quality
        if not q.rows_quarantined:
            continue
        for _, row in ds.quarantine.head(QUARANTINE_LINES).iterrows():
            lines.append(f"{q.source} row {row[ROW]}: {row[REASON]}")
        more = q.rows_quarantined - min(q.rows_quarantined, QUARANTINE_LINES)
        where = q.quarantine_path or "the data-quality report"
        if more:
            lines.append(f"  ... and {more:,} more {name} rows in {where}")
    return lines


@app.command()
def validate(
    workspace: Annotated[Path | None, typer.Option(help=DEFAULT_WORKSPACE_HELP)] = None,
) -> None:
    """Check opsflow.yaml (time zones, channels, paths, SQL URLs), then load and validate every dataset; write the
    data-quality report and quarantine files. Exit 1 if anything is wrong or the data is not usable."""
    try:
        ws = _workspace(workspace)
        from opsflow.config import load_config

        config = load_config(ws)  # before the slow imports below: a wrong folder is reported at once
    except _user_errors() as exc:
        _fail(str(exc))
    import prefect.main  # noqa: F401  (Prefect sets up logging on import; the run log is added to that set-up)

    from opsflow.runlog import run_log

    with run_log(ws, "validate") as log:
        try:
            from flows.data_check import REPORT_DIR
            from opsflow.period import last_complete_week_end
            from tasks.data.ingest import load_workspace
            from tasks.data.prepare import QUARANTINE_DIR, unusable_reasons
            from tasks.data.validate import validate_workspace
            from tasks.reporting.quality import write_quality_report

            loaded, load_errors = load_workspace(ws, config)
            data = validate_workspace(loaded, config, ws / QUARANTINE_DIR)
            title = f"{config.company}: data quality, week ending {last_complete_week_end(date.today()):%d %b %Y}"
            written = write_quality_report(data, load_errors, ws / REPORT_DIR, title)
        except _user_errors() as exc:
            log.failure("validate failed", exc)
            _fail(str(exc))
        except Exception as exc:  # a bug, not the user's input: the traceback is in the log file
            log.failure("validate failed", exc)
            _fail(f"validate failed: {type(exc).__name__}: {_first_line(exc)} (details in {log.path})")
    for line in _quality_table(data, load_errors):
        typer.echo(line)
    for name, error in sorted(load_errors.items()):
        typer.echo(f"{name}: {error}")
    for line in _quarantine_lines(data):
        typer.echo(line)
    for kind, path in written.items():
        typer.echo(f"Report ({kind}): {path}")
    reasons = unusable_reasons(data, load_errors, shown_above=True)
    if reasons:
        _fail(f"data not usable: {len(reasons)} dataset(s) failed: " + "; ".join(reasons))
    typer.echo("Data usable.")


map_app = typer.Typer(help="Mappings from exports to the data contract.", no_args_is_help=True)
app.add_typer(map_app, name="map")


@map_app.command("suggest")
def map_suggest(
    file: Annotated[Path, typer.Argument(help="The export to map (CSV, Excel .xlsx or Parquet).")],
    dataset: Annotated[str, typer.Option("--dataset", help="The contract dataset it holds (incidents, ...).")],
    workspace: Annotated[
        Path | None, typer.Option(help="Workspace folder the path in the mapping is written relative to.")
    ] = None,
) -> None:
    """Print a starting opsflow.yaml source for FILE: columns whose values fit each contract column, the delimiter,
    encoding and date format found, `values:` stubs, the time-zone question and what is still missing."""
    from tasks.data.suggest import suggest_mapping

    try:
        if not file.is_file():
            raise UserError(f"{file}: no such file")
        text = suggest_mapping(file.resolve(), dataset, workspace.resolve() if workspace else None)
    except _user_errors() as exc:
        _fail(str(exc))
    typer.echo(text, nl=False)


slo_app = typer.Typer(help="SLOs as OpenSLO v1 documents.", no_args_is_help=True)
app.add_typer(slo_app, name="slo")


@slo_app.command("export")
def slo_export(
    workspace: Annotated[Path | None, typer.Option(help=DEFAULT_WORKSPACE_HELP)] = None,
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: print).")] = None,
) -> None:
    """Write the SLOs every report uses (the export's objectives, or slos/*.yaml where they set one) as OpenSLO v1.
    Put the file in the workspace's slos/ folder and edit a target: the next run judges that SLO by it."""
    from opsflow import openslo
    from opsflow.config import load_config

    try:
        ws = _workspace(workspace)
        config = load_config(ws)
        if "sla_events" not in config.sources and "service_metrics" not in config.sources:
            raise UserError(
                f"{ws}: opsflow.yaml maps neither sla_events nor service_metrics, so there are no SLOs to export"
            )
        from tasks.data.ingest import load_workspace
        from tasks.data.prepare import QUARANTINE_DIR, apply_slo_files
        from tasks.data.validate import validate_workspace

        loaded, _ = load_workspace(ws, config)
        data = validate_workspace(loaded, config, ws / QUARANTINE_DIR)
        apply_slo_files(data, ws)
        from tasks.service_levels.objectives import service_slos

        events, metrics = data.frame("sla_events"), data.frame("service_metrics")
        if events is None and metrics is None:
            raise UserError(f"{ws}: the SLA datasets could not be read; run `opsflow validate` for why")
        slos = openslo.from_events(events) if events is not None else []
        text = openslo.dump([*slos, *service_slos(metrics, data.frame("services"))])
    except _user_errors() as exc:
        _fail(str(exc))
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"Wrote {text.count('kind: SLO')} SLOs to {out}.")


@app.command(context_settings={"help_option_names": []})
def run(
    ctx: typer.Context,
    flow: Annotated[str | None, typer.Argument(help="Flow to run: " + ", ".join(flow_names()) + ".")] = None,
    workspace: Annotated[Path | None, typer.Option(help=DEFAULT_WORKSPACE_HELP)] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Last day of the flow's period, YYYY-MM-DD (default: the last one the data covers)."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="A parameter of the flow's run form, NAME=VALUE (repeatable; lists and objects as JSON). "
            "`opsflow run FLOW --help` lists them.",
        ),
    ] = None,
    post_sample: Annotated[
        bool,
        typer.Option(
            "--post-sample",
            help="Post to Slack even though the workspace is a sample (`sample: true`: made-up data). "
            "Same as OPSFLOW_POST_SAMPLE=true.",
        ),
    ] = False,
    show_help: Annotated[
        bool, typer.Option("--help", help="Show this message; with FLOW, also the flow's parameters.")
    ] = False,
) -> None:
    """Run a flow on a workspace (one with an opsflow.yaml; `opsflow sample` makes one) and print its outputs."""
    from opsflow.coverage import clock_rule
    from opsflow.flow_params import ParameterError, build_params, params_model
    from opsflow.period import check_week_end
    from opsflow.runtime import load_flow, prefect_runtime, require_flow

    if show_help:
        _run_help(ctx, flow)
        return
    loaded: list[Any] = []
    params: Any = None
    try:
        if flow is None:
            raise UserError("which flow? opsflow run FLOW (flows: " + ", ".join(flow_names()) + ")")
        as_of_date = _parse_date(as_of, "--as-of")
        require_flow(flow)
        if post_sample:
            _opt_in_to_posting_the_sample()
        from opsflow.config import load_config

        ws = _workspace(workspace)
        config = load_config(ws)  # a missing or bad opsflow.yaml is a one-line error here, before a server starts
        if as_of_date is not None and clock_rule(flow).kind == "week":
            check_week_end(as_of_date, config.week_end_weekday)
        if param:
            # The form is checked before a server starts: a bad value is one line, at once.
            loaded.append(load_flow(flow))
            params = build_params(flow, params_model(loaded[0].fn), ws, as_of_date, param)
    except _user_errors() + (ParameterError,) as exc:
        _fail(str(exc))
    import prefect.main  # noqa: F401  (Prefect sets up logging on import; the run log is added to that set-up)

    from opsflow.runlog import run_log

    started = time.perf_counter()
    with run_log(ws, "run") as log:
        try:
            # Importing the flow (pandas, Great Expectations) overlaps the temporary server's start.
            with prefect_runtime(warmup=None if loaded else lambda: loaded.append(load_flow(flow))) as runtime:
                if not param:
                    params = build_params(flow, params_model(loaded[0].fn), ws, as_of_date, [])
                result = loaded[0](params=params)
        except ParameterError as exc:  # a required parameter not given: the one line, no log file needed
            _fail(str(exc))
        except Exception as exc:  # the console has the run's log lines; the traceback is in the file
            log.failure(f"{flow} failed", exc)
            _fail(f"{flow} failed: {_failure_line(exc)} (details in {log.path})")
    took = time.perf_counter() - started
    note = ""
    if runtime.temporary_server:
        note = f" (the temporary Prefect server was ready after {runtime.server_start_seconds:.1f} s)"
    elif runtime.local_server:
        note = f" (on the running Prefect server {runtime.api_url})"
    typer.echo(f"{flow} finished in {took:.1f} s{note}.")
    for label, path in _outputs(result):
        typer.echo(f"  {label}: {path}")


def _run_help(ctx: typer.Context, flow: str | None) -> None:
    """`opsflow run [FLOW] --help`: the command's options, then the flow's run form (from its pydantic model)."""
    from opsflow.flow_params import describe_params, params_model
    from opsflow.runtime import load_flow, require_flow

    typer.echo(ctx.get_help())
    if flow is None:
        return
    try:
        require_flow(flow)
    except _user_errors() as exc:
        _fail(str(exc))
    typer.echo("")
    for line in describe_params(flow, params_model(load_flow(flow).fn)):
        typer.echo(line)


def _opt_in_to_posting_the_sample() -> None:
    """--post-sample: the same as OPSFLOW_POST_SAMPLE=true, for this process and the tasks it runs."""
    import os

    from opsflow.settings import get_settings

    os.environ["OPSFLOW_POST_SAMPLE"] = "true"
    get_settings.cache_clear()


def _failure_line(exc: BaseException) -> str:
    """The reason in one line: an opsflow error's own message, or the type and message of anything else."""
    from tasks.data.prepare import DataNotUsableError
    from tasks.delivery.slack import DeliveryError

    expected = (*_user_errors(), DataNotUsableError, DeliveryError)
    line = _first_line(exc)
    return line if isinstance(exc, expected) else f"{type(exc).__name__}: {line}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def _outputs(result: object) -> Sequence[tuple[str, object]]:
    """What a flow wrote: its result's `outputs` mapping, or else every path field of the result model."""
    outputs = getattr(result, "outputs", None)
    if isinstance(outputs, dict):
        return list(outputs.items())
    fields = getattr(type(result), "model_fields", {})
    return [(name.replace("_", " "), value) for name in fields if isinstance(value := getattr(result, name), Path)]
