"""Posting signed webhooks to Flowapp: status updates on one background thread, inbound messages inline.

Statuses go out from a single thread fed by a time-ordered heap, so the sent, delivered and read
updates of one message always leave in that order. http.client with a kept-alive connection is
used instead of requests: at a thousand sends a second the mock posts three thousand webhooks a
second, and requests' per-call overhead would be most of the cost.
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import logging
import threading
import time
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

from flowapp.sandbox.config import MockConfig
from flowapp.sandbox.payloads import envelope, serialise, status_value
from flowapp.whatsapp.signature import sign

log = logging.getLogger("flowapp.sandbox")

POST_TIMEOUT = 5.0
RETRIES = 3
BACKOFF = 0.1  # seconds before the first retry, doubled for each further one


class StatusEvent(NamedTuple):
    """One status update waiting for its time."""

    wamid: str
    status: str
    recipient: str
    phone_number_id: str
    pricing: dict | None
    callback_data: str | None


def signed_request(payload: dict, app_secret: str) -> tuple[bytes, dict]:
    """The body and headers of a webhook POST carrying `payload`, signed with the app secret."""
    body = serialise(payload)
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, app_secret)}


class Poster:
    """POSTs over one kept-alive connection, reopened when the target changes or the peer closes it."""

    def __init__(self, timeout: float = POST_TIMEOUT) -> None:
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None
        self._target: tuple[str, str] | None = None

    def post(self, url: str, body: bytes, headers: dict) -> int:
        """The HTTP status of POSTing `body` to `url`; OSError/HTTPException when there is none."""
        parts = urlsplit(url)
        if self._target != (parts.scheme, parts.netloc):
            self.close()
        reused = self._conn is not None
        try:
            return self._send(parts, body, headers)
        except (OSError, http.client.HTTPException):
            # A kept-alive connection the peer closed meanwhile fails once; a fresh one must not.
            if not reused:
                raise
        return self._send(parts, body, headers)

    def _send(self, parts: SplitResult, body: bytes, headers: dict) -> int:
        if self._conn is None:
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            self._conn = kind(parts.netloc, timeout=self.timeout)
            self._target = (parts.scheme, parts.netloc)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            self._conn.request("POST", path, body, headers)
            response = self._conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status

    def close(self) -> None:
        """Drop the connection."""
        if self._conn is not None:
            self._conn.close()
        self._conn = self._target = None


def post_once(url: str, body: bytes, headers: dict, timeout: float = 10.0) -> int:
    """POST on a connection of its own (request threads must not share the sender's)."""
    poster = Poster(timeout)
    try:
        return poster.post(url, body, headers)
    finally:
        poster.close()


class StatusSender:
    """The background thread that posts status webhooks when they fall due."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.delivered = 0
        self.dropped = 0
        self._heap: list[tuple[float, int, StatusEvent]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._busy = False
        self._thread: threading.Thread | None = None
        self._poster = Poster()

    @property
    def pending(self) -> int:
        """Updates not posted yet (including one being posted right now)."""
        return len(self._heap) + self._busy

    def schedule(self, events: list[tuple[float, StatusEvent]]) -> None:
        """Queue (delay in seconds, event) pairs; equal due times keep the order given."""
        now = time.monotonic()
        with self._cond:
            if self._stop.is_set():
                return
            if self._thread is None:  # started on first use, so a pre-forking server keeps it
                self._thread = threading.Thread(target=self._run, name="sandbox-statuses", daemon=True)
                self._thread.start()
            for delay, event in events:
                heapq.heappush(self._heap, (now + delay, next(self._order), event))
            self._cond.notify()

    def clear(self) -> None:
        """Drop every queued update (POST /_mock/reset)."""
        with self._cond:
            self._heap.clear()
            self.delivered = self.dropped = 0

    def close(self) -> None:
        """Stop the thread; queued updates are dropped."""
        with self._cond:
            self._stop.set()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=POST_TIMEOUT + 1)
        self._poster.close()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop.is_set():
                    wait = self._heap[0][0] - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stop.is_set():
                    return
                event = heapq.heappop(self._heap)[2]
                self._busy = True
            try:
                self._deliver(event)
            finally:
                self._busy = False

    def _deliver(self, event: StatusEvent) -> None:
        config = self.config
        if not (config.webhook_url and config.app_secret):
            return  # switched off while the update waited
        value = status_value(event.wamid, event.status, event.recipient, event.pricing, event.callback_data)
        payload = envelope(config.waba_id, config.display_phone_number, event.phone_number_id, value)
        body, headers = signed_request(payload, config.app_secret)
        problem = ""
        for attempt in range(RETRIES + 1):
            if attempt and self._stop.wait(BACKOFF * 2 ** (attempt - 1)):
                return
            try:
                status = self._poster.post(config.webhook_url, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                problem = repr(exc)
                continue
            if 200 <= status < 300:
                self.delivered += 1
                return
            problem = f"HTTP {status}"
        self.dropped += 1
        log.warning(
            "sandbox: dropped the %s status of %s after %d attempts: %s",
            event.status,
            event.wamid,
            RETRIES + 1,
            problem,
        )
