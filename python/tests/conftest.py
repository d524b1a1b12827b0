"""Shared pieces of the example suite: where the repository's audio is, and a local
receiver for icu callbacks. The `asr_mock` fixture itself comes from the installed
package's pytest plugin, not from here."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

REPO = Path(__file__).resolve().parents[2]
AUDIO = REPO / "mock-server" / "tests" / "fixtures" / "audio"
TOKENS = Path(__file__).resolve().parent / "data" / "tokens.toml"

#: Callbacks the receiver keeps; more is a bug in the test.
_MAX_CALLBACKS = 100
_MAX_BODY = 1 << 20


class CallbackReceiver:
    """An HTTP server on 127.0.0.1 that records each POSTed form and acknowledges it the way
    the icu provider expects (`{"code":0,"message":"success"}`)."""

    def __init__(self) -> None:
        self.received: List[Dict[str, str]] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(min(length, _MAX_BODY)).decode("utf-8")
                form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
                with receiver._arrived:
                    if len(receiver.received) < _MAX_CALLBACKS:
                        receiver.received.append(form)
                    receiver._arrived.notify_all()
                answer = json.dumps({"code": 0, "message": "success"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/icu-callback"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> List[Dict[str, str]]:
        """Blocks until `count` callbacks arrived (the simulator sends them on real time
        once a task ends, even under a manual clock); fails the test after `timeout`."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                pytest.fail(f"{count} callback(s) expected within {timeout} s, got {self.received!r}")
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    yield receiver
    receiver.close()
