"""Media the mock holds: uploads, plus a seeded image and PDF that inbound messages can refer to.

Meta's flow: GET /{media-id} answers a short-lived URL; GET on that URL with the Bearer token
answers the bytes. The mock's URLs point at /_mock/media/<id>/download and expire like Meta's.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import struct
import threading
import time
import zlib
from dataclasses import dataclass

URL_TTL = 300.0  # Meta's media URLs expire after 5 minutes
MEDIA_ID_PREFIX = "sandbox-"  # every media id the mock hands out starts with it
SEEDED_IMAGE_ID = "sandbox-image-1"
SEEDED_DOCUMENT_ID = "sandbox-document-1"


@dataclass(frozen=True)
class Media:
    """One stored file."""

    id: str
    mime_type: str
    data: bytes
    filename: str | None = None

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes, as Meta reports it."""
        return hashlib.sha256(self.data).hexdigest()


class MediaStore:
    """Thread-safe store of media and of the download URLs handed out for them."""

    def __init__(self) -> None:
        self._items: dict[str, Media] = {}
        self._urls: dict[str, tuple[str, float]] = {}  # url token -> (media id, expires at)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._items[SEEDED_IMAGE_ID] = Media(SEEDED_IMAGE_ID, "image/png", png_image(), "sandbox.png")
        self._items[SEEDED_DOCUMENT_ID] = Media(
            SEEDED_DOCUMENT_ID, "application/pdf", pdf_document(), "sandbox.pdf"
        )

    def get(self, media_id: str) -> Media | None:
        """The media with this id, or None."""
        return self._items.get(media_id)

    def add(self, data: bytes, mime_type: str, filename: str | None = None) -> Media:
        """Store an upload under a new id."""
        media = Media(f"{MEDIA_ID_PREFIX}media-{next(self._ids)}", mime_type, data, filename)
        with self._lock:
            self._items[media.id] = media
        return media

    def delete(self, media_id: str) -> bool:
        """Forget a media id; False when it was unknown."""
        with self._lock:
            return self._items.pop(media_id, None) is not None

    def info(self, media_id: str, base_url: str) -> dict | None:
        """GET /{media-id}'s answer with a fresh download URL, or None for an unknown id."""
        media = self._items.get(media_id)
        if media is None:
            return None
        token = secrets.token_urlsafe(16)
        now = time.time()
        with self._lock:
            if len(self._urls) > 1000:
                self._urls = {key: value for key, value in self._urls.items() if value[1] > now}
            self._urls[token] = (media_id, now + URL_TTL)
        return {
            "messaging_product": "whatsapp",
            "url": f"{base_url}/_mock/media/{media_id}/download?token={token}",
            "mime_type": media.mime_type,
            "sha256": media.sha256,
            "file_size": len(media.data),
            "id": media_id,
        }

    def download(self, media_id: str, token: str) -> Media | None:
        """The media a download URL points at, or None when the URL is wrong or expired."""
        entry = self._urls.get(token)
        if entry is None or entry[0] != media_id or entry[1] < time.time():
            return None
        return self._items.get(media_id)


def png_image(width: int = 8, height: int = 8) -> bytes:
    """A valid 8-bit RGB PNG of a green square (WhatsApp accepts 8-bit RGB/RGBA images)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        checksum = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x25\xd3\x66" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf_document(text: str = "Flowapp sandbox document") -> bytes:
    """A valid one-page PDF showing `text` (with a correct cross-reference table)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
