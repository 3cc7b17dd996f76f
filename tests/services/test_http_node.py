"""The HTTP request node's call: private targets refused after DNS resolution, redirects not followed."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flowapp.services import http_node


@pytest.fixture
def server():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                self.end_headers()
                return
            self.send_response(200 if self.path == "/ok" else 500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"received": true}')

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_loopback_is_refused_by_default(server):
    """127.0.0.1 is refused unless private addresses are allowed."""
    result = http_node.call({"method": "POST", "url": f"{server}/ok", "body": {"a": 1}})
    assert result["status"] is None and "internal address 127.0.0.1" in result["error"]


def test_name_resolving_to_loopback_is_refused():
    """A host NAME that resolves to a loopback address is refused too (checked after resolution)."""
    result = http_node.call({"method": "GET", "url": "http://localhost.localdomain:9/x"})
    assert result["status"] is None and ("private" in result["error"] or "localhost" in result["error"])


def test_allowed_private_call_returns_status_and_json(server):
    """With private addresses allowed, the status and the JSON body come back."""
    result = http_node.call({"method": "POST", "url": f"{server}/ok", "body": {"a": 1}}, allow_private=True)
    assert result == {"status": 200, "json": {"received": True}, "error": None}
    failed = http_node.call({"method": "POST", "url": f"{server}/boom"}, allow_private=True)
    assert failed["status"] == 500 and failed["error"] == "HTTP 500"


def test_redirects_are_not_followed(server):
    """A redirect (which could point inside, e.g. at a metadata service) is returned, not followed."""
    result = http_node.call({"method": "POST", "url": f"{server}/redirect"}, allow_private=True)
    assert result["status"] == 302


def test_unreachable_host_is_a_failure_not_a_crash():
    """A closed port gives an error result."""
    result = http_node.call({"method": "GET", "url": "http://127.0.0.1:9/"}, allow_private=True)
    assert result["status"] is None and "ConnectionError" in result["error"]
