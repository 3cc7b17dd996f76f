"""Helpers for the sandbox tests: a webhook receiver playing Flowapp, polling, and send bodies."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "sandbox-test-token"
PHONE_NUMBER_ID = "1098765432101"
APP_SECRET = "sandbox-test-secret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def wait_for(condition: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll `condition` until it returns something truthy (and return that); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def text_body(to: str = "+16505551234", text: str = "Hello!", **extra: Any) -> dict:
    """A valid text send."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": text},
        **extra,
    }


def template_body(
    name: str, language: str = "en_US", components: list | None = None, to: str = "+16505551234"
):
    """A template send."""
    template: dict = {"name": name, "language": {"code": language}}
    if components is not None:
        template["components"] = components
    return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": template}


def body_params(*values: str) -> dict:
    """A template body component with text parameters."""
    return {"type": "body", "parameters": [{"type": "text", "text": value} for value in values]}


@dataclass
class Delivery:
    """One POST the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    """Flowapp's webhook endpoint, played by a ThreadingHTTPServer on 127.0.0.1.

    Answers 200 unless `statuses` holds HTTP statuses to answer first (one per request, in order).
    """

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/whatsapp"

    def record(self, delivery: Delivery) -> int:
        with self._lock:
            self.deliveries.append(delivery)
            return self.statuses.pop(0) if self.statuses else 200

    def statuses_of(self, wamid: str) -> list[dict]:
        """The status objects posted so far for `wamid`, in arrival order."""
        found = []
        for delivery in list(self.deliveries):
            for entry in delivery.json()["entry"]:
                for change in entry["changes"]:
                    found += [s for s in change["value"].get("statuses", ()) if s["id"] == wamid]
        return found

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_for(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without NODELAY, Nagle and the client's delayed
            # ACK hold the body back ~40 ms per webhook.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = receiver.record(Delivery(self.path, headers, body, time.time()))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
