"""Serving the mock over HTTP: MockServer runs it in a background thread for tests and scripts."""

from __future__ import annotations

import threading

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from flowapp.sandbox.app import MockGraphAPI
from flowapp.sandbox.config import MockConfig
from flowapp.sandbox.httpd import KeepAliveServer


class QuietHandler(WSGIRequestHandler):
    """No access log: a line per request would cost more than answering it."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log line."""


def make_server(
    app: MockGraphAPI, host: str, port: int, threads: int = 0, engine: str = "keepalive"
) -> KeepAliveServer | ThreadedWSGIServer:
    """An HTTP server for `app` (call serve_forever, then shutdown and server_close).

    engine "keepalive" (default): the lean keep-alive server of httpd.py, at most `threads`
    connections at once when threads > 0. engine "werkzeug": werkzeug's threaded development
    server, which closes every connection (about four times the mock's CPU per request).
    """
    if engine == "werkzeug":
        return ThreadedWSGIServer(host, port, app, QuietHandler)
    if engine != "keepalive":
        raise ValueError(f"unknown server engine {engine!r}")
    return KeepAliveServer(host, port, app, threads)


class ThreadServed:
    """An app (with a close() that wakes its held requests) served on 127.0.0.1 in a daemon thread:
    start(), stop(), and a context manager. The mock and the fake model both use it."""

    thread_name = "sandbox-server"

    def __init__(self, app, host: str, port: int, engine: str = "keepalive") -> None:
        self.app = app
        self._server = make_server(app, host, port, engine=engine)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    def start(self):
        """Serve in a daemon thread; returns self."""
        # A short poll interval makes stop() quick (serve_forever checks for shutdown between polls).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake the app's held requests (and its own threads), close the socket."""
        self.app.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class MockServer(ThreadServed):
    """The mock on 127.0.0.1 in a background thread, for tests and scripts.

    with MockServer(MockConfig(token="t")) as mock:
        requests.post(f"{mock.url}/v25.0/123/messages", ...)
    """

    def __init__(
        self,
        config: MockConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        engine: str = "keepalive",
    ) -> None:
        super().__init__(MockGraphAPI(config or MockConfig()), host, port, engine)
