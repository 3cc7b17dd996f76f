"""Bodies for POST /{phone-number-id}/messages, checked against WhatsApp's limits before anything is queued.

Meta rejects an over-long button title only when the message is sent, minutes later, from a worker;
checking here lets the editor or the inbox say exactly which field is wrong while the user is still
looking at it. Limits are from CLOUD_API.md section 6; lengths are Python str lengths (code points).
"""

from __future__ import annotations

import re

# Re-exported: payloads is where callers look for the limits and their error.
from flowapp.whatsapp.media_rules import MEDIA_RULES, LimitError, check_media_file  # noqa: F401

MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_BUTTON_ID = 256
MAX_INTERACTIVE_BODY = 1024
MAX_FOOTER = 60
MAX_HEADER_TEXT = 60
MAX_LIST_ROWS = 10
MAX_LIST_SECTIONS = 10
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72
MAX_SECTION_TITLE = 24
MAX_LIST_BUTTON = 20
MAX_ROW_ID = 200
MAX_LIST_BODY = 4096
MAX_CAPTION = 1024
MAX_CONTACT_CARDS = 5  # Meta's spec: ContactsMessage.contacts maxItems
# Meta's message ids: "wamid." then base64 (with URL-safe variants and padding).
WAMID = re.compile(r"^wamid\.[A-Za-z0-9+/=_-]+$")
CONTACT_CARD_KEYS = frozenset({"addresses", "birthday", "emails", "name", "org", "phones", "urls"})
HEADER_MEDIA = ("image", "video", "document")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-.]+$")


def recipient(wa_id: str) -> str:
    """The `to` value Meta wants: "+" and 7 to 15 digits (without "+", Meta would prepend OUR country)."""
    if not isinstance(wa_id, str) or not _PHONE_CHARS.match(wa_id.strip()):
        raise LimitError("to", "a phone number with country code is required, like +16505551234")
    digits = re.sub(r"\D", "", wa_id)
    if not 7 <= len(digits) <= 15:
        raise LimitError("to", f"a phone number has 7 to 15 digits with country code, not {len(digits)}")
    return "+" + digits


def text(to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None) -> dict:
    """A text message; with preview_url, WhatsApp previews the first http(s) URL in the body."""
    content = {"body": _text("text.body", body, MAX_TEXT)}
    if preview_url:
        content["preview_url"] = True
    return _message(to, "text", content, reply_to)


def template(
    to: str, name: str, language: str, components: list[dict] | None = None, *, reply_to: str | None = None
) -> dict:
    """A template message; `components` as Meta's send API takes them (header/body/button parameters)."""
    content: dict = {
        "name": _text("template.name", name, 512),
        "language": {"code": _text("template.language", language, 16)},
    }
    if components:
        if not isinstance(components, list):
            raise LimitError("template.components", "must be a list of components")
        for index, component in enumerate(components):
            if not isinstance(component, dict) or not isinstance(component.get("type"), str):
                raise LimitError(f"template.components[{index}]", "must be an object with a type")
        content["components"] = components
    return _message(to, "template", content, reply_to)


def buttons(
    to: str,
    body: str,
    buttons: list[dict],
    *,
    header: dict | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """Interactive reply buttons: 1 to 3 buttons [{"id", "title"}], titles unique and at most 20 long."""
    interactive: dict = {"type": "button"}
    if header is not None:
        interactive["header"] = _button_header(header)
    interactive["body"] = {"text": _text("body", body, MAX_INTERACTIVE_BODY)}
    if footer:
        interactive["footer"] = {"text": _text("footer", footer, MAX_FOOTER)}
    interactive["action"] = {"buttons": _reply_buttons(buttons)}
    return _message(to, "interactive", interactive, reply_to)


def _reply_buttons(items: list[dict]) -> list[dict]:
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BUTTONS:
        raise LimitError("buttons", f"1 to {MAX_BUTTONS} buttons are required")
    result, titles, ids = [], set(), set()
    for index, item in enumerate(items):
        field = f"buttons[{index}]"
        if not isinstance(item, dict):
            raise LimitError(field, "must be an object with an id and a title")
        button_id = _identifier(f"{field}.id", item.get("id"), MAX_BUTTON_ID)
        title = _text(f"{field}.title", item.get("title"), MAX_BUTTON_TITLE)
        if title.casefold() in titles:
            raise LimitError(f"{field}.title", f"{title!r} is already used by another button")
        if button_id in ids:
            raise LimitError(f"{field}.id", f"{button_id!r} is already used by another button")
        titles.add(title.casefold())
        ids.add(button_id)
        result.append({"type": "reply", "reply": {"id": button_id, "title": title}})
    return result


def _button_header(header: dict) -> dict:
    kind = header.get("type") if isinstance(header, dict) else None
    if kind == "text":
        return {"type": "text", "text": _text("header.text", header.get("text"), MAX_HEADER_TEXT)}
    if kind in HEADER_MEDIA:
        return {"type": kind, kind: _media_source("header", header.get("link"), header.get("id"))}
    raise LimitError("header.type", "must be text, image, video or document")


def list_message(
    to: str,
    body: str,
    button: str,
    sections: list[dict],
    *,
    header: str | None = None,
    footer: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """An interactive list: up to 10 sections and 10 rows in all, opened by a `button` label."""
    interactive: dict = {"type": "list"}
    if header:
        interactive["header"] = {"type": "text", "text": _text("header", header, MAX_HEADER_TEXT)}
    interactive["body"] = {"text": _text("body", body, MAX_LIST_BODY)}
    if footer:
        interactive["footer"] = {"text": _text("footer", footer, MAX_FOOTER)}
    interactive["action"] = {
        "button": _text("button", button, MAX_LIST_BUTTON),
        "sections": _list_sections(sections),
    }
    return _message(to, "interactive", interactive, reply_to)


def _list_sections(sections: list[dict]) -> list[dict]:
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_LIST_SECTIONS:
        raise LimitError("sections", f"1 to {MAX_LIST_SECTIONS} sections are required")
    result, row_ids = [], set()
    for index, section in enumerate(sections):
        field = f"sections[{index}]"
        if not isinstance(section, dict):
            raise LimitError(field, "must be an object with rows")
        built: dict = {}
        title = section.get("title")
        if title or len(sections) > 1:
            built["title"] = _text(f"{field}.title", title, MAX_SECTION_TITLE)
        rows = section.get("rows")
        if not isinstance(rows, list) or not rows:
            raise LimitError(f"{field}.rows", "a section needs at least one row")
        built["rows"] = [_list_row(f"{field}.rows[{r}]", row, row_ids) for r, row in enumerate(rows)]
        result.append(built)
    total = sum(len(section["rows"]) for section in result)
    if total > MAX_LIST_ROWS:
        raise LimitError("sections", f"at most {MAX_LIST_ROWS} rows in all sections together, not {total}")
    return result


def _list_row(field: str, row: object, seen_ids: set[str]) -> dict:
    if not isinstance(row, dict):
        raise LimitError(field, "must be an object with an id and a title")
    row_id = _identifier(f"{field}.id", row.get("id"), MAX_ROW_ID)
    if row_id in seen_ids:
        raise LimitError(f"{field}.id", f"{row_id!r} is already used by another row")
    seen_ids.add(row_id)
    built = {"id": row_id, "title": _text(f"{field}.title", row.get("title"), MAX_ROW_TITLE)}
    if row.get("description"):
        built["description"] = _text(f"{field}.description", row["description"], MAX_ROW_DESCRIPTION)
    return built


def media(
    to: str,
    kind: str,
    *,
    link: str | None = None,
    media_id: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """An image, audio, video, document or sticker, by public https link or by uploaded media id."""
    if kind not in MEDIA_RULES:
        raise LimitError("kind", f"must be one of {', '.join(sorted(MEDIA_RULES))}")
    content = _media_source("media", link, media_id)
    if caption:
        if kind in ("audio", "sticker"):
            raise LimitError("caption", f"a {kind} cannot have a caption")
        content["caption"] = _text("caption", caption, MAX_CAPTION)
    if filename:
        if kind != "document":
            raise LimitError("filename", "only a document has a filename")
        content["filename"] = _text("filename", filename, 240)
    return _message(to, kind, content, reply_to)


def _media_source(field: str, link: object, media_id: object) -> dict:
    if bool(link) == bool(media_id):
        raise LimitError(field, "give exactly one of a link or a media id")
    if link:
        # Meta fetches media links over HTTPS only (CLOUD_API.md, media); an http:// link fails there.
        if not isinstance(link, str) or not link.startswith("https://") or len(link) <= len("https://"):
            raise LimitError(f"{field}.link", "must be an https:// URL")
        return {"link": link}
    if not isinstance(media_id, str) or not media_id.strip():
        raise LimitError(f"{field}.id", "must be a media id string")
    return {"id": media_id}


def location(
    to: str,
    latitude: float,
    longitude: float,
    *,
    name: str | None = None,
    address: str | None = None,
    reply_to: str | None = None,
) -> dict:
    """A location pin, optionally with the place's name and address."""
    content: dict = {
        "latitude": _coordinate("latitude", latitude, 90),
        "longitude": _coordinate("longitude", longitude, 180),
    }
    if name:
        content["name"] = _text("name", name, 1000)
    if address:
        content["address"] = _text("address", address, 1000)
    return _message(to, "location", content, reply_to)


def _coordinate(field: str, value: object, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -bound <= value <= bound:
        raise LimitError(field, f"must be a number from -{bound} to {bound}")
    return value


def contacts(to: str, cards: list[dict], *, reply_to: str | None = None) -> dict:
    """Contact cards in Meta's format; each needs name.formatted_name."""
    if not isinstance(cards, list) or not 1 <= len(cards) <= MAX_CONTACT_CARDS:
        raise LimitError("cards", f"1 to {MAX_CONTACT_CARDS} contact cards are required")
    for index, card in enumerate(cards):
        field = f"cards[{index}]"
        if not isinstance(card, dict):
            raise LimitError(field, "must be a contact card object")
        unknown = sorted(set(card) - CONTACT_CARD_KEYS)
        if unknown:
            raise LimitError(f"{field}.{unknown[0]}", "is not a contact card field")
        name = card.get("name")
        _text(f"{field}.name.formatted_name", name.get("formatted_name") if isinstance(name, dict) else None)
    return _message(to, "contacts", cards, reply_to)


def reaction(to: str, message_id: str, emoji: str) -> dict:
    """React to `message_id` with `emoji`; "" removes our reaction."""
    if not isinstance(emoji, str) or emoji != emoji.strip() or len(emoji) > 16:
        raise LimitError("emoji", "must be one emoji, or '' to remove the reaction")
    content = {"message_id": _wamid("message_id", message_id), "emoji": emoji}
    return _message(to, "reaction", content, None)


def mark_read(message_id: str, *, typing_indicator: bool = False) -> dict:
    """Mark `message_id` (and the messages before it) read; optionally show "typing…" for up to 25 s."""
    body: dict = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": _wamid("message_id", message_id),
    }
    if typing_indicator:
        body["typing_indicator"] = {"type": "text"}
    return body


def _message(to: str, kind: str, content: dict | list, reply_to: str | None) -> dict:
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient(to),
        "type": kind,
        kind: content,
    }
    if reply_to is not None:
        body["context"] = {"message_id": _wamid("reply_to", reply_to)}
    return body


def _text(field: str, value: object, limit: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LimitError(field, "must not be empty")
    if limit is not None and len(value) > limit:
        raise LimitError(field, f"at most {limit} characters, not {len(value)}")
    return value


def _wamid(field: str, value: object) -> str:
    """A WhatsApp message id ("wamid." and base64): reactions, replies and read receipts name one,
    and Meta refuses anything else after the message was queued."""
    value = _identifier(field, value, 512)
    if not WAMID.match(value):
        raise LimitError(field, "must be a WhatsApp message id (wamid.…)")
    return value


def _identifier(field: str, value: object, limit: int) -> str:
    # Meta: "no leading/trailing spaces"; a padded id would also never match on the way back.
    value = _text(field, value, limit)
    if value != value.strip():
        raise LimitError(field, "must not start or end with spaces")
    return value
