"""The workspace's opsflow.yaml: where each dataset comes from and how a user's export maps onto the contract."""

from __future__ import annotations

import calendar
import re
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

CONFIG_FILE = "opsflow.yaml"
ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${VAR}` in a SQL url (a source's or a probe's), expanded from the environment: passwords stay out of files."""

_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""`${NAME}` in a SQL URL: expanded from the environment when the source is read."""

_CHANNEL = re.compile(r"^(#[a-z0-9][a-z0-9._\-]{0,79}|[CGD][A-Z0-9]{8,})$")
"""A Slack channel as opsflow.yaml names it: `#name` (Slack's rules: lower case, digits, - _ .) or a channel id."""


def _check_timezone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not a known time zone (e.g. Europe/Berlin, America/New_York, UTC)") from None
    return value


def _check_channel(value: str) -> str:
    if not _CHANNEL.match(value):
        raise ValueError(f"{value!r} is not a Slack channel (#name in lower case, or a channel id like C0123ABCD)")
    return value


def check_sql_url(url: str) -> str:
    """Check the URL's syntax with SQLAlchemy, `${VAR}` parts standing in for whatever the environment holds."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(_ENV_VAR.sub("x", url))
    except (ArgumentError, ValueError):
        # The URL may hold a password: say where, never what.
        raise ValueError("not a SQLAlchemy URL (expected dialect+driver://user@host:port/database)") from None
    return url


class ConfigError(Exception):
    """opsflow.yaml is missing or says something that cannot work; the message is one line for the user."""


class ValueIn(BaseModel):
    """A condition on an audit-log column: its value is one of `in`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    column: str = Field(description="Source column (after renaming), e.g. state or assigned_to.")
    values: list[str] = Field(alias="in", min_length=1, description="The values that meet the condition.")


class CollapseRule(BaseModel):
    """A column computed from a ticket's whole history instead of one of its values: the first or last update time
    at which a condition held (acknowledged_at: first time state is Active), how often a column's value changed
    (reassignments), or how often a condition began to hold (reopenings)."""

    model_config = ConfigDict(extra="forbid")

    first_time: ValueIn | None = Field(None, description="The order_by time of the first row meeting the condition.")
    last_time: ValueIn | None = Field(None, description="The order_by time of the last row meeting the condition.")
    changes: str | None = Field(None, description="How many times this column's non-empty value changed.")
    entries: ValueIn | None = Field(
        None, description="How many times the condition began to hold (a row meeting it after one that did not)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CollapseRule:
        given = [k for k in ("first_time", "last_time", "changes", "entries") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of first_time, last_time, changes, entries")
        return self

    @property
    def source_columns(self) -> list[str]:
        rule = self.first_time or self.last_time or self.entries
        return [rule.column] if rule is not None else [self.changes or ""]


class CollapseSpec(BaseModel):
    """Collapse an audit-log export (many rows per ticket) to one row per ticket."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="Contract column that identifies the ticket (after renaming).")
    order_by: str = Field(description="Source or contract column that orders a ticket's rows (an update timestamp).")
    keep: Literal["last", "first"] = Field(
        "last", description="Per column, keep the last (or first) non-empty value in that order."
    )
    columns: dict[str, Literal["first", "last", "min", "max"] | CollapseRule] = Field(
        default_factory=dict,
        description="Per-column override of `keep`, e.g. opened_at: first; or a rule over the ticket's history, e.g. "
        "acknowledged_at: {first_time: {column: state, in: [Active]}}.",
    )
    then_by: str | None = Field(
        None,
        description="A second column ordering rows whose order_by times are equal (default: their line in the file).",
    )


class DeriveSpec(BaseModel):
    """A contract column made from the source without code: a copy of a source column (one source column can feed
    several contract columns), a constant, a concatenation, or a date column plus a time column."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    copy_of: str | None = Field(None, alias="copy", description="Source column to copy.")
    constant: str | None = Field(None, description="The same value on every row.")
    concat: list[str] | None = Field(None, min_length=2, description="Source columns joined with `sep`.")
    sep: str = Field(" ", description="Separator for concat.")
    date: str | None = Field(None, description="Source column holding the day (with `time`).")
    time: str | None = Field(None, description="Source column holding the time of day (with `date`).")

    @model_validator(mode="after")
    def _exactly_one(self) -> DeriveSpec:
        forms = [self.copy_of is not None, self.constant is not None, self.concat is not None, self.date is not None]
        if sum(forms) != 1 or ((self.date is None) != (self.time is None)):
            raise ValueError("give exactly one of copy, constant, concat, or date with time")
        return self

    @property
    def sources(self) -> list[str]:
        if self.copy_of is not None:
            return [self.copy_of]
        if self.concat is not None:
            return list(self.concat)
        return [c for c in (self.date, self.time) if c is not None]


class SingleTimestamp(BaseModel):
    """An event log with one time per event (the usual process-mining export): that time is the event's start, and
    its end is the same instant (`end: own_time`) or the next event's start in the same case (`end: next_start`,
    the last event of a case ending at its own time)."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(description="Source column with the event's time.")
    end: Literal["own_time", "next_start"] = Field("own_time", description="Where an event ends.")


PRESETS_DIR = Path(__file__).parent / "presets"
"""Mappings for the exports users have (ServiceNow, Jira Service Management, PagerDuty), one YAML file each."""


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yml"))


def apply_preset(dataset: str, spec: dict[str, object]) -> dict[str, object]:
    """A source's mapping with its `preset` filled in: the preset gives rename, values, date formats and collapse,
    and every key the source gives itself wins (a rename to the same contract column replaces the preset's)."""
    name = spec.get("preset")
    if name is None:
        return spec
    if name not in preset_names():
        raise ValueError(f"preset {name!r} is not known (presets: {', '.join(preset_names())})")
    preset = yaml.safe_load((PRESETS_DIR / f"{name}.yml").read_text(encoding="utf-8"))
    if preset.pop("dataset") != dataset:
        raise ValueError(f"preset {name!r} maps the incidents dataset, not {dataset}")
    merged: dict[str, object] = {**preset, **spec}
    own_rename = spec.get("rename") or {}
    if isinstance(own_rename, dict):
        targets = set(own_rename.values())
        kept = {k: v for k, v in preset.get("rename", {}).items() if v not in targets and k not in own_rename}
        merged["rename"] = {**kept, **own_rename}
    for key in ("values", "defaults", "date_formats", "derive"):
        own = spec.get(key)
        if isinstance(own, dict) and key in preset:
            merged[key] = {**preset[key], **own}
    own_values = spec.get("values")
    if isinstance(own_values, dict) and "values" in preset:
        # Per column, the source's value map adds to (and overrides entries of) the preset's.
        merged["values"] = {
            column: {**preset["values"].get(column, {}), **(own_values.get(column) or {})}
            for column in {**preset["values"], **own_values}
        }
    own_collapse = spec.get("collapse")
    if isinstance(own_collapse, dict) and "collapse" in preset:
        columns = {**preset["collapse"].get("columns", {}), **own_collapse.get("columns", {})}
        merged["collapse"] = {**preset["collapse"], **own_collapse, "columns": columns}
    return merged


class SourceSpec(BaseModel):
    """Where one dataset comes from and how its columns and values map onto the contract."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["csv", "parquet", "excel", "sql"] = "csv"
    preset: str | None = Field(
        None, description="A mapping for a known export (opsflow/presets: servicenow-incident, jira-sm-issues, ...)."
    )
    path: str | None = Field(None, description="File path, relative to the workspace (csv, parquet, excel).")
    sheet: str | int | None = Field(None, description="Excel sheet name or index (default: the first sheet).")
    url: str | None = Field(None, description="SQLAlchemy URL (sql). `${ENV_VAR}` is expanded from the environment.")
    query: str | None = Field(None, description="SQL query whose result is the dataset (sql).")
    encoding: str = "utf-8"
    delimiter: str = ","
    rename: dict[str, str] = Field(default_factory=dict, description="Source column name -> contract column name.")
    values: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per contract column, source value -> contract value."
    )
    null_values: list[str] = Field(default_factory=list, description="Extra markers that mean empty, e.g. '?', 'N/A'.")
    date_format: str | None = Field(None, description="strftime format of every date/time column (default: ISO 8601).")
    date_formats: dict[str, str] = Field(default_factory=dict, description="Per contract column date format.")
    dayfirst: bool = Field(False, description="Ambiguous dates like 03/04/2026 are day-first (3 April).")
    timezone: str = Field("UTC", description="Time zone of timestamps that carry no offset in the source.")
    true_values: list[str] = Field(default_factory=lambda: ["true", "yes", "y", "1", "t"])
    false_values: list[str] = Field(default_factory=lambda: ["false", "no", "n", "0", "f"])
    defaults: dict[str, str] = Field(default_factory=dict, description="Constant value for a column the source lacks.")
    collapse: CollapseSpec | None = None
    derive: dict[str, DeriveSpec] = Field(
        default_factory=dict, description="Contract column -> how to make it from the source (copy, constant, ...)."
    )
    single_timestamp: SingleTimestamp | None = Field(
        None, description="process_events only: an event log with one time per event (started_at and ended_at)."
    )
    observed_until: datetime | None = Field(
        None,
        description="When the export was taken (local time in the workspace's time zone without an offset): the data "
        "is complete up to then. Default: the end of the local day of the dataset's last event.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("url")
    @classmethod
    def _url_syntax(cls, value: str | None) -> str | None:
        return None if value is None else check_sql_url(value)

    @model_validator(mode="after")
    def _has_location(self) -> SourceSpec:
        if self.type == "sql":
            if not (self.url and self.query):
                raise ValueError("a sql source needs both `url` and `query`")
        elif not self.path:
            raise ValueError(f"a {self.type} source needs `path`")
        return self


def sql_label(url: str) -> str:
    """Where a SQL source lives, safe to print: driver, host, port and database, never user or password."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(ENV_VAR.sub("x", url))
    except Exception:
        return "sql source (unparsable url)"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    database = f"/{parsed.database}" if parsed.database else ""
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite {parsed.database or ':memory:'}"
    return f"{parsed.get_backend_name()} {host}{port}{database}"


class QualityConfig(BaseModel):
    """How much bad data a run tolerates before it stops."""

    model_config = ConfigDict(extra="forbid")

    max_quarantine_share: float = Field(
        0.05, ge=0, le=1, description="Stop when more than this share of a dataset's rows fail validation."
    )
    per_dataset: dict[str, float] = Field(default_factory=dict, description="Override of the share per dataset.")

    def threshold(self, dataset: str) -> float:
        return self.per_dataset.get(dataset, self.max_quarantine_share)


class SlackConfig(BaseModel):
    """Slack channels per flow and per incident severity."""

    model_config = ConfigDict(extra="forbid")

    default_channel: str = "#ops"
    channels: dict[str, str] = Field(default_factory=dict, description="Flow name -> channel.")
    severity_channels: dict[str, str] = Field(default_factory=dict, description="SEV1..SEV4 -> channel for alerts.")
    alerts_channel: str | None = Field(None, description="Where failed scheduled runs are reported.")
    leadership_channel: str = Field(
        "#ops-leadership", description="Where the weekly audit's short update for leadership is posted."
    )
    _from_sample: bool = PrivateAttr(False)
    """Set from the workspace's `sample: true`: whoever posts with this config can tell made-up data."""

    @property
    def from_sample(self) -> bool:
        """True when these channels belong to a sample workspace (opsflow.yaml says `sample: true`)."""
        return self._from_sample

    @field_validator("default_channel", "alerts_channel", "leadership_channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return None if value is None else _check_channel(value)

    @field_validator("channels", "severity_channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        for channel in value.values():
            _check_channel(channel)
        return value

    def channel_for(self, flow: str) -> str:
        return self.channels.get(flow, self.default_channel)


class VendorScoring(BaseModel):
    """Weights of the vendor score (they are normalised to sum to 1)."""

    model_config = ConfigDict(extra="forbid")

    delivery: float = 0.5
    quality: float = 0.3
    responsiveness: float = 0.2


class ProcessSpec(BaseModel):
    """How a process in the event log ends."""

    model_config = ConfigDict(extra="forbid")

    end_activities: list[str] = Field(
        min_length=1, description="Activities that complete a case: a case without one of them is in progress."
    )


class WorkspaceConfig(BaseModel):
    """Everything opsflow.yaml says."""

    model_config = ConfigDict(extra="forbid")

    company: str = "Your company"
    sample: bool = Field(
        False,
        description="Written by `opsflow sample`: made-up data, so nothing is posted to Slack from it unless the run "
        "opts in (`opsflow run --post-sample`, or OPSFLOW_POST_SAMPLE=true in the environment).",
    )
    timezone: str = Field("UTC", description="Reporting time zone: weeks and days are cut in it.")
    week_ends_on: Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"] = Field(
        "Sunday", description="The last day of a reporting week: a weekly flow's --as-of must be this day."
    )

    @property
    def week_end_weekday(self) -> int:
        """date.weekday() of the week's last day (Monday 0 .. Sunday 6)."""
        return list(calendar.day_name).index(self.week_ends_on)

    currency: str = "EUR"
    history_url: str | None = Field(
        None, description="SQLAlchemy URL of the history store (default: SQLite file in the workspace)."
    )
    data_roots: list[str] = Field(
        default_factory=list,
        description="Folders outside the workspace that file sources may be read from (absolute, or relative to the "
        "workspace). A file source anywhere else is refused.",
    )
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    vendor_scoring: VendorScoring = Field(default_factory=VendorScoring)
    processes: dict[str, ProcessSpec] = Field(
        default_factory=dict,
        description="Per process of the event log, its end activities. Default: the activity its cases most often "
        "end with.",
    )

    def end_activities(self) -> dict[str, list[str]]:
        """Per process, the end activities opsflow.yaml declares (processes not named get the data's default)."""
        return {name: list(spec.end_activities) for name, spec in self.processes.items()}

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return _check_timezone(value)

    @field_validator("sources", mode="before")
    @classmethod
    def _apply_presets(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        return {name: apply_preset(name, spec) if isinstance(spec, dict) else spec for name, spec in value.items()}

    @model_validator(mode="after")
    def _mark_sample(self) -> WorkspaceConfig:
        # Flows hand only the `slack` part to delivery: it carries the mark so a sample is never posted by mistake.
        self.slack._from_sample = self.sample
        return self

    @field_validator("history_url")
    @classmethod
    def _history_url(cls, value: str | None) -> str | None:
        return None if value is None else check_sql_url(value)

    def allowed_roots(self, workspace: Path) -> list[Path]:
        """The folders file sources may resolve into: the workspace and each declared data root, links resolved."""
        roots = [workspace, *(workspace / Path(root).expanduser() for root in self.data_roots)]
        return [root.resolve() for root in roots]

    def source_path(self, workspace: Path, dataset: str) -> Path:
        """Where a file source is, once it is known to lie inside an allowed root (ConfigError otherwise).

        Links are followed first, so a link in the workspace to a file elsewhere is refused like the path itself.
        """
        spec = self.sources[dataset]
        assert spec.path is not None
        path = (workspace / Path(spec.path).expanduser()).resolve()
        roots = self.allowed_roots(workspace)
        if not any(path.is_relative_to(root) for root in roots):
            raise ConfigError(
                f"{workspace / CONFIG_FILE}: sources.{dataset}.path: {quote_cell(spec.path)} is outside the workspace; "
                "move the file into it or add its folder to `data_roots:`"
            )
        return path


def quote_cell(text: object, limit: int = 60) -> str:
    """A value from the user's file, escaped (no control characters or line breaks) and shortened, for a message."""
    quoted = repr(str(text))
    return quoted if len(quoted) <= limit else quoted[: limit - 4] + "...'"


def allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys opsflow.yaml allows at `loc` (e.g. sources.incidents.collapse), by walking the models; [] when the
    place is not a model's (a free mapping, a union)."""
    import types
    import typing

    model: Any = WorkspaceConfig
    expect_key = False
    for part in loc:
        if expect_key:  # a dict's key (a dataset name): the model is the dict's value type
            expect_key = False
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return []
        annotation = model.model_fields[str(part)].annotation
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0] if len(options) == 1 else None
            origin = typing.get_origin(annotation)
        if origin is dict:
            annotation, expect_key = typing.get_args(annotation)[1], True
        model = annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [info.alias or name for name, info in model.model_fields.items()]
    return []


def load_config(workspace: Path) -> WorkspaceConfig:
    """Read and check `opsflow.yaml` in the workspace."""
    path = workspace / CONFIG_FILE
    # Never a sample made up on the spot: a mistyped folder would otherwise be audited and posted as if it were real.
    if not workspace.is_dir():
        raise ConfigError(
            f"{workspace}: no such workspace folder (give --workspace the folder holding your {CONFIG_FILE}, "
            f"or make a sample one with `opsflow sample --out {workspace}`)"
        )
    if not path.is_file():
        raise ConfigError(f"{path}: no {CONFIG_FILE} here (run `opsflow sample --out {workspace}` to make one)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected settings like `company: ...` and `sources:`, got a {type(raw).__name__}")
    try:
        config = WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        # Pydantic prefixes a validator's own message with "Value error, "; the location already says what it is.
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden" and (allowed := allowed_keys(first["loc"][:-1])):
            message = f"not a known key (allowed here: {', '.join(allowed)})"
        raise ConfigError(f"{path}: {loc}: {message}") from None
    for dataset, spec in config.sources.items():
        if spec.type != "sql":
            config.source_path(workspace, dataset)
    return config
