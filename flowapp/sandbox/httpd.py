"""A small HTTP/1.1 WSGI server that keeps connections alive, for the mock's hot path.

werkzeug's development server closes the connection after every response, so each send costs a
TCP handshake and a new thread: about 0.5 ms of the mock's CPU per request, against 15 us for the
mock's own work. This server keeps a connection (and its thread) for as long as the client keeps
it, and does the least HTTP the clients need: Content-Length bodies, Expect: 100-continue, no
chunked request bodies (answered 411), no pipelining beyond what the buffer already holds.
"""

from __future__ import annotations

import collections
import io
import logging
import socket
import socketserver
import sys
import threading
from collections.abc import Callable
from urllib.parse import unquote

log = logging.getLogger("flowapp.sandbox")

IDLE_TIMEOUT = 60.0  # seconds a kept-alive connection may wait for its next request
MAX_HEAD = 65536
MAX_BODY = 101 * 1024 * 1024  # Meta's largest media (documents) is 100 MB


class HttpError(Exception):
    """A request the server answers itself, then closes the connection."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class KeepAliveServer(socketserver.TCPServer):
    """One thread per connection; `max_connections` > 0 serves at most that many at once.

    Connections over the limit wait (accepted, in order) until a served one closes; since a client
    keeps its connection open between requests, the limit must exceed the clients' connection count.
    """

    allow_reuse_address = True
    request_queue_size = 1024
    multithread = True

    def __init__(self, host: str, port: int, app: Callable, max_connections: int = 0) -> None:
        super().__init__((host, port), None)  # type: ignore[arg-type]
        self.app = app
        self.server_port = self.server_address[1]
        self.max_connections = max_connections
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._waiting: collections.deque = collections.deque()
        self._serving = 0

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        """Serve the new connection on a thread of its own, or queue it when at the limit."""
        with self._lock:
            self._open.add(request)
            if self.max_connections and self._serving >= self.max_connections:
                self._waiting.append((request, client_address))
                return
            self._serving += 1
        threading.Thread(target=self._run, args=(request, client_address), daemon=True).start()

    def _run(self, request: socket.socket, client_address: tuple) -> None:
        while True:
            try:
                Connection(self, request, client_address).serve()
            except Exception:
                log.exception("sandbox: connection from %s failed", client_address)
            finally:
                with self._lock:
                    self._open.discard(request)
                self.shutdown_request(request)
            with self._lock:
                if not self._waiting:
                    self._serving -= 1
                    return
                request, client_address = self._waiting.popleft()

    def server_close(self) -> None:
        """Close the listening socket and end every open connection (their threads then exit)."""
        super().server_close()
        with self._lock:
            waiting = [request for request, _ in self._waiting]
            self._waiting.clear()
            self._open.difference_update(waiting)
            sockets = list(self._open)
        for request in waiting:
            self.shutdown_request(request)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Connection:
    """Reads requests off one socket and answers them until either side closes."""

    def __init__(self, server: KeepAliveServer, sock: socket.socket, client_address: tuple) -> None:
        self.server = server
        self.sock = sock
        self.client_address = client_address
        self.buffer = bytearray()

    def serve(self) -> None:
        """Answer requests while the client keeps the connection."""
        try:
            self.sock.settimeout(IDLE_TIMEOUT)
            # Each answer leaves in one write; without NODELAY it could wait for the client's ACK.
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while self._serve_one():
                pass
        except HttpError as error:
            self._refuse(error.status)
        except (OSError, ValueError):
            pass  # the client went away, timed out or spoke something else than HTTP
        except Exception:
            log.exception("sandbox: the application failed")
            self._refuse("500 Internal Server Error")

    def _refuse(self, status: str) -> None:
        try:
            self._send(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        except OSError:
            pass

    def _serve_one(self) -> bool:
        head = self._read_head()
        if head is None:
            return False
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", ""):
            raise HttpError("411 Length Required")
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            raise HttpError("413 Content Too Large")
        if headers.get("expect", "").lower() == "100-continue":
            self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = self._read_body(length)
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        self._send(self._respond(method, target, version, headers, body, keep_alive))
        return keep_alive

    def _read_head(self) -> bytes | None:
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.buffer[:end])
                del self.buffer[: end + 4]
                return head
            if len(self.buffer) > MAX_HEAD:
                raise HttpError("431 Request Header Fields Too Large")
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data

    def _read_body(self, length: int) -> bytes:
        while len(self.buffer) < length:
            data = self.sock.recv(max(65536, length - len(self.buffer)))
            if not data:
                raise ConnectionResetError("the client closed the connection mid-body")
            self.buffer += data
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return body

    def _respond(
        self, method: str, target: str, version: str, headers: dict, body: bytes, keep: bool
    ) -> bytes:
        environ = self._environ(method, target, version, headers, body)
        started: list = []

        def start_response(status: str, response_headers: list, exc_info: object = None) -> None:
            started[:] = [status, response_headers]

        result = self.server.app(environ, start_response)
        try:
            payload = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, response_headers = started
        lines = [f"HTTP/1.1 {status}"]
        lines.extend(f"{name}: {value}" for name, value in response_headers)
        if not any(name.lower() == "content-length" for name, _ in response_headers):
            lines.append(f"Content-Length: {len(payload)}")
        if not keep:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload

    def _environ(self, method: str, target: str, version: str, headers: dict, body: bytes) -> dict:
        path, _, query = target.partition("?")
        host, port = self.server.server_address[:2]
        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, encoding="latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": host,
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.client_address[0] if self.client_address else "",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
        environ.pop("HTTP_CONTENT_LENGTH", None)
        return environ

    def _send(self, data: bytes) -> None:
        self.sock.sendall(data)
