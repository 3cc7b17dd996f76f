"""Request ids, timing and security headers, as WSGI middleware around the Flask app.

Every request gets an id (a proxy's X-Request-ID when it is safe to echo, else a new one) that
appears on each log line it produces and in the response; its line in api.log carries method,
path, status and duration (the original design's performance log). The security headers are added
here too. Done at the WSGI level, not as Flask hooks: it runs for every request, including ones
Flask rejects early, and costs a fraction of Flask's header handling on the hot webhook path.
"""

from __future__ import annotations

import logging
import os
import re
import time

from flowapp.logs import request_id_var

log = logging.getLogger("flowapp.http")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestMiddleware:
    """Wraps a WSGI app: request id, security headers, one log line per request."""

    def __init__(self, app, headers: dict[str, str], slow_ms: int):
        self.app = app
        self.headers = [(name, value) for name, value in headers.items()]
        self.lower_names = {name.lower() for name in headers}
        self.slow_ms = slow_ms

    def __call__(self, environ, start_response):
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _VALID_ID.match(incoming) else os.urandom(16).hex()
        environ["flowapp.request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()

        def start(status, response_headers, exc_info=None):
            present = {name.lower() for name, _ in response_headers}
            response_headers.append(("X-Request-ID", request_id))
            response_headers.extend(h for h in self.headers if h[0].lower() not in present)
            self._log(environ, status, started)
            return start_response(status, response_headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            request_id_var.reset(token)

    def _log(self, environ, status: str, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        code = int(status[:3])
        level = logging.INFO
        if code >= 500:
            level = logging.ERROR
        elif elapsed_ms > self.slow_ms:
            level = logging.WARNING
        if log.isEnabledFor(level):
            # The path only, never the query string: it may carry a verify token.
            log.log(
                level,
                "%s %s %s %.1fms",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                code,
                elapsed_ms,
            )


def current_request_id() -> str:
    return request_id_var.get()
