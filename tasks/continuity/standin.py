"""Stand-in service endpoints on 127.0.0.1 to rehearse a drill against (tests use them too).

Each endpoint answers GET on any path with its current status after its current delay, and takes control POSTs that
a scenario's fault, recovery and rollback steps can call: /fail (answer 503), /recover (answer 200), /slow?ms=N.
Run `python -m tasks.continuity.standin 8801 8802` to serve the sample workspace's drill endpoints.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class EndpointState:
    """What the endpoint answers now, and every request it saw (method, path)."""

    status: int = 200
    delay_ms: float = 0.0
    requests: list[tuple[str, str]] = field(default_factory=list)


class StandInEndpoint:
    """One health endpoint on 127.0.0.1 (port 0: any free port), served from a background thread."""

    def __init__(self, status: int = 200, delay_ms: float = 0.0, port: int = 0) -> None:
        self.state = EndpointState(status=status, delay_ms=delay_ms)
        state = self.state
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                with lock:
                    state.requests.append(("GET", self.path))
                    status, delay = state.status, state.delay_ms
                if delay:
                    time.sleep(delay / 1000)
                self._answer(status, b"ok" if status < 400 else b"unavailable")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                parts = urlsplit(self.path)
                with lock:
                    state.requests.append(("POST", parts.path))
                    if parts.path == "/fail":
                        state.status = 503
                    elif parts.path == "/recover":
                        state.status, state.delay_ms = 200, 0.0
                    elif parts.path == "/slow":
                        state.delay_ms = float(parse_qs(parts.query).get("ms", ["1000"])[0])
                    else:
                        self._answer(404, b"unknown control")
                        return
                self._answer(200, b"done")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def posts(self) -> list[str]:
        """Paths of the control POSTs received, in order."""
        return [path for method, path in self.state.requests if method == "POST"]

    def start(self) -> StandInEndpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> StandInEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(ports: list[int]) -> None:
    """Serve healthy endpoints on the given ports until interrupted."""
    endpoints = [StandInEndpoint(port=p).start() for p in ports]
    print("Stand-in endpoints: " + ", ".join(e.url for e in endpoints) + " (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        for e in endpoints:
            e.stop()


if __name__ == "__main__":
    main([int(p) for p in sys.argv[1:]] or [8801, 8802])
