"""The HTTP request node's call: made by a worker, outside any transaction, refusing private targets.

The engine refuses bad schemes and private IP literals; here the host name is resolved and every
address it resolves to is checked too (a public name pointing at 127.0.0.1 or the cloud metadata
address is refused), and redirects are not followed (a redirect could lead inside as well).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from urllib.parse import urlsplit

import requests

from flowapp import engine, transactions
from flowapp.engine.urls import is_internal

MAX_TIMEOUT = 30.0
MAX_RESPONSE_BYTES = 1024 * 1024


def call(request: dict, *, allow_private: bool = False) -> dict:
    """Perform the request; returns the engine's http_result data {"status", "json", "error"}."""
    url = str(request.get("url", ""))
    problem = refusal(url, allow_private)
    if problem:
        return {"status": None, "json": None, "error": problem}
    timeout = min(float(request.get("timeout") or 10), MAX_TIMEOUT)
    transactions.check_outbound(urlsplit(url).netloc or url)
    body = request.get("body")
    kwargs = {"json": body} if isinstance(body, (dict, list)) else {"data": body.encode() if body else None}
    try:
        with requests.request(
            str(request.get("method", "GET")).upper(),
            url,
            headers={str(k): str(v) for k, v in (request.get("headers") or {}).items()},
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            stream=True,
            **kwargs,
        ) as response:
            content = response.raw.read(MAX_RESPONSE_BYTES + 1, decode_content=True)
            status = response.status_code
    except requests.RequestException as exc:
        return {"status": None, "json": None, "error": f"{type(exc).__name__}: {exc}"[:500]}
    if len(content) > MAX_RESPONSE_BYTES:
        return {"status": status, "json": None, "error": "the response is larger than 1 MB"}
    return {
        "status": status,
        "json": _json(content),
        "error": None if 200 <= status < 300 else f"HTTP {status}",
    }


def refusal(url: str, allow_private: bool = False) -> str | None:
    """Why `url` may not be called (a bad scheme, a private address literal, or a host name that
    resolves to one), or None. Also used by knowledge bases to fetch a page once."""
    return engine.check_url(url, allow_private) or (None if allow_private else _private_target(url))


def _json(content: bytes):
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _private_target(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if is_internal(address):
            return f"{host} resolves to {address}, a private address (allow it with HTTP_ALLOW_PRIVATE)"
    return None
