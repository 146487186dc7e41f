"""A stand-in Slack Web API and incoming webhook on 127.0.0.1 that the real slack_sdk clients talk to in tests."""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "xoxb-standin-0000-SECRET-bot-token"
WEBHOOK_PATH = "/services/T000/B000/standinWEBHOOKsecret"
CHANNELS = {"#ops": "C0OPS", "#ops-leadership": "C0LEAD", "#ops-alerts": "C0ALERT", "#incident-command": "C0SEV1"}
MEMBER_OF = {"C0OPS", "C0LEAD", "C0ALERT", "C0SEV1"}

FAULTS = {"ratelimited", "server_error", "invalid_auth", "channel_not_found", "not_in_channel", "slow", "late", "drop"}
STORING_FAULTS = {"late", "drop"}
"""Faults that take the message first (as Slack did) and then fail the reply: `late` answers after `seconds`, when
the client has given up; `drop` closes the connection without an answer."""
BLOCK_TYPES = {"header", "section", "context", "divider", "actions", "image", "rich_text"}


def block_problems(blocks: Any) -> list[str]:
    """What breaks Block Kit's shape or limits in `blocks` (empty when Slack would accept them)."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems: list[str] = []
    if len(blocks) > 50:
        problems.append(f"{len(blocks)} blocks (max 50)")
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_TYPES:
            problems.append(f"block {i}: unknown type {kind!r}")
            continue
        if kind == "header":
            text = block.get("text", {})
            if text.get("type") != "plain_text":
                problems.append(f"block {i}: header text must be plain_text")
            if len(text.get("text", "")) > 150:
                problems.append(f"block {i}: header longer than 150")
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"block {i}: section without text or fields")
            if len(block.get("text", {}).get("text", "")) > 3000:
                problems.append(f"block {i}: section text longer than 3000")
            fields = block.get("fields", [])
            if len(fields) > 10:
                problems.append(f"block {i}: {len(fields)} fields (max 10)")
            if any(len(f.get("text", "")) > 2000 for f in fields):
                problems.append(f"block {i}: a field longer than 2000")
        elif kind == "context" and len(block.get("elements", [])) > 10:
            problems.append(f"block {i}: more than 10 context elements")
    return problems


def texts(payload: Any) -> list[str]:
    """Every string value in a payload (text, blocks, fields...), to search for unescaped control sequences."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [t for v in payload.values() for t in texts(v)]
    if isinstance(payload, list):
        return [t for v in payload for t in texts(v)]
    return []


# A mention (<!channel>, <!here>, <@U1>, <#C1>) or a link (<https://...|...>) Slack would act on.
CONTROL = re.compile(r"<[!@#]|<(?:https?|mailto):", re.IGNORECASE)


@dataclass
class Recorded:
    """One request the stand-in received."""

    path: str
    method: str
    headers: dict[str, str]
    body: Any
    status: int
    response: Any = None


@dataclass
class _Fault:
    kind: str
    method: str | None
    retry_after: int
    seconds: float
    skip: int = 0


@dataclass
class SlackStandIn:
    """Start with `with SlackStandIn() as slack:`; point the SDK at `slack.api_url` or `slack.webhook_url`."""

    token: str = TOKEN
    channels: dict[str, str] = field(default_factory=lambda: dict(CHANNELS))
    member_of: set[str] = field(default_factory=lambda: set(MEMBER_OF))
    requests: list[Recorded] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """What each channel (by id) holds: every accepted message, thread replies and file shares included."""
    _filenames: dict[str, str] = field(default_factory=dict)
    _stored: threading.Condition = field(default_factory=threading.Condition)
    _last_ts: float = 0.0
    _faults: list[_Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    # -- control ----------------------------------------------------------------------------------------------------

    def fail_next(
        self,
        kind: str,
        times: int = 1,
        method: str | None = None,
        retry_after: int = 1,
        seconds: float = 2.0,
        skip: int = 0,
    ) -> None:
        """Answer the next `times` calls (of `method`, or any) with a fault: ratelimited (429 + Retry-After),
        server_error (500), invalid_auth, channel_not_found, not_in_channel, slow (sleep `seconds`, then 503 without
        taking the message), late (take the message, answer after `seconds`) or drop (take the message, close the
        connection without an answer). `skip` lets that many matching calls through first (the thread reply is the
        second chat.postMessage)."""
        assert kind in FAULTS, kind
        with self._lock:
            self._faults.extend(_Fault(kind, method, retry_after, seconds, skip) for _ in range(times))

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for i, fault in enumerate(self._faults):
                if fault.method in (None, method):
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    return self._faults.pop(i)
        return None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/"

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    def calls(self, method: str, ok_only: bool = True) -> list[Recorded]:
        """Recorded calls of one API method (`chat.postMessage`, `webhook`...), accepted ones by default."""
        return [
            r for r in self.requests if r.method == method and (not ok_only or (r.status == 200 and _ok(r.response)))
        ]

    def posts(self) -> list[dict[str, Any]]:
        """Accepted chat.postMessage bodies whose answer reached the client (see `stored` for all that were kept)."""
        return [r.body for r in self.calls("chat.postMessage")]

    def stored(self, channel_id: str | None = None, top_level: bool = True) -> list[dict[str, Any]]:
        """The messages the stand-in keeps (whether or not the client got the answer): top-level ones by default."""
        with self._lock:
            held = [m for cid, ms in self.messages.items() if channel_id in (None, cid) for m in ms]
        return [m for m in held if not top_level or "thread_ts" not in m]

    def wait_for_stored(self, count: int, timeout: float = 30.0) -> bool:
        """Block until `count` messages (replies included) are stored; False on timeout."""
        with self._stored:
            return self._stored.wait_for(lambda: sum(len(v) for v in self.messages.values()) >= count, timeout)

    def __enter__(self) -> SlackStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                standin._handle(self)

            def do_GET(self) -> None:  # conversations.history and .replies are GETs in slack_sdk
                standin._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # -- handling ---------------------------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        split = urlsplit(h.path)
        path = split.path
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        headers = dict(h.headers.items())
        content_type = h.headers.get("Content-Type", "")
        body: Any
        if path.startswith("/upload/"):
            body = raw
        elif "json" in content_type:
            body = json.loads(raw or b"{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()}
        if split.query and isinstance(body, dict):
            body.update({k: v[0] for k, v in parse_qs(split.query).items()})

        after: _Fault | None = None
        if path.startswith("/api/"):
            method = path.removeprefix("/api/")
            status, extra_headers, response, after = self._api(method, headers, body)
        elif path.startswith("/upload/"):
            method = "upload"
            self.uploads[path.removeprefix("/upload/")] = raw
            status, extra_headers, response = 200, {}, f"OK - {len(raw)}"
        elif path.startswith("/services/"):
            method = "webhook"
            status, extra_headers, response, after = self._webhook(path, body)
        else:
            method = "unknown"
            status, extra_headers, response = 404, {}, "not found"
        if after is not None and after.kind == "drop":
            with self._lock:
                self.requests.append(Recorded(path, method, headers, body, 0, "dropped"))
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if after is not None:  # late: the message is stored, the answer comes after the client gave up
            time.sleep(after.seconds)
        with self._lock:
            self.requests.append(Recorded(path, method, headers, body, status, response))
        data = json.dumps(response).encode() if isinstance(response, dict) else str(response).encode()
        try:
            h.send_response(status)
            h.send_header(
                "Content-Type", "application/json; charset=utf-8" if isinstance(response, dict) else "text/plain"
            )
            for k, v in extra_headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        except OSError:  # the client timed out and left
            pass

    def _fault_response(self, fault: _Fault, webhook: bool) -> tuple[int, dict[str, str], Any]:
        if fault.kind == "slow":
            # The client has given up by now; answer an error so the late request never counts as a post.
            time.sleep(fault.seconds)
            return 503, {}, "too late"
        if fault.kind == "ratelimited":
            body: Any = "rate_limited" if webhook else {"ok": False, "error": "ratelimited"}
            return 429, {"Retry-After": str(fault.retry_after)}, body
        if fault.kind == "server_error":
            return 500, {}, "<html>Internal Server Error</html>"
        if webhook:
            status = {"invalid_auth": 403, "channel_not_found": 404, "not_in_channel": 403}[fault.kind]
            return status, {}, "invalid_token" if fault.kind == "invalid_auth" else fault.kind
        return 200, {}, {"ok": False, "error": fault.kind}

    def _api(self, method: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any, _Fault | None]:
        fault = self._take_fault(method)
        if fault is not None and fault.kind not in STORING_FAULTS:
            return (*self._fault_response(fault, webhook=False), None)
        status, extra, response = self._api_answer(method, headers, body)
        return status, extra, response, fault

    def _new_ts(self) -> str:
        """A message ts as Slack makes it: the Unix time in microseconds, unique in the stand-in."""
        with self._lock:
            self._last_ts = max(time.time(), self._last_ts + 1e-6)
            return f"{self._last_ts:.6f}"

    def _store(self, channel_id: str, message: dict[str, Any]) -> None:
        with self._lock:
            self.messages.setdefault(channel_id, []).append(message)
        with self._stored:
            self._stored.notify_all()

    def _api_answer(self, method: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        auth = headers.get("Authorization", "")
        if not auth:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if auth != f"Bearer {self.token}":
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if method == "chat.postMessage":
            channel_id = self._channel_id(body.get("channel"))
            if channel_id is None:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            if channel_id not in self.member_of:
                return 200, {}, {"ok": False, "error": "not_in_channel"}
            if not body.get("text") and not body.get("blocks"):
                return 200, {}, {"ok": False, "error": "no_text"}
            blocks = body.get("blocks")
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            if blocks is not None and block_problems(blocks):
                return 200, {}, {"ok": False, "error": "invalid_blocks", "errors": block_problems(blocks)}
            metadata = body.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            if metadata is not None and not (
                isinstance(metadata, dict)
                and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)
            ):
                return 200, {}, {"ok": False, "error": "invalid_metadata_format"}
            ts = self._new_ts()
            message: dict[str, Any] = {"type": "message", "ts": ts, "text": body.get("text"), "bot_id": "B0OPS"}
            if blocks is not None:
                message["blocks"] = blocks
            if metadata is not None:
                message["metadata"] = metadata
            if body.get("thread_ts"):
                message["thread_ts"] = str(body["thread_ts"])
            self._store(channel_id, message)
            return 200, {}, {"ok": True, "channel": channel_id, "ts": ts, "message": {"text": body.get("text")}}
        if method == "conversations.list":
            channels = [{"id": cid, "name": name.lstrip("#")} for name, cid in self.channels.items()]
            return 200, {}, {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
        if method in ("conversations.history", "conversations.replies"):
            channel_id = self._channel_id(body.get("channel"))
            if channel_id is None or not str(channel_id).startswith("C"):
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            with_metadata = str(body.get("include_all_metadata", "")).lower() in ("1", "true")
            with self._lock:
                held = [dict(m) for m in self.messages.get(channel_id, [])]
            if method == "conversations.history":
                picked = [m for m in held if "thread_ts" not in m]
            else:
                root = str(body.get("ts"))
                picked = [m for m in held if m["ts"] == root or m.get("thread_ts") == root]
            oldest = float(body.get("oldest") or 0)
            picked = [m for m in picked if float(m["ts"]) > oldest]
            if method == "conversations.history":
                picked.reverse()  # newest first, as Slack answers
            if not with_metadata:
                for m in picked:
                    m.pop("metadata", None)
            start = int(body.get("cursor") or 0)
            limit = int(body.get("limit") or 100)
            page = picked[start : start + limit]
            next_cursor = str(start + limit) if start + limit < len(picked) else ""
            answer = {"ok": True, "messages": page, "has_more": bool(next_cursor)}
            return 200, {}, answer | {"response_metadata": {"next_cursor": next_cursor}}
        if method == "files.getUploadURLExternal":
            if not body.get("filename") or not str(body.get("length", "")).isdigit():
                return 200, {}, {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):08d}"
            self._filenames[file_id] = str(body["filename"])
            return 200, {}, {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(body.get("files", "[]"))
            channel_id = self._channel_id(body["channel_id"]) if body.get("channel_id") else None
            if body.get("channel_id") and channel_id is None:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            if any(f.get("id") not in self.uploads for f in files):
                return 200, {}, {"ok": False, "error": "file_not_found"}
            shared = [{"id": f["id"], "name": self._filenames.get(f["id"]), "title": f.get("title")} for f in files]
            if channel_id is not None:
                share: dict[str, Any] = {"type": "message", "ts": self._new_ts(), "files": shared}
                if body.get("thread_ts"):
                    share["thread_ts"] = str(body["thread_ts"])
                self._store(channel_id, share)
            return 200, {}, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return 200, {}, {"ok": False, "error": "unknown_method"}

    def _webhook(self, path: str, body: Any) -> tuple[int, dict[str, str], Any, _Fault | None]:
        fault = self._take_fault("webhook")
        if fault is not None and fault.kind not in STORING_FAULTS:
            return (*self._fault_response(fault, webhook=True), None)
        if path != WEBHOOK_PATH:
            return 404, {}, "no_service", None
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return 400, {}, "no_text", None
        if "blocks" in body and block_problems(body["blocks"]):
            return 400, {}, "invalid_blocks", None
        self._store("webhook", {"type": "message", "ts": self._new_ts(), "text": body["text"]})
        return 200, {}, "ok", fault

    def _channel_id(self, channel: Any) -> str | None:
        if channel in self.channels.values():
            return str(channel)
        return self.channels.get(str(channel))


def _ok(response: Any) -> bool:
    return response == "ok" or (isinstance(response, dict) and bool(response.get("ok"))) or isinstance(response, str)
