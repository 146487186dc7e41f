"""Post a finished report to Slack exactly once per flow, period and channel, with data that cannot speak in Slack.

Exactly once, also when the outcome is uncertain: every post carries Slack message metadata naming the flow, period
and channel; a step is recorded in the history store before it is sent, and after any uncertain outcome (a timeout,
a dropped connection, a 5xx, a run that died mid-step) the channel is searched for that metadata before posting again.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.error import URLError
from urllib.parse import urlsplit

from pydantic import BaseModel, Field
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from opsflow import units
from opsflow.config import SlackConfig
from opsflow.findings import Action, Headline, Urgency
from opsflow.history import HistoryStore
from opsflow.settings import Settings, get_settings
from opsflow.tasking import io_task
from tasks.reporting.present import one_line

log = logging.getLogger("opsflow.slack")
# The SDK logs request URLs at DEBUG, and an incoming-webhook URL is a secret: keep the SDK's own logger above DEBUG.
_SDK_LOG = logging.getLogger("opsflow.slack.sdk")
_SDK_LOG.setLevel(logging.INFO)

SLACK_API_URL = "https://slack.com/api/"
PAYLOAD_FILE = "slack-payload.json"
TRUNCATED = "... (truncated: see the full report)"

# Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 3000
MAX_FOCUS_ITEMS = 10
ONE_SCREEN_CHARS = 3000
"""The top-level message's budget (headline fields, where to start and the focus list): about one screen of Slack on
a laptop. The details go in the thread."""

# Errors that a retry cannot fix: the task fails at once with one line.
PERMANENT_ERRORS = {
    "invalid_auth": "the bot token was rejected (check SLACK_BOT_TOKEN or the Prefect Secret block)",
    "not_authed": "no bot token was sent (check SLACK_BOT_TOKEN or the Prefect Secret block)",
    "account_inactive": "the bot token belongs to a deactivated app or user",
    "token_revoked": "the bot token was revoked",
    "channel_not_found": "{channel} does not exist or the bot cannot see it",
    "not_in_channel": "the bot is not a member of {channel} (invite it with /invite)",
    "is_archived": "{channel} is archived",
    "invalid_blocks": "Slack rejected the message layout",
    "missing_scope": (
        "the bot token lacks a scope it needs (chat:write, files:write; channels:read and channels:history, or "
        "groups:read and groups:history for a private channel, to check for an earlier post)"
    ),
    "invalid_token": "the incoming-webhook URL was rejected (check SLACK_WEBHOOK_URL)",
    "no_service": "the incoming-webhook URL was rejected (check SLACK_WEBHOOK_URL)",
}
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


class DeliveryError(Exception):
    """Slack did not take the message; the text is one line for the user and never holds a secret."""

    def __init__(self, line: str, *, transient: bool) -> None:
        super().__init__(line)
        self.line = line
        self.transient = transient


# -- escaping and limits --------------------------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Slack's three control characters as entities, so data never becomes a mention, a link or a command."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters with a pointer to the report, never inside an entity or a link."""
    if len(text) <= limit:
        return text
    note = TRUNCATED if limit > len(TRUNCATED) + 10 else "..."
    cut = text[: max(limit - len(note) - 1, 0)]
    cut = re.sub(r"&[a-z]{0,4}$", "", cut)  # half an &amp; / &lt; / &gt;
    if cut.rfind("<") > cut.rfind(">"):  # half of one of our own <url|label> links
        cut = cut[: cut.rfind("<")]
    return cut.rstrip() + "\n" + note


def _text_object(obj: dict[str, Any], limit: int) -> dict[str, Any]:
    out = dict(obj)
    out["text"] = _truncate(str(obj.get("text", "")), limit)
    return out


def enforce_limits(blocks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocks within Block Kit's limits; whatever is cut says so and points to the full report."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        block = dict(block)
        kind = block.get("type")
        if kind == "header":
            block["text"] = _text_object(block["text"], MAX_HEADER_TEXT)
        elif kind == "section":
            if "text" in block:
                block["text"] = _text_object(block["text"], MAX_SECTION_TEXT)
            if "fields" in block:
                fields = [_text_object(f, MAX_FIELD_TEXT) for f in block["fields"]]
                if len(fields) > MAX_FIELDS:
                    fields = fields[: MAX_FIELDS - 1] + [{"type": "mrkdwn", "text": TRUNCATED}]
                block["fields"] = fields
        elif kind == "context":
            elements = [_text_object(e, MAX_FIELD_TEXT) if "text" in e else e for e in block["elements"]]
            block["elements"] = elements[:MAX_CONTEXT_ELEMENTS]
        out.append(block)
    if len(out) > MAX_BLOCKS:
        out = out[: MAX_BLOCKS - 1] + [_section(TRUNCATED)]
    return out


# -- the message ------------------------------------------------------------------------------------------------------


class SlackMessage(BaseModel):
    """Everything one delivery posts: the main message, the thread reply with details, and the files."""

    flow: str
    period_key: str
    channel: str
    text: str = Field(description="Fallback text for notifications (escaped).")
    blocks: list[dict[str, Any]]
    thread_blocks: list[dict[str, Any]] = Field(default_factory=list, description="Details, posted in the thread.")
    files: list[Path] = Field(default_factory=list, description="Report and chart files to upload to the thread.")
    report_link: str | None = None

    def metadata(self, part: Literal["main", "details"]) -> dict[str, Any]:
        """Slack message metadata that names this delivery, so an earlier post can be found in the channel."""
        payload = {"flow": self.flow, "period": self.period_key, "channel_key": self.channel, "part": part}
        return {"event_type": EVENT_TYPE if part == "main" else DETAILS_EVENT_TYPE, "event_payload": payload}


EVENT_TYPE = "opsflow_report"
DETAILS_EVENT_TYPE = "opsflow_report_details"
LOOKUP_PAGES = 10  # conversations.history pages (of 200) searched for an earlier post
LOOKUP_MARGIN_SECONDS = 300  # search from this long before the first attempt: clocks differ


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _number(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else units.figure(value, unit)


def _headline_field(h: Headline) -> dict[str, Any]:
    window = f" ({h.window})" if h.window else ""
    line = f"*{escape_mrkdwn(h.label)}*\n{escape_mrkdwn(_number(h.value, h.unit) + window)}"
    change = h.change
    if change is not None and change != 0:
        arrow = "▲" if change > 0 else "▼"
        # The arrow says which way the figure moved; the word says whether that is good for this figure.
        verdict = "" if h.better == "neutral" else (" better" if (change > 0) == (h.better == "higher") else " worse")
        line += f"  {arrow} {escape_mrkdwn(units.change(change, h.unit))}{verdict}"
    return {"type": "mrkdwn", "text": line}


_URGENCY_LABEL = {Urgency.URGENT: "URGENT", Urgency.IMPORTANT: "important", Urgency.ON_RADAR: "on radar"}


def _focus_line(a: Action) -> str:
    who = f" ({escape_mrkdwn(a.owner)})" if a.owner else ""
    label = _URGENCY_LABEL.get(a.urgency, str(a.urgency))
    return f"• *{label}* {escape_mrkdwn(one_line(a.text))}{who}: {escape_mrkdwn(a.source)}"


def _link(url: str, label: str) -> str:
    # The URL comes from settings, but escape it anyway: a `>` or `|` must not end the link early.
    return f"<{escape_mrkdwn(url).replace('|', '%7C')}|{escape_mrkdwn(label)}>"


def markdown_to_mrkdwn(markdown: str) -> str:
    """Escaped Slack mrkdwn from report Markdown: headings and **bold** become *bold*; nothing else is parsed."""
    text = escape_mrkdwn(markdown)
    text = re.sub(r"^#{1,6}\s+(.+?)\s*#*$", r"*\1*", text, flags=re.MULTILINE)
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)


def _chunks(text: str, limit: int) -> list[str]:
    """Split text at paragraph (or line) boundaries into pieces of at most `limit` characters."""
    pieces: list[str] = []
    current = ""
    for para in re.split(r"(\n\s*\n)", text):
        if len(current) + len(para) <= limit:
            current += para
            continue
        if current.strip():
            pieces.append(current.strip("\n"))
        current = para if len(para) <= limit else ""
        while len(para) > limit:  # one huge paragraph: cut at line ends, else hard
            cut = para.rfind("\n", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(para[:cut])
            para = para[cut:].lstrip("\n")
            current = para if len(para) <= limit else ""
    if current.strip():
        pieces.append(current.strip("\n"))
    return pieces


def build_message(
    flow: str,
    title: str,
    period_key: str,
    headlines: list[Headline],
    focus: list[Action],
    report_link: str | None,
    details_md: str,
    files: list[Path],
    channel: str = "#ops",
    closing: str | None = None,
    covers: str | None = None,
) -> SlackMessage:
    """The Block Kit message of a report: header, what the data covers, headline figures as fields, the focus list, a
    link; details in the thread. Every data-derived string is escaped and every Block Kit limit holds."""
    context = f"{flow} · {period_key}" + (f" · {covers}" if covers else "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": escape_mrkdwn(title), "emoji": False}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(context)}]},
    ]
    fields = [_headline_field(h) for h in headlines]
    for start in range(0, len(fields), MAX_FIELDS):
        blocks.append({"type": "section", "fields": fields[start : start + MAX_FIELDS]})
    blocks.append({"type": "divider"})
    # Where to start comes first, then the list: the top-level message is one screen, the details go in the thread.
    lead = f"*{escape_mrkdwn(closing)}*\n" if closing else ""
    if focus:
        lines = [_focus_line(a) for a in focus[:MAX_FOCUS_ITEMS]]
        if len(focus) > MAX_FOCUS_ITEMS:
            lines.append(f"… and {len(focus) - MAX_FOCUS_ITEMS} more in the full report")
        blocks.append(_section(lead + "*What to do next*\n" + "\n".join(lines)))
    else:
        blocks.append(_section(lead + "*What to do next*\nNothing needs action this period."))
    if report_link:
        where = _link(report_link, "Open the full report")
    elif files:
        where = "The full report is attached in the thread."
    else:
        where = "The full report is saved with this run."
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": where}]})

    thread_blocks = [_section(piece) for piece in _chunks(markdown_to_mrkdwn(details_md), MAX_SECTION_TEXT)]
    first = ", ".join(f"{h.label} {_number(h.value, h.unit)}" for h in headlines[:3])
    summary = first or (closing or "")
    text = escape_mrkdwn(f"{title} ({period_key})" + (f": {summary}" if summary else ""))
    return SlackMessage(
        flow=flow,
        period_key=period_key,
        channel=channel,
        text=_truncate(text, MAX_FALLBACK_TEXT),
        blocks=enforce_limits(blocks),
        thread_blocks=enforce_limits(thread_blocks),
        files=list(files),
        report_link=report_link,
    )


def build_update_message(
    flow: str, title: str, period_key: str, text: str, channel: str, covers: str | None = None
) -> SlackMessage:
    """A short text update (the leadership update) as one Block Kit message: header, what the data covers, the text.
    The text is opsflow's own lines with data-derived parts; it is escaped like every other post."""
    context = f"{period_key}" + (f" · {covers}" if covers else "")
    body = markdown_to_mrkdwn(text)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": escape_mrkdwn(title), "emoji": False}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape_mrkdwn(context)}]},
        *[_section(piece) for piece in _chunks(body, MAX_SECTION_TEXT)],
    ]
    return SlackMessage(
        flow=flow,
        period_key=period_key,
        channel=channel,
        text=_truncate(escape_mrkdwn(f"{title} ({period_key})"), MAX_FALLBACK_TEXT),
        blocks=enforce_limits(blocks),
    )


# -- senders ----------------------------------------------------------------------------------------------------------


class Progress(BaseModel):
    """How far one delivery got, so a retry resumes instead of posting the main message again."""

    channel_id: str | None = None
    ts: str | None = None
    done: list[str] = Field(default_factory=list, description="Steps done: main, thread, files, webhook, file.")
    attempted: list[str] = Field(
        default_factory=list, description="Steps sent (or about to be) whose outcome is not known: check first."
    )
    started_at: float | None = Field(None, description="When the first post was attempted (Unix time).")
    payload_path: str | None = None
    error: str | None = None


class SlackSender(Protocol):
    """Posts a message; calls `on_step` after each step that Slack accepted."""

    kind: str

    def send(self, message: SlackMessage, progress: Progress, on_step: Callable[[Progress], None]) -> Progress: ...


class _AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """The SDK's server-error handler retries 500 and 503 only; a 502 or 504 from a proxy is as transient."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code <= 599


def retry_handlers(max_retries: int = 3, backoff_seconds: float = 0.5) -> list[RetryHandler]:
    """For calls that change nothing (lookups, upload URLs): 429 waits for Retry-After; 5xx, connection errors and
    timeouts back off exponentially."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_seconds)
    return [
        RateLimitErrorRetryHandler(max_retry_count=max_retries),
        _AnyServerErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff),
        ConnectionErrorRetryHandler(
            max_retry_count=max_retries,
            interval_calculator=backoff,
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
    ]


def post_retry_handlers(max_retries: int = 3) -> list[RetryHandler]:
    """For calls that post: only a 429 is retried by the SDK (Slack took nothing). A timeout, a dropped connection or
    a 5xx may have posted: the sender looks the message up before it posts again."""
    return [RateLimitErrorRetryHandler(max_retry_count=max_retries)]


def _same_metadata(message: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a message from conversations.history/.replies carries this delivery's metadata (Slack may add keys)."""
    got = message.get("metadata")
    if not isinstance(got, dict):
        return False
    return got.get("event_type") == wanted["event_type"] and got.get("event_payload") == wanted["event_payload"]


def _uncertain(exc: Exception) -> bool:
    """Whether Slack may have taken the request although the call failed: anything but a definite Slack answer."""
    if isinstance(exc, SlackApiError):
        return int(getattr(exc.response, "status_code", 200)) >= 500
    return not isinstance(exc, SlackClientError)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "Slack"


def _api_error(exc: Exception, step: str, channel: str, retries: int, host: str) -> DeliveryError:
    """One line from whatever the SDK raised; SDK messages are never copied (they can carry URLs)."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        data = getattr(exc.response, "data", None)
        error = str(data.get("error", "")) if isinstance(data, dict) else ""
        if status == 429 or error == "ratelimited":
            return DeliveryError(
                f"Slack delivery failed: ratelimited: {step} still rate limited after {retries} retries", transient=True
            )
        if status >= 500:
            return DeliveryError(
                f"Slack delivery failed: HTTP {status} from {step} after {retries} retries", transient=True
            )
        if error in PERMANENT_ERRORS:
            return DeliveryError(
                f"Slack delivery failed: {error}: " + PERMANENT_ERRORS[error].format(channel=channel), transient=False
            )
        safe = re.sub(r"[^a-z0-9_.]", "", error.lower())[:60] or f"HTTP {status}"
        return DeliveryError(f"Slack delivery failed: {safe} from {step}", transient=safe in TRANSIENT_ERRORS)
    if isinstance(exc, TimeoutError | URLError | ConnectionError | OSError):
        reason = "timed out" if isinstance(exc, TimeoutError) or "timed out" in str(exc) else type(exc).__name__
        return DeliveryError(
            f"Slack delivery failed: could not reach {host} ({reason}) after {retries} retries", transient=True
        )
    if isinstance(exc, SlackClientError):
        return DeliveryError(f"Slack delivery failed: {step}: {type(exc).__name__}", transient=False)
    return DeliveryError(f"Slack delivery failed: {step}: unexpected {type(exc).__name__}", transient=False)


class WebApiSender:
    """A bot token and the Web API: chat.postMessage with metadata, a thread reply with the details, files_upload_v2;
    each step checked in the channel (conversations.history / .replies) before it is repeated after an uncertain
    outcome."""

    kind = "web_api"

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        timeout: int = 30,
        max_retries: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        self._max_retries = max_retries
        self._backoff = backoff_seconds
        self._base_url = base_url or SLACK_API_URL
        self._client = WebClient(
            token=token,
            base_url=self._base_url,
            timeout=timeout,
            retry_handlers=retry_handlers(max_retries, backoff_seconds),
            logger=_SDK_LOG,
        )
        self._poster = WebClient(
            token=token,
            base_url=self._base_url,
            timeout=timeout,
            retry_handlers=post_retry_handlers(max_retries),
            logger=_SDK_LOG,
        )

    def __repr__(self) -> str:  # never the token
        return f"WebApiSender(base_url={_host(self._base_url)!r})"

    def _call(self, step: str, channel: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except DeliveryError:
            raise
        except Exception as exc:  # every SDK and network failure becomes one line
            raise _api_error(exc, step, channel, self._max_retries, _host(self._base_url)) from None

    def _once(
        self,
        step: str,
        api_step: str,
        channel: str,
        progress: Progress,
        on_step: Callable[[Progress], None],
        post: Callable[[], Any],
        find: Callable[[], Any],
    ) -> Any:
        """Run `post` so that Slack takes it once: recorded as attempted before it is sent; after an uncertain
        outcome (now or in a run that died) `find` looks for it first and only a miss posts again. Returns what
        `post` or `find` returned."""
        error: DeliveryError | None = None
        for attempt in range(self._max_retries + 1):
            if step in progress.attempted:
                found = self._call(f"{api_step} (checking for an earlier post)", channel, find)
                if found:
                    _log(logging.INFO, f"Slack: {api_step} to {channel} had arrived: not posted again")
                    return found
            else:
                progress.attempted.append(step)
                on_step(progress)  # in the history store before the request: a killed run knows to check
            try:
                return post()
            except Exception as exc:
                error = _api_error(exc, api_step, channel, self._max_retries, _host(self._base_url))
                if not _uncertain(exc):
                    raise error from None
            if attempt < self._max_retries:
                time.sleep(self._backoff * 2**attempt)
        assert error is not None
        raise error

    def _channel_id(self, channel: str, progress: Progress) -> str:
        """The channel's id (conversations.history needs it): known from an earlier answer, given, or looked up."""
        if progress.channel_id:
            return progress.channel_id
        if re.fullmatch(r"[CGD][A-Z0-9]{6,}", channel):
            return channel
        name = channel.lstrip("#")
        cursor = None
        for _ in range(LOOKUP_PAGES):
            page = self._client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=cursor
            )
            for c in page.get("channels") or []:
                if c.get("name") == name:
                    return str(c["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        raise DeliveryError(
            f"Slack delivery failed: could not check {channel} for an earlier post: no channel of that name is "
            "visible to the bot (give the channel's ID in opsflow.yaml)",
            transient=False,
        )

    def _find_main(self, message: SlackMessage, progress: Progress) -> dict[str, Any] | None:
        """The channel's message with this delivery's metadata, or None."""
        channel_id = self._channel_id(message.channel, progress)
        wanted = message.metadata("main")
        oldest = f"{(progress.started_at or 0) - LOOKUP_MARGIN_SECONDS:.6f}" if progress.started_at else None
        cursor = None
        for _ in range(LOOKUP_PAGES):
            page = self._client.conversations_history(
                channel=channel_id, include_all_metadata=True, limit=200, oldest=oldest, cursor=cursor
            )
            for m in page.get("messages") or []:
                if _same_metadata(m, wanted):
                    return {"channel": channel_id, "ts": m.get("ts")}
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None

    def _replies(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        for _ in range(LOOKUP_PAGES):
            page = self._client.conversations_replies(
                channel=channel_id, ts=ts, include_all_metadata=True, limit=200, cursor=cursor
            )
            out += [m for m in page.get("messages") or [] if m.get("ts") != ts]
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return out

    def send(self, message: SlackMessage, progress: Progress, on_step: Callable[[Progress], None]) -> Progress:
        progress = progress.model_copy(deep=True)
        channel = message.channel
        if "main" not in progress.done:
            progress.started_at = progress.started_at or time.time()
            response = self._once(
                "main",
                "chat.postMessage",
                channel,
                progress,
                on_step,
                lambda: self._poster.chat_postMessage(
                    channel=channel,
                    text=message.text,
                    blocks=message.blocks,
                    metadata=message.metadata("main"),
                    unfurl_links=False,
                    unfurl_media=False,
                ),
                lambda: self._find_main(message, progress),
            )
            progress.channel_id = str(response.get("channel") or channel)
            progress.ts = str(response.get("ts"))
            progress.done.append("main")
            on_step(progress)
        channel_id = progress.channel_id or channel
        ts = str(progress.ts)
        if message.thread_blocks and "thread" not in progress.done:
            details = message.metadata("details")
            self._once(
                "thread",
                "chat.postMessage (thread)",
                channel,
                progress,
                on_step,
                lambda: self._poster.chat_postMessage(
                    channel=channel_id,
                    thread_ts=ts,
                    text="Details",
                    blocks=message.thread_blocks,
                    metadata=details,
                    unfurl_links=False,
                    unfurl_media=False,
                ),
                lambda: any(_same_metadata(m, details) for m in self._replies(channel_id, ts)),
            )
            progress.done.append("thread")
            on_step(progress)
        if message.files and "files" not in progress.done:

            def missing() -> list[Path]:
                shared = {f.get("name") for m in self._replies(channel_id, ts) for f in m.get("files") or []}
                return [p for p in message.files if p.name not in shared]

            fresh = "files" not in progress.attempted

            def upload() -> Any:
                # After an uncertain upload, only the files that are not in the thread yet are uploaded again.
                nonlocal fresh
                paths, fresh = (list(message.files) if fresh else missing()), False
                uploads = [{"file": str(p), "filename": p.name, "title": p.name} for p in paths]
                return self._poster.files_upload_v2(file_uploads=uploads, channel=channel_id, thread_ts=ts)

            self._once("files", "files_upload_v2", channel, progress, on_step, upload, lambda: not missing())
            progress.done.append("files")
            on_step(progress)
        return progress


class WebhookSender:
    """An incoming webhook: one message into the webhook's channel; no thread and no files, so a link instead. A
    webhook's channel cannot be searched, so a post whose outcome is unknown is never sent again (at most once)."""

    kind = "webhook"

    def __init__(self, url: str, timeout: int = 30, max_retries: int = 3, backoff_seconds: float = 0.5) -> None:
        self._max_retries = max_retries
        self._client = WebhookClient(
            url=url, timeout=timeout, retry_handlers=post_retry_handlers(max_retries), logger=_SDK_LOG
        )
        self._host = _host(url)

    def __repr__(self) -> str:  # the webhook URL is a secret
        return f"WebhookSender(host={self._host!r})"

    @staticmethod
    def _unknown(why: str) -> DeliveryError:
        return DeliveryError(
            f"Slack delivery uncertain: the incoming webhook {why}, so the post may be in the channel; a webhook "
            "cannot be checked, so opsflow does not post it again (check the channel; a bot token allows checking)",
            transient=False,
        )

    def send(self, message: SlackMessage, progress: Progress, on_step: Callable[[Progress], None]) -> Progress:
        progress = progress.model_copy(deep=True)
        if "webhook" in progress.done:
            return progress
        if "webhook" in progress.attempted:
            raise self._unknown("did not confirm an earlier attempt")
        blocks = list(message.blocks)
        if message.thread_blocks or message.files:
            note = "Details and charts are in the full report" + (
                f": {_link(message.report_link, 'open it')}" if message.report_link else "."
            )
            blocks = blocks[:-1] + [{"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
        body = {"text": message.text, "blocks": enforce_limits(blocks), "unfurl_links": False, "unfurl_media": False}
        progress.attempted.append("webhook")
        on_step(progress)  # before the request: a run killed during it must not post again
        try:
            response = self._client.send_dict(body)
        except Exception as exc:
            if isinstance(exc, SlackApiError | SlackClientError) and not _uncertain(exc):
                raise _api_error(exc, "incoming webhook", message.channel, self._max_retries, self._host) from None
            timed_out = isinstance(exc, TimeoutError) or "timed out" in str(exc)
            raise self._unknown(f"did not answer ({'timed out' if timed_out else type(exc).__name__})") from None
        if response.status_code != 200:
            error = re.sub(r"[^a-z0-9_]", "", (response.body or "").strip().lower())[:60]
            status = response.status_code
            if status >= 500:
                raise self._unknown(f"answered HTTP {status}")
            progress.attempted.remove("webhook")  # a definite refusal: nothing was posted
            on_step(progress)
            if status == 429:
                raise DeliveryError(
                    f"Slack delivery failed: ratelimited from the incoming webhook after {self._max_retries} retries",
                    transient=True,
                )
            if error in PERMANENT_ERRORS:
                why = PERMANENT_ERRORS[error].format(channel="the webhook's channel")
                raise DeliveryError(f"Slack delivery failed: {error}: {why}", transient=False)
            raise DeliveryError(
                f"Slack delivery failed: HTTP {status} {error or 'error'} from the incoming webhook", transient=False
            )
        progress.done.append("webhook")
        on_step(progress)
        return progress


class FileSender:
    """No Slack configured: the exact payload goes next to the report and the log says so in one line."""

    kind = "file"

    def __init__(self, report_dir: Path, filename: str = PAYLOAD_FILE) -> None:
        self.path = report_dir / filename
        self._messages: dict[str, dict[str, Any]] = {}

    def send(self, message: SlackMessage, progress: Progress, on_step: Callable[[Progress], None]) -> Progress:
        progress = progress.model_copy(deep=True)
        self._messages[message.channel] = {
            "channel": message.channel,
            "chat.postMessage": {
                "channel": message.channel,
                "text": message.text,
                "blocks": message.blocks,
                "metadata": message.metadata("main"),
            },
            "thread_reply": {"text": "Details", "blocks": message.thread_blocks} if message.thread_blocks else None,
            "files_upload_v2": [p.name for p in message.files],
        }
        first = len(self._messages) == 1
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"messages": list(self._messages.values())}
        self.path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        if first:
            _log(logging.INFO, f"Slack is not configured: payload saved to {self.path}")
        progress.payload_path = str(self.path)
        progress.done.append("file")
        on_step(progress)
        return progress


def _secret_from_block(name: str | None) -> str | None:
    """The value of a Prefect Secret block, or None when there is no such block or no Prefect API to ask."""
    if not name:
        return None
    try:
        from prefect.blocks.system import Secret

        block: Any = Secret.load(name, _sync=True)  # type: ignore[call-arg]  # sync even inside async code
        value = block.get()
    except Exception as exc:  # missing block or no API: fall back to "not configured", say why without the value
        log.warning("Prefect Secret block %r could not be loaded (%s)", name, type(exc).__name__)
        return None
    return str(value) if value else None


def sender_from_settings(
    settings: Settings,
    report_dir: Path,
    *,
    token_block: str | None = None,
    webhook_block: str | None = None,
    payload_filename: str = PAYLOAD_FILE,
    timeout: int = 30,
    max_retries: int = 3,
) -> SlackSender:
    """Bot token (env, else Prefect Secret block) -> Web API; else webhook URL -> webhook; else the payload file."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    token = token or _secret_from_block(token_block or getattr(settings, "slack_token_block", None))
    if token:
        return WebApiSender(token, base_url=settings.slack_api_url, timeout=timeout, max_retries=max_retries)
    webhook = settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else None
    webhook = webhook or _secret_from_block(webhook_block or getattr(settings, "slack_webhook_block", None))
    if webhook:
        return WebhookSender(webhook, timeout=timeout, max_retries=max_retries)
    return FileSender(report_dir, payload_filename)


def _log(level: int, line: str) -> None:
    """To the Prefect run log inside a run, else to the module logger."""
    try:
        from prefect.logging import get_run_logger

        get_run_logger().log(level, line)
    except Exception:  # MissingContextError outside a run
        log.log(level, line)


# -- delivery ---------------------------------------------------------------------------------------------------------


class DeliveryResult(BaseModel):
    """What one delivery did."""

    flow: str
    period_key: str
    channel: str
    status: Literal["sent", "already delivered", "saved"]
    sender: str
    message_ts: str | None = None
    payload_path: str | None = None


def _progress_of(detail: str | None) -> Progress:
    if not detail:
        return Progress()
    try:
        return Progress.model_validate_json(detail)
    except ValueError:
        return Progress()


def deliver(message: SlackMessage, sender: SlackSender, history: HistoryStore, force: bool = False) -> DeliveryResult:
    """Post once per (flow, period, channel): a sent record means skip; a partial one resumes where it stopped."""
    key = (message.flow, message.period_key, message.channel)
    record = history.get_delivery(*key)
    if record is not None and record.status == "sent" and not force:
        _log(logging.INFO, f"Slack: {message.flow} {message.period_key} already delivered to {message.channel}")
        return DeliveryResult(
            flow=message.flow,
            period_key=message.period_key,
            channel=message.channel,
            status="already delivered",
            sender=sender.kind,
            message_ts=record.message_ts,
        )
    # Resume only a Slack delivery that got part of the way; a saved payload file is no delivery.
    progress = _progress_of(record.detail) if record is not None and record.status != "saved" and not force else None
    progress = progress or Progress()
    progress.error = None
    state = {"progress": progress}

    def on_step(p: Progress) -> None:
        state["progress"] = p
        history.record_delivery(*key, status="partial", message_ts=p.ts, detail=p.model_dump_json())

    history.record_delivery(*key, status="pending", message_ts=progress.ts, detail=progress.model_dump_json())
    try:
        progress = sender.send(message, progress, on_step)
    except DeliveryError as exc:
        failed = state["progress"].model_copy(update={"error": exc.line})
        history.record_delivery(*key, status="failed", message_ts=failed.ts, detail=failed.model_dump_json())
        _log(logging.ERROR, exc.line)
        raise
    status: Literal["sent", "saved"] = "saved" if sender.kind == "file" else "sent"
    history.record_delivery(*key, status=status, message_ts=progress.ts, detail=progress.model_dump_json())
    if status == "sent":
        _log(logging.INFO, f"Slack: {message.flow} {message.period_key} posted to {message.channel}")
    return DeliveryResult(
        flow=message.flow,
        period_key=message.period_key,
        channel=message.channel,
        status=status,
        sender=sender.kind,
        message_ts=progress.ts,
        payload_path=progress.payload_path,
    )


def channels_for(config: SlackConfig, flow: str, severities: Iterable[str] = ()) -> list[str]:
    """The flow's channel plus the channel of each severity present (e.g. SEV1 -> #incident-command), no repeats."""
    channels = [config.channel_for(flow)]
    for severity in severities:
        channel = config.severity_channels.get(severity)
        if channel and channel not in channels:
            channels.append(channel)
    return channels


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry rate limits, 5xx and timeouts; never a rejected token or a missing channel."""
    exc = state.data if isinstance(getattr(state, "data", None), BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as raised:
            exc = raised
    if isinstance(exc, DeliveryError):
        return exc.transient
    return True


deliver_task = io_task(deliver, name="deliver_report", retry_condition_fn=is_transient)


def publish_to_slack(
    flow: str,
    title: str,
    period_key: str,
    headlines: list[Headline],
    focus: list[Action],
    report_path: Path,
    details_md: str,
    history: HistoryStore,
    config: SlackConfig | None = None,
    files: list[Path] | None = None,
    severities: Iterable[str] = (),
    settings: Settings | None = None,
    sender: SlackSender | None = None,
    closing: str | None = None,
    covers: str | None = None,
) -> list[DeliveryResult]:
    """Call at the end of a flow, after the report is written: posts to each channel once (as Prefect tasks), and
    raises DeliveryError (so the flow run ends Failed saying delivery failed) if any channel did not take it."""
    settings = settings or get_settings()
    config = config or SlackConfig()
    link = f"{settings.report_base_url.rstrip('/')}/{report_path.name}" if settings.report_base_url else None
    uploads = [report_path, *(files or [])] if report_path.suffix == ".html" else list(files or [])
    sender = sender or sender_from_settings(settings, report_path.parent)
    results: list[DeliveryResult] = []
    failures: list[str] = []
    for channel in channels_for(config, flow, severities):
        message = build_message(
            flow, title, period_key, headlines, focus, link, details_md, uploads, channel=channel, closing=closing,
            covers=covers,
        )  # fmt: skip
        try:
            results.append(deliver_task(message, sender, history))
        except DeliveryError as exc:
            failures.append(exc.line)
    if failures:
        raise DeliveryError("; ".join(failures), transient=False)
    return results
