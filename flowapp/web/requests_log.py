"""A request id and the duration on every request line (the original design's performance log)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, current_app, g, request

from flowapp.logs import request_id_var

log = logging.getLogger("flowapp.http")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.teardown_request(_reset)


def _start() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    # Accept a proxy's id only when it is harmless to echo into logs and headers.
    g.request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    g.request_id_token = request_id_var.set(g.request_id)


def _finish(response):
    started = g.get("request_started")
    if started is None:
        return response
    elapsed_ms = (time.perf_counter() - started) * 1000
    response.headers["X-Request-ID"] = g.request_id
    level = logging.INFO
    if response.status_code >= 500:
        level = logging.ERROR
    elif elapsed_ms > current_app.config["SLOW_REQUEST_MS"]:
        level = logging.WARNING
    # The path only, never the query string: it may carry a verify token.
    log.log(level, "%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed_ms)
    return response


def _reset(_exc=None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        request_id_var.reset(token)
