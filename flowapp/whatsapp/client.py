"""A thin Graph API client for the WhatsApp Cloud API: send, mark read, media, templates, number info.

One GraphClient is meant to be shared by a whole worker (thread pool included): each thread gets its
own keep-alive `requests.Session`, because Sessions are not documented as thread-safe. Every non-2xx
answer raises GraphError (whose `disposition` says retry / back off / give up / pause) and every
connection failure or timeout raises NetworkError. One log line per call, without the token or any
message content (they are personal data).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter

from flowapp.whatsapp.errors import Disposition, GraphError, NetworkError
from flowapp.whatsapp.payloads import mark_read as mark_read_body

logger = logging.getLogger("flowapp.whatsapp.client")

PHONE_FIELDS = "display_phone_number,verified_name,quality_rating,throughput"


@dataclass(frozen=True)
class SendResult:
    """Meta accepted the message (accepted is not delivered: statuses come by webhook)."""

    wamid: str
    wa_id: str | None
    message_status: str | None


class MediaTooLarge(GraphError):
    """The media is bigger than the caller's limit; retrying cannot help."""

    def __init__(self, size: int, max_bytes: int):
        super().__init__(None, f"media is larger than {max_bytes} bytes ({size} or more)")

    @property
    def disposition(self) -> Disposition:
        """Always PERMANENT: the same media will be just as large next time."""
        return Disposition.PERMANENT


class GraphClient:
    """Meta's Graph API for one business phone number (and, for templates, its WhatsApp Business Account)."""

    def __init__(
        self,
        token: str,
        phone_number_id: str,
        *,
        business_id: str | None = None,
        base_url: str = "https://graph.facebook.com",
        version: str = "v25.0",
        timeout: tuple[float, float] = (3.05, 15.0),
        pool_size: int = 32,
        before_request: Callable[[str], None] | None = None,
    ):
        """`before_request(path)` runs before every HTTP call: the app checks there that no database
        transaction is open while Meta answers (flowapp/transactions.py)."""
        self.phone_number_id = phone_number_id
        self.business_id = business_id
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.timeout = timeout
        self.pool_size = pool_size
        self._before_request = before_request
        self._token = token
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show the token
        return f"GraphClient(phone_number_id={self.phone_number_id!r}, base_url={self.base_url!r})"

    def send(self, body: dict) -> SendResult:
        """POST a message body (see payloads.py) and return Meta's message id."""
        response = self._request("POST", self._url(self.phone_number_id, "messages"), json=body)
        data = _json(response)
        messages = data.get("messages") if isinstance(data.get("messages"), list) else []
        contacts = data.get("contacts") if isinstance(data.get("contacts"), list) else []
        message = messages[0] if messages and isinstance(messages[0], dict) else {}
        if not isinstance(message.get("id"), str):
            raise GraphError(None, "the Graph API accepted the send without a message id", http_status=200)
        contact = contacts[0] if contacts and isinstance(contacts[0], dict) else {}
        return SendResult(message["id"], contact.get("wa_id"), message.get("message_status"))

    def mark_read(self, message_id: str, *, typing_indicator: bool = False) -> bool:
        """Mark an inbound message read (and optionally show "typing…"); whether Meta said success."""
        body = mark_read_body(message_id, typing_indicator=typing_indicator)
        response = self._request("POST", self._url(self.phone_number_id, "messages"), json=body)
        return _json(response).get("success") is True

    def media_info(self, media_id: str) -> dict:
        """Meta's record of a media id: url (valid 5 minutes), mime_type, sha256, file_size."""
        return _json(self._request("GET", self._url(media_id)))

    def download_media(self, media_id: str, *, max_bytes: int = 100 * 1024 * 1024) -> tuple[bytes, str]:
        """The media's bytes and MIME type; the short-lived URL is fetched again once if it 404s."""
        for attempt in (1, 2):
            info = self.media_info(media_id)
            _refuse_large(info.get("file_size"), max_bytes)
            url = info.get("url")
            if not isinstance(url, str) or not url:
                raise GraphError(None, "the Graph API returned no media url", http_status=200)
            try:
                response = self._request("GET", url, stream=True)
            except GraphError as error:
                if error.http_status == 404 and attempt == 1:
                    continue  # the URL expired between the two calls: ask for a fresh one
                raise
            with response:
                try:
                    content = _read_limited(response, max_bytes)
                except requests.RequestException as error:  # the connection broke mid-download
                    raise NetworkError(f"{type(error).__name__} reading media") from error
            return content, info.get("mime_type") or response.headers.get("Content-Type", "")
        raise AssertionError("unreachable")  # pragma: no cover

    def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
        """Upload a file for sending by id (valid 30 days); returns the media id."""
        fields = {"messaging_product": "whatsapp", "type": mime_type}
        files = {"file": (filename, content, mime_type)}
        response = self._request("POST", self._url(self.phone_number_id, "media"), data=fields, files=files)
        media_id = _json(response).get("id")
        if not isinstance(media_id, str):
            raise GraphError(None, "the Graph API accepted the upload without a media id", http_status=200)
        return media_id

    def templates(self, *, page_size: int = 100) -> Iterator[dict]:
        """Every message template of the business account, following Meta's cursor pagination."""
        if not self.business_id:
            raise ValueError("templates() needs the client's business_id (the WhatsApp Business Account id)")
        listing = self._url(self.business_id, "message_templates")
        url: str | None = listing
        params: dict | None = {"limit": page_size}
        seen_cursors: set[str] = set()
        while url:
            page = _json(self._request("GET", url, params=params))
            yield from (item for item in page.get("data") or () if isinstance(item, dict))
            url, params = _next_page(page, listing, page_size, seen_cursors)

    def phone_number(self) -> dict:
        """The number's display number, verified name, quality rating and throughput level."""
        return _json(self._request("GET", self._url(self.phone_number_id), params={"fields": PHONE_FIELDS}))

    def close(self) -> None:
        """Close every thread's Session (their pooled connections)."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()

    def _url(self, *parts: str) -> str:
        return "/".join((self.base_url, self.version, *parts))

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # max_retries=0: a blind transport retry could send a message twice; the job layer retries.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=self.pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            # Proxies are read once here rather than on every call (trust_env makes requests look up
            # the environment and ~/.netrc per request: a quarter of a send's CPU on this path).
            session.trust_env = False
            session.proxies.update(_proxies_from_environment())
            session.headers["Authorization"] = f"Bearer {self._token}"
            session.headers["User-Agent"] = "flowapp-whatsapp/1"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _request(self, method: str, url: str, **kwargs) -> requests.Response:
        path = urlsplit(url).path
        if self._before_request is not None:
            self._before_request(f"the Graph API ({path})")
        started = time.perf_counter()
        try:
            response = self._session().request(method, url, timeout=self.timeout, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as error:
            _log(method, path, "-", started, f"network error {type(error).__name__}")
            raise NetworkError(f"{type(error).__name__} calling {path}") from error
        if not 200 <= response.status_code < 300:
            error = GraphError.from_response(response.status_code, _body(response), response.headers)
            response.close()
            _log(method, path, response.status_code, started, f"error code={error.code}")
            raise error
        _log(method, path, response.status_code, started, _outcome(response, kwargs))
        return response


def _proxies_from_environment() -> dict[str, str]:
    """HTTPS_PROXY / HTTP_PROXY / NO_PROXY as requests would honour them (read once per session)."""
    found = getproxies()
    proxies = {k: found[k] for k in ("http", "https") if k in found}
    if "no" in found:
        proxies["no_proxy"] = found["no"]
    return proxies


def _log(method: str, path: str, status: object, started: float, outcome: str) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    # Successes at DEBUG: a line per message sent would cost more than the send at 1,000/s, and the
    # message rows already record every wamid. Errors stay visible.
    level = logging.DEBUG if outcome.startswith(("wamid", "ok")) else logging.WARNING
    logger.log(level, "%s %s %s %.0fms %s", method, path, status, elapsed, outcome)


def _outcome(response: requests.Response, kwargs: dict) -> str:
    """ "wamid=..." for a send, "ok" for anything else (never the response body: it may hold PII)."""
    if kwargs.get("stream") or not _is_send(response.request.path_url):
        return "ok"
    messages = _json(response).get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict) and messages[0].get("id"):
        return f"wamid={messages[0]['id']}"
    return "ok"


def _is_send(path: str) -> bool:
    return urlsplit(path).path.endswith("/messages")


def _body(response: requests.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return response.text


def _json(response: requests.Response) -> dict:
    try:
        data = response.json()
    except ValueError as error:
        raise GraphError(
            None, "the Graph API answered with invalid JSON", http_status=response.status_code
        ) from error
    return data if isinstance(data, dict) else {}


def _next_page(page: dict, url: str, page_size: int, seen: set[str]) -> tuple[str | None, dict | None]:
    """The next request of a paged listing, or (None, None) at the end (or on a repeated cursor)."""
    paging = page.get("paging") if isinstance(page.get("paging"), dict) else {}
    if not paging.get("next"):
        return None, None
    after = (paging.get("cursors") or {}).get("after")
    if isinstance(after, str) and after:
        if after in seen:
            return None, None
        seen.add(after)
        return url, {"limit": page_size, "after": after}
    return paging["next"], None  # no cursor given: follow Meta's ready-made URL


def _refuse_large(size: object, max_bytes: int) -> None:
    if isinstance(size, int) and size > max_bytes:
        raise MediaTooLarge(size, max_bytes)


def _read_limited(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLarge(int(declared), max_bytes)
    chunks, total = [], 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        total += len(chunk)
        if total > max_bytes:
            raise MediaTooLarge(total, max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)
