"""Media for the inbox, through Flowapp: customers' files shown to agents, agents' files sent.

Meta serves media only to the holder of the access token, through URLs that live five minutes, so
the browser cannot load them itself. The proxy downloads with the token, but only for a media id
that a stored message names (the route takes a message id, never a media id: an arbitrary id would
turn Flowapp into an open door to the business account's files). Bytes are cached briefly in Redis,
and nothing larger than MAX_BYTES is fetched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.exceptions import RedisError

from flowapp import transactions
from flowapp.extensions import get_redis
from flowapp.models import Message
from flowapp.services import graph
from flowapp.whatsapp.client import MediaTooLarge
from flowapp.whatsapp.errors import GraphError, NetworkError
from flowapp.whatsapp.payloads import LimitError, check_media_file

log = logging.getLogger("flowapp.inbox")

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
# Shown inline in the thread; anything else is offered as a download. Never SVG (it can run script).
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
MAX_BYTES = 25 * 1024 * 1024
CACHE_MAX_BYTES = 5 * 1024 * 1024
CACHE_SECONDS = 300
INFO_SECONDS = 3600
# The largest file an agent may upload: WhatsApp's largest (documents, 100 MB).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024


class MediaError(Exception):
    """The media cannot be shown or sent; `status` is the HTTP answer, `reason` is for people."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Media:
    content: bytes
    mime_type: str
    filename: str | None

    @property
    def inline(self) -> bool:
        return self.mime_type.split(";", 1)[0].strip().lower() in INLINE_TYPES


def media_of(message: Message) -> dict | None:
    """The media a stored message carries ({"id", "mime_type", "filename", "caption", "size"}), or None.

    Inbound media come from the webhook; outbound ones from the request we sent (by id only: a
    media link is the sender's public URL and needs no proxy).
    """
    if message.type not in MEDIA_TYPES:
        return None
    payload = message.payload or {}
    if message.direction == "in":
        media = payload.get("media") if isinstance(payload.get("media"), dict) else {}
    else:
        request = payload.get("request") if isinstance(payload.get("request"), dict) else {}
        media = request.get(message.type) if isinstance(request.get(message.type), dict) else {}
        media = {**media, **(payload.get("upload") or {})}
    if not isinstance(media.get("id"), str) or not media["id"]:
        return None
    keys = ("id", "mime_type", "filename", "caption", "size")
    return {key: media.get(key) for key in keys}


def fetch(message: Message) -> Media:
    """The bytes of a stored message's media (cached for a few minutes). Raises MediaError."""
    media = media_of(message)
    if media is None:
        raise MediaError(404, "This message has no media of ours.")
    cached = _cache_get(f"inbox:media:{media['id']}")
    if cached is not None:
        return Media(cached[b"content"], cached[b"mime"].decode(), media.get("filename"))
    client = graph.client()  # first: it may read stored credentials, in this transaction
    transactions.before_network("downloading media from Meta")  # up to 18 s: hold nothing meanwhile
    try:
        content, mime_type = client.download_media(media["id"], max_bytes=MAX_BYTES)
    except MediaTooLarge:
        raise MediaError(413, "The file is too large to show here.") from None
    except (GraphError, NetworkError) as exc:
        log.warning("media of message %s not fetched: %s", message.id, exc)
        raise MediaError(502, "WhatsApp did not hand over the file; try again later.") from None
    mime_type = mime_type or media.get("mime_type") or "application/octet-stream"
    if len(content) <= CACHE_MAX_BYTES:
        _cache_put(f"inbox:media:{media['id']}", {"content": content, "mime": mime_type}, CACHE_SECONDS)
    return Media(content, mime_type, media.get("filename"))


def info(message: Message) -> dict:
    """{"mime_type", "size"} of a stored message's media, asking Meta once an hour at most."""
    media = media_of(message)
    if media is None:
        raise MediaError(404, "This message has no media of ours.")
    if media.get("size"):
        return {"mime_type": media.get("mime_type"), "size": media["size"]}
    key = f"inbox:media-info:{media['id']}"
    cached = _cache_get(key)
    if cached is not None:
        return {"mime_type": cached[b"mime"].decode(), "size": int(cached[b"size"])}
    client = graph.client()
    transactions.before_network("asking Meta for a media's size")
    try:
        found = client.media_info(media["id"])
    except (GraphError, NetworkError):
        raise MediaError(502, "Size unknown: WhatsApp did not answer.") from None
    result = {
        "mime_type": found.get("mime_type") or media.get("mime_type") or "",
        "size": found.get("file_size"),
    }
    if isinstance(result["size"], int):
        _cache_put(key, {"mime": result["mime_type"], "size": result["size"]}, INFO_SECONDS)
    return result


def kind_for(mime_type: str) -> str:
    """The WhatsApp message type for a file: image, sticker (webp), video, audio or document."""
    base = (mime_type or "").split(";", 1)[0].strip().lower()
    if base in ("image/jpeg", "image/png"):
        return "image"
    if base == "image/webp":
        return "sticker"
    if base.startswith(("video/", "audio/")):
        return base.split("/", 1)[0]
    return "document"


def upload(content: bytes, mime_type: str, filename: str) -> tuple[str, str]:
    """Check a file against WhatsApp's media rules and upload it to Meta: (message type, media id).

    Raises MediaError with the rule that failed, or Meta's refusal.
    """
    kind = kind_for(mime_type)
    try:
        check_media_file(kind, mime_type, len(content))
    except LimitError as exc:
        raise MediaError(422, exc.message) from None
    client = graph.client()
    transactions.before_network("uploading media to Meta")
    try:
        return kind, client.upload_media(content, mime_type, filename or "file")
    except (GraphError, NetworkError) as exc:
        log.warning("upload refused: %s", exc)
        raise MediaError(502, f"WhatsApp refused the upload: {getattr(exc, 'reason', exc)}") from None


def _cache_get(key: str) -> dict | None:
    try:
        found = get_redis().hgetall(key)
    except (RedisError, OSError):
        return None
    return found or None


def _cache_put(key: str, value: dict, seconds: int) -> None:
    try:
        pipe = get_redis().pipeline()
        pipe.hset(key, mapping=value)
        pipe.expire(key, seconds)
        pipe.execute()
    except (RedisError, OSError):
        log.info("media cache unavailable; served without caching")
