"""Just enough WSGI: a request wrapper and JSON answers, without a framework on the hot path."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from flowapp.sandbox.errors import GraphError

# status code -> status line, built once
STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}
JSON_TYPE = ("Content-Type", "application/json; charset=UTF-8")

# (HTTP status, body, headers)
Response = tuple[int, bytes, list[tuple[str, str]]]


class Request:
    """The parts of a WSGI environ the mock looks at, read lazily."""

    __slots__ = ("environ", "method", "path", "_body")

    def __init__(self, environ: dict) -> None:
        self.environ = environ
        self.method: str = environ["REQUEST_METHOD"]
        self.path: str = environ.get("PATH_INFO") or "/"
        self._body: bytes | None = None

    def body(self) -> bytes:
        """The raw request body."""
        if self._body is None:
            stream = self.environ["wsgi.input"]
            length = self.environ.get("CONTENT_LENGTH")
            if length:
                self._body = stream.read(int(length))
            elif self.environ.get("wsgi.input_terminated"):
                self._body = stream.read()
            else:
                self._body = b""
        return self._body

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not JSON."""
        return json.loads(self.body() or b"null")

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (the first value of each)."""
        pairs = parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return dict(reversed(pairs))

    @property
    def bearer(self) -> str:
        """The token of an `Authorization: Bearer` header, or ""."""
        header = self.environ.get("HTTP_AUTHORIZATION", "")
        return header[7:].strip() if header[:7].lower() == "bearer " else ""

    @property
    def base_url(self) -> str:
        """scheme://host[:port] the client used to reach the mock."""
        host = self.environ.get("HTTP_HOST") or f"{self.environ['SERVER_NAME']}:{self.environ['SERVER_PORT']}"
        return f"{self.environ.get('wsgi.url_scheme', 'http')}://{host}"


def json_response(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON answer."""
    return status, json.dumps(data, separators=(",", ":")).encode(), [JSON_TYPE, *(headers or ())]


def error_response(error: GraphError) -> Response:
    """Meta's error envelope for `error`, with Retry-After when it asks the client to wait."""
    headers = []
    if error.retry_after is not None:
        headers.append(("Retry-After", f"{error.retry_after:g}"))
    return json_response(error.status, error.body, headers)
