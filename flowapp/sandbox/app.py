"""MockGraphAPI: the WSGI callable that plays Meta's Graph API, and its routing.

Routing is a version check and a split of the path, not a framework: POST .../messages has to
stay cheap enough for a thousand requests a second on a small machine.
"""

from __future__ import annotations

import base64
import itertools
import re
import secrets
import threading
from collections.abc import Callable, Iterable

from flowapp.sandbox import control, graph
from flowapp.sandbox.config import MockConfig
from flowapp.sandbox.errors import GraphError, unknown_object, unsupported
from flowapp.sandbox.faults import FaultQueue, FaultRule
from flowapp.sandbox.ledger import Ledger
from flowapp.sandbox.media import MEDIA_ID_PREFIX, MediaStore
from flowapp.sandbox.sends import handle_send
from flowapp.sandbox.webhooks import StatusSender
from flowapp.sandbox.wsgi_io import STATUS_LINES, Request, Response, error_response

GRAPH_PATH = re.compile(r"/v\d+\.\d+/")
DOWNLOAD_PATH = re.compile(r"/_mock/media/([^/]+)/download")
# The bytes Meta puts between the recipient and the message id inside a wamid.
_WAMID_GLUE = b"\x15\x02\x00\x11\x18\x14"


class MockGraphAPI:
    """Meta's Graph API for WhatsApp, played in memory, plus the /_mock control API.

    Call close() when done: it stops the thread that posts status webhooks.
    """

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.ledger = Ledger()
        self.faults = FaultQueue()
        self.media = MediaStore()
        self.statuses = StatusSender(config)
        self.stopping = threading.Event()
        self._wamid_prefix = secrets.token_hex(4).upper()  # unique across restarts of the mock
        self._wamid_counter = itertools.count(1)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            status, body, headers = self.dispatch(request)
        except GraphError as error:
            status, body, headers = error_response(error)
        # A length lets the server skip chunked encoding (and keep the connection alive where it can).
        headers.append(("Content-Length", str(len(body))))
        start_response(STATUS_LINES[status], headers)
        return [body]

    def dispatch(self, request: Request) -> Response:
        """Route a request to its handler; GraphError escapes as Meta's error envelope."""
        path, method = request.path, request.method
        if GRAPH_PATH.match(path):
            parts = path.split("/", 3)[2:]  # ["", "v25.0", "<id>", "<edge>"] -> ["<id>", "<edge>"]
            if len(parts) == 2 and method == "POST" and parts[1] == "messages":
                return self._send(request, parts[0])
            return self._graph(request, method, parts)
        if path.startswith("/_mock/"):
            match = DOWNLOAD_PATH.fullmatch(path)
            if match and method == "GET":
                return graph.media_download(self, request, match.group(1))
            return control.handle(self, request)
        raise GraphError(100, body=unsupported(method))

    def _send(self, request: Request, phone_number_id: str) -> Response:
        try:
            return handle_send(self, request, phone_number_id)
        except GraphError as error:
            self.ledger.reject(error.code)
            raise

    def _graph(self, request: Request, method: str, parts: list[str]) -> Response:
        if len(parts) == 1 and parts[0]:
            object_id = parts[0]
            if method == "DELETE":
                return graph.media_delete(self, request, object_id)
            if method == "GET":
                if self.media.get(object_id) is not None or not self._is_phone_number(object_id):
                    return graph.media_info(self, request, object_id)
                return graph.phone_number(self, request, object_id)
        elif len(parts) == 2 and (method, parts[1]) == ("POST", "media"):
            return graph.media_upload(self, request, parts[0])
        elif len(parts) == 2 and (method, parts[1]) == ("GET", "message_templates"):
            return graph.message_templates(self, request)
        raise GraphError(100, body=unsupported(method))

    def _is_phone_number(self, object_id: str) -> bool:
        # With no configured number any id is taken for one (Flowapp's sandbox mode uses "sandbox"),
        # except ids shaped like the mock's own media ids, so that a deleted media still answers 100.
        expected = self.config.phone_number_id
        return object_id == expected if expected else not object_id.startswith(MEDIA_ID_PREFIX)

    def authorize(self, request: Request) -> None:
        """Raise Meta's 190 unless the request carries the configured (or, if none, any) token."""
        token = request.bearer
        expected = self.config.token
        if not token or (expected is not None and token != expected):
            raise GraphError(190)

    def check_phone_number(self, phone_number_id: str, method: str = "post") -> None:
        """Raise Meta's 100 for a phone number id the mock does not play."""
        expected = self.config.phone_number_id
        if expected is not None and phone_number_id != expected:
            raise GraphError(100, body=unknown_object(phone_number_id, method))

    def apply_fault(self, rule: FaultRule | None) -> None:
        """Play a queued fault: wait as long as it says, then fail with its code (if it has one)."""
        if rule is None:
            return
        if rule.delay:
            self.pause(rule.delay)
        if rule.code is not None:
            raise GraphError(rule.code, status=rule.status, retry_after=rule.retry_after)

    def pause(self, seconds: float) -> None:
        """Sleep, but give up at once (with 503 code 2) when the mock is shutting down."""
        if self.stopping.wait(seconds):
            raise GraphError(2, "The sandbox is shutting down.")

    def new_wamid(self, to: str) -> str:
        """A new message id shaped like Meta's: wamid.HBgL + base64(recipient, glue, unique id)."""
        unique = f"{self._wamid_prefix}{next(self._wamid_counter):012X}"
        return "wamid.HBgL" + base64.b64encode(to.encode() + _WAMID_GLUE + unique.encode() + b"\x00").decode()

    def close(self) -> None:
        """Stop the status thread and wake requests sleeping in a fault (they answer 503)."""
        self.stopping.set()
        self.statuses.close()
