"""X-Hub-Signature-256: HMAC-SHA256 of the raw request body, keyed with the Meta app secret."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for `body`: "sha256=<lowercase hex>"."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, app_secret: str) -> bool:
    """Whether `header` is a valid signature of exactly these bytes (constant-time comparison).

    The bytes must be the body as received: re-serialising parsed JSON changes spacing and escapes
    (Meta signs its escaped-unicode form) and breaks the signature.
    """
    if not header or not header.startswith(PREFIX) or not app_secret:
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(PREFIX) :].strip().lower())
