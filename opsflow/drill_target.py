"""A small local service the sample's drill can really break: an HTTP health endpoint on 127.0.0.1 in its own
process, and the actions a Chaos Toolkit experiment calls to stop and start it (python providers).

The drill starts it itself (`launch`), the experiment's method stops the process (a real fault: the port refuses
connections), the declared recovery starts it again, and the drill stops it when it is over (`shutdown`). Its state
(port, pid) lives in a folder the drill names, so nothing else on the machine is touched.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT_SECONDS = 10.0


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = b'{"status": "ok"}' if self.path == "/health" else b'{"status": "not found"}'
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        return  # quiet: the drill's own log says what happened


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _port(state: Path) -> int:
    return int((state / "port").read_text(encoding="utf-8"))


def _pid(state: Path) -> int | None:
    path = state / "pid"
    return int(path.read_text(encoding="utf-8")) if path.is_file() else None


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def launch(state_dir: str) -> str:
    """Start the target on a free port of 127.0.0.1, recording its state in `state_dir`; its base URL."""
    state = Path(state_dir)
    state.mkdir(parents=True, exist_ok=True)
    (state / "port").write_text(str(_free_port()), encoding="utf-8")
    start(state_dir)
    return f"http://{HOST}:{_port(state)}"


def start(state_dir: str) -> dict[str, int]:
    """Start the target's process on its recorded port and wait until it answers (the recovery action)."""
    state = Path(state_dir)
    port = _port(state)
    process = subprocess.Popen(
        [sys.executable, "-m", "opsflow.drill_target", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C of the drill is not the fault; the drill stops it itself
    )
    (state / "pid").write_text(str(process.pid), encoding="utf-8")
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the drill target did not start on {HOST}:{port}")
        time.sleep(0.05)
    return {"pid": process.pid, "port": port}


def stop(state_dir: str) -> dict[str, int | None]:
    """Stop the target's process (the fault): its port then refuses connections."""
    state = Path(state_dir)
    pid = _pid(state)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
            _wait_gone(pid)
        except ProcessLookupError:
            pass
        (state / "pid").unlink(missing_ok=True)
    return {"pid": pid}


def ensure_running(state_dir: str) -> dict[str, int]:
    """Start the target unless it answers already (a rollback: safe to run whatever state the drill left)."""
    port = _port(Path(state_dir))
    return {"pid": _pid(Path(state_dir)) or 0, "port": port} if _answers(port) else start(state_dir)


def shutdown(state_dir: str) -> None:
    """Stop the target once the drill is over: the drill leaves nothing running."""
    if (Path(state_dir) / "port").is_file():
        stop(state_dir)


def _wait_gone(pid: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished == pid:
                return
        except ChildProcessError:  # not our child (started by another call): poll for it instead
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="opsflow's local drill target: GET /health answers 200.")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((HOST, args.port), _Health)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
