"""What each inbound WhatsApp message type carries: readable text, reply id, target message, media, extras.

One small reader per Meta message `type` (CLOUD_API.md section 2.2), registered in READERS. A type with
no reader (a new one Meta adds tomorrow) yields an empty Content and keeps its raw payload upstream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import NamedTuple

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
MEDIA_KEYS = ("id", "mime_type", "sha256", "caption", "filename", "voice", "animated", "url")
LOCATION_KEYS = ("latitude", "longitude", "name", "address", "url")


class Content(NamedTuple):
    """The type-specific part of an inbound message (see parsing.InboundMessage for each field)."""

    text: str | None = None
    reply_id: str | None = None
    target_wamid: str | None = None
    media: dict | None = None
    data: dict | list | None = None


def as_dict(value: object) -> dict:
    """`value` when it is a JSON object, else {} (Meta's payloads are trusted for shape, not for type)."""
    return value if isinstance(value, dict) else {}


def as_str(value: object) -> str | None:
    """`value` when it is a string, else None."""
    return value if isinstance(value, str) else None


def read_content(message: dict) -> Content:
    """The Content of `message` according to its `type`; empty for unknown types."""
    kind = message.get("type")
    reader = READERS.get(kind) if isinstance(kind, str) else None
    return reader(message) if reader else Content()


def _text(message: dict) -> Content:
    return Content(text=as_str(as_dict(message.get("text")).get("body")))


def _media(message: dict) -> Content:
    body = as_dict(message.get(message["type"]))
    media = {key: body[key] for key in MEDIA_KEYS if key in body}
    return Content(text=as_str(body.get("caption")), media=media or None)


def _location(message: dict) -> Content:
    body = as_dict(message.get("location"))
    data = {key: body.get(key) for key in LOCATION_KEYS}
    named = [part for part in (as_str(data["name"]), as_str(data["address"])) if part]
    if named:
        text = ", ".join(named)
    elif data["latitude"] is not None and data["longitude"] is not None:
        text = f"{data['latitude']}, {data['longitude']}"
    else:
        text = None
    return Content(text=text, data=data)


def _contacts(message: dict) -> Content:
    cards = message.get("contacts")
    if not isinstance(cards, list):
        return Content()
    names = [name for name in (_card_name(card) for card in cards) if name]
    return Content(text=", ".join(names) or None, data=cards)


def _card_name(card: object) -> str | None:
    name = as_dict(as_dict(card).get("name"))
    formatted = as_str(name.get("formatted_name"))
    if formatted:
        return formatted
    parts = [as_str(name.get(key)) for key in ("first_name", "last_name")]
    return " ".join(part for part in parts if part) or None


def _interactive(message: dict) -> Content:
    body = as_dict(message.get("interactive"))
    kind = body.get("type")
    reply = as_dict(body.get(kind)) if isinstance(kind, str) else {}
    if kind == "button_reply":
        data = {"id": reply.get("id"), "title": reply.get("title")}
        return Content(text=as_str(data["title"]), reply_id=as_str(data["id"]), data=data)
    if kind == "list_reply":
        data = {"id": reply.get("id"), "title": reply.get("title"), "description": reply.get("description")}
        return Content(text=as_str(data["title"]), reply_id=as_str(data["id"]), data=data)
    if kind == "nfm_reply":
        data = {"response": _json_twice(reply.get("response_json")), "name": reply.get("name")}
        data["body"] = reply.get("body")
        return Content(text=as_str(data["body"]), data=data)
    return Content()


def _json_twice(value: object) -> object:
    """A WhatsApp Flow's answers arrive as a JSON string inside the JSON: decode it when possible."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _button(message: dict) -> Content:
    body = as_dict(message.get("button"))
    data = {"payload": body.get("payload"), "text": body.get("text")}
    return Content(text=as_str(data["text"]), reply_id=as_str(data["payload"]), data=data)


def _reaction(message: dict) -> Content:
    body = as_dict(message.get("reaction"))
    # An un-react arrives with emoji "" or without emoji at all: both become "".
    return Content(text=as_str(body.get("emoji")) or "", target_wamid=as_str(body.get("message_id")))


def _order(message: dict) -> Content:
    order = message.get("order")
    if not isinstance(order, dict):
        return Content()
    items = order.get("product_items")
    count = len(items) if isinstance(items, list) else 0
    text = f"Order: {count} item{'' if count == 1 else 's'}"
    note = as_str(order.get("text"))
    return Content(text=f"{text} - {note}" if note else text, data=order)


def _system(message: dict) -> Content:
    system = message.get("system")
    if not isinstance(system, dict):
        return Content()
    return Content(text=as_str(system.get("body")), data=system)


def _revoke(message: dict) -> Content:
    body = as_dict(message.get("revoke"))
    return Content(target_wamid=as_str(body.get("original_message_id")))


def _edit(message: dict) -> Content:
    body = as_dict(message.get("edit"))
    original = as_str(body.get("original_message_id"))
    new_message = as_dict(body.get("message"))
    new_content = read_content(new_message) if new_message.get("type") != "edit" else Content()
    data = {"original_message_id": original, "message": body.get("message")}
    return Content(text=new_content.text, target_wamid=original, data=data)


READERS: dict[str, Callable[[dict], Content]] = {
    "text": _text,
    **{kind: _media for kind in MEDIA_TYPES},
    "location": _location,
    "contacts": _contacts,
    "interactive": _interactive,
    "button": _button,
    "reaction": _reaction,
    "order": _order,
    "system": _system,
    "revoke": _revoke,
    "edit": _edit,
}
