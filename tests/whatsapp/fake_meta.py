"""A tiny real HTTP server that plays Meta's Graph API for the client tests (no mocking libraries).

Routes are registered per test as (method, path) -> handler(request) -> Reply. Every request is
recorded, and a request without the expected Bearer token gets Meta's 401 / code 190 envelope.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_port: int

    def json(self) -> object:
        return json.loads(self.body)

    def form(self) -> dict[str, tuple[str | None, bytes]]:
        """multipart/form-data fields as name -> (filename, content)."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {
            part.get_param("name", header="content-disposition"): (
                part.get_filename(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        }


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)  # dict/list -> JSON; bytes -> as is; str -> text
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def graph_error(code: int, message: str, status: int = 400, details: str = "", **headers: str) -> Reply:
    """Meta's error envelope."""
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return Reply(status, {"error": error}, dict(headers))


class FakeMeta:
    """The server: start() in a thread, register routes, read `requests`, close() at the end."""

    def __init__(self, token: str = "TEST-TOKEN"):
        self.token = token
        self.requests: list[Request] = []
        self.routes: dict[tuple[str, str], Callable[[Request], Reply]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Callable[[Request], Reply] | Reply) -> None:
        self.routes[(method, path)] = handler if callable(handler) else (lambda _request: handler)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, request: Request) -> Reply:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token", status=401)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return graph_error(100, f"Unsupported {request.method.lower()} request.", status=400)
        return handler(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Meta

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (keep test output quiet)
        return

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=parts.path,
            query={key: values[-1] for key, values in parse_qs(parts.query).items()},
            headers={key.lower(): value for key, value in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            client_port=self.client_address[1],
        )
        reply = self.server.fake.answer(request)  # type: ignore[attr-defined]
        if reply.delay:
            threading.Event().wait(reply.delay)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        body, content_type = reply.body, "application/json"
        if isinstance(body, bytes):
            content_type = reply.headers.get("Content-Type", "application/octet-stream")
        elif isinstance(body, str):
            body, content_type = body.encode(), "text/html"
        else:
            body = json.dumps(body).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                if name.lower() not in ("content-type", "content-length"):
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout tests)
