"""Serving the mock: the keep-alive server, werkzeug's, the CLI process, gunicorn's entry point, layering."""

from __future__ import annotations

import ast
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import requests

from flowapp.sandbox import MockConfig, MockServer
from flowapp.sandbox.app import MockGraphAPI
from flowapp.sandbox.httpd import KeepAliveServer
from flowapp.sandbox.wsgi import create_from_env
from tests.sandbox.helpers import AUTH, PHONE_NUMBER_ID, text_body, wait_for

SANDBOX = Path(__file__).resolve().parents[2] / "flowapp" / "sandbox"
FORBIDDEN = (
    "flask",
    "sqlalchemy",
    "rq",
    "redis",
    "flowapp.web",
    "flowapp.models",
    "flowapp.services",
    "flowapp.jobs",
    "flowapp.extensions",
)


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_connections_are_kept_alive(mock):
    """Several requests travel over one connection, none answered with Connection: close."""
    connection = http.client.HTTPConnection("127.0.0.1", int(mock.url.rsplit(":", 1)[1]), timeout=5)
    try:
        for _ in range(3):
            body = json.dumps(text_body())
            connection.request(
                "POST",
                f"/v25.0/{PHONE_NUMBER_ID}/messages",
                body,
                {**AUTH, "Content-Type": "application/json"},
            )
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["messages"]
            assert response.getheader("Connection") is None
        assert connection.sock is not None  # still the first socket
    finally:
        connection.close()


def test_http10_chunked_and_continue(mock):
    """HTTP/1.0 gets its answer and a close; chunked bodies get 411; Expect: 100-continue works."""
    port = int(mock.url.rsplit(":", 1)[1])
    answer = raw_exchange(port, b"GET /_mock/config HTTP/1.0\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in answer
    chunked = b"POST /_mock/reset HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert raw_exchange(port, chunked).startswith(b"HTTP/1.1 411")
    body = b'{"latency_ms": 0}'
    head = (
        "POST /_mock/config HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    answer = raw_exchange(port, head.encode() + body)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")


def test_connection_limit_queues_the_extra_connection():
    """With max_connections=1 a second connection is served only once the first one closes."""
    app = MockGraphAPI(MockConfig())
    server = KeepAliveServer("127.0.0.1", 0, app, max_connections=1)
    serving = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    serving.start()
    first = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=5)
    try:
        first.request("GET", "/_mock/config")
        assert first.getresponse().read()
        answers: list[int] = []
        second = threading.Thread(
            target=lambda: answers.append(
                requests.get(f"http://127.0.0.1:{server.server_port}/_mock/stats", timeout=5).status_code
            )
        )
        second.start()
        second.join(0.3)
        assert answers == []  # waiting behind the kept-alive first connection
        first.close()
        second.join(5)
        assert answers == [200]
    finally:
        first.close()
        server.shutdown()
        serving.join()
        server.server_close()
        app.close()


def test_werkzeug_engine_serves_the_same_app(receiver, config):
    """The mock also runs under werkzeug's server: sends, statuses and control calls work."""
    with MockServer(config, engine="werkzeug") as mock, requests.Session() as http:
        answer = http.post(f"{mock.url}/v25.0/{PHONE_NUMBER_ID}/messages", json=text_body(), headers=AUTH)
        wamid = answer.json()["messages"][0]["id"]
        wait_for(lambda: len(receiver.statuses_of(wamid)) == 3)
        assert http.get(f"{mock.url}/_mock/stats").json()["accepted"] == 1


def test_cli_serves_until_sigterm(receiver):
    """python -m flowapp.sandbox serves with options and environment, and exits 0 on SIGTERM."""
    env = {**os.environ, "APP_SECRET": "from-env", "WHATSAPP_TOKEN": "", "BUSINESS_ID": "777"}
    command = [
        sys.executable,
        "-m",
        "flowapp.sandbox",
        "--port",
        "0",
        "--webhook-url",
        receiver.url,
        "--no-record",
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.split(" on ", 1)[1].split(",", 1)[0]
        with requests.Session() as http:
            config = http.get(f"{url}/_mock/config").json()
            assert (config["app_secret"], config["token"], config["waba_id"], config["record"]) == (
                "from-env",
                None,
                "777",
                False,
            )
            assert http.post(
                f"{url}/v25.0/123/messages", json=text_body(), headers={"Authorization": "Bearer any"}
            ).ok
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_wsgi_entry_point_reads_the_environment(monkeypatch):
    """create_from_env() builds a plain WSGI app from the same variables as the CLI."""
    monkeypatch.setenv("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:5000/webhooks/whatsapp")
    monkeypatch.setenv("APP_SECRET", "s3cret")
    monkeypatch.setenv("WHATSAPP_TOKEN", "tok")
    monkeypatch.setenv("PHONE_NUMBER_ID", "42")
    monkeypatch.delenv("BUSINESS_ID", raising=False)
    app = create_from_env()
    try:
        assert (app.config.token, app.config.phone_number_id, app.config.app_secret) == (
            "tok",
            "42",
            "s3cret",
        )
        assert app.config.waba_id == MockConfig.waba_id
        started = []
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/v25.0/42",
            "HTTP_AUTHORIZATION": "Bearer tok",
            "wsgi.input": io.BytesIO(),
        }
        body = b"".join(app(environ, lambda status, headers: started.append(status)))
        assert started == ["200 OK"] and json.loads(body)["id"] == "42"
    finally:
        app.close()


def test_the_package_stays_light():
    """flowapp/sandbox imports no framework, database, queue or upper Flowapp layer."""
    offences = []
    for path in sorted(SANDBOX.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offences += [
                f"{path.name}: {n}" for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN)
            ]
    assert offences == []
