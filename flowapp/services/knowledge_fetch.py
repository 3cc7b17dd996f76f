"""Fetching a web page once for a knowledge base, with the HTTP node's address guard.

The guard (flowapp/services/http_node.refusal) refuses private targets, including host names that
resolve to one; redirects are not followed, since a redirect could lead inside as well.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from flowapp import transactions
from flowapp.services import http_node
from flowapp.services.knowledge_text import ExtractError, html_to_text

MAX_PAGE_BYTES = 2 * 1024 * 1024
TIMEOUT = (5.0, 15.0)
TEXT_TYPES = ("text/plain", "text/markdown")


def fetch_page(url: str, *, allow_private: bool = False) -> tuple[str, str]:
    """The page's (title, text), or ExtractError saying why not. Makes a network call: no
    transaction may hold writes (it ends a read-only one)."""
    problem = http_node.refusal(url, allow_private)
    if problem:
        raise ExtractError(f"That address cannot be fetched: {problem}.")
    transactions.before_network("fetching a knowledge page")
    transactions.check_outbound(urlsplit(url).netloc)
    try:
        with requests.get(
            url, timeout=TIMEOUT, allow_redirects=False, stream=True,
            headers={"User-Agent": "Flowapp knowledge fetcher", "Accept": "text/html, text/plain"},
        ) as response:  # fmt: skip
            raw = response.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
            return _page(response, raw)
    except requests.RequestException as exc:
        raise ExtractError(f"The page could not be fetched: {type(exc).__name__}.") from exc


def _page(response: requests.Response, raw: bytes) -> tuple[str, str]:
    if 300 <= response.status_code < 400:
        target = response.headers.get("Location", "")[:300]
        where = target or "elsewhere"
        raise ExtractError(f"The address redirects (to {where}); add the final address instead.")
    if response.status_code != 200:
        raise ExtractError(f"The server answered HTTP {response.status_code}.")
    if len(raw) > MAX_PAGE_BYTES:
        raise ExtractError(f"The page is larger than {MAX_PAGE_BYTES // (1024 * 1024)} MB.")
    content_type = response.headers.get("Content-Type", "")
    mimetype = content_type.split(";")[0].strip().lower()
    text = _decode(raw, content_type)
    if mimetype in ("text/html", "application/xhtml+xml"):
        return html_to_text(text)
    if mimetype in TEXT_TYPES:
        return "", text
    raise ExtractError(f"The page is {mimetype or 'of no stated type'}; only HTML and plain text are read.")


def _decode(raw: bytes, content_type: str) -> str:
    """The body as text: the stated charset, else UTF-8 (not HTTP's old ISO-8859-1 default, which
    would garble the UTF-8 pages that omit it)."""
    charset = content_type.lower().partition("charset=")[2].split(";")[0].strip(" \"'") or "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")
