"""Queueing outbound messages: every check happens here, before anything is queued.

`queue_message()` turns a content dict into Meta's request body (WhatsApp's limits checked, the
24-hour rule, templates and opt-outs enforced), stores it as a Message with status `queued` plus an outbox
row, and flushes. It asks for a drain of the outbox once the caller commits (`work.after_commit`), so a
job never looks for a row that is not committed yet.

Content dicts (the same shape the JSON API and the automation engine use):
    {"type": "text", "text": "...", "preview_url": false}
    {"type": "template", "name": "...", "language": "en_US", "components": [...]}
    {"type": "buttons", "body": "...", "buttons": [{"id", "title"}], "header": {...}, "footer": "..."}
    {"type": "list", "body": "...", "button": "...", "sections": [...], "header": "...", "footer": "..."}
    {"type": "image"|"audio"|"video"|"document"|"sticker", "link" | "media_id": ..., "caption", "filename"}
    {"type": "location", "latitude", "longitude", "name", "address"}
    {"type": "contacts", "contacts": [...]}
    {"type": "reaction", "message_id": "wamid...", "emoji": "👍"}
Any of them may carry "reply_to": "wamid..." to quote a message.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flowapp import work
from flowapp.extensions import db
from flowapp.models import Contact, Conversation, Message, OutboxEntry, utcnow
from flowapp.services import outbox, templates
from flowapp.services.inbound import preview, upsert_conversation
from flowapp.whatsapp import payloads
from flowapp.whatsapp.payloads import LimitError

WINDOW = timedelta(hours=24)
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
AUTHOR_TYPES = ("user", "run", "system", "api")


class SendRefused(ValueError):
    """A message that must not be queued; `field` names what is wrong, `reason` says why for people."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def window_open(contact: Contact, now: datetime | None = None) -> bool:
    """Whether the contact wrote in the last 24 hours (free-form messages allowed)."""
    if contact.last_inbound_at is None:
        return False
    return (now or utcnow()) - contact.last_inbound_at < WINDOW


def window_closes_at(contact: Contact) -> datetime | None:
    return contact.last_inbound_at + WINDOW if contact.last_inbound_at else None


def outside_window_reason(contact: Contact) -> str:
    if contact.last_inbound_at is None:
        return "This contact has never written to you: only an approved template can start the conversation."
    return (
        "More than 24 hours have passed since the customer's last message: WhatsApp only allows an "
        "approved template now. Send a template instead."
    )


def queue_message(
    target: Contact | Conversation,
    content: dict,
    *,
    author_type: str = "user",
    author_user_id: int | None = None,
    run_id: int | None = None,
    node_id: str | None = None,
) -> Message:
    """Check and queue one message (flushed, not committed). Raises SendRefused."""
    conversation = target if isinstance(target, Conversation) else upsert_conversation(target)
    contact = conversation.contact
    kind = content.get("type")
    if author_type not in AUTHOR_TYPES:
        raise ValueError(f"unknown author type {author_type!r}")
    if contact.opted_out and kind == "template":
        refuse_marketing(content)
    if kind != "template" and not window_open(contact):
        raise SendRefused("type", outside_window_reason(contact))
    body, text = build_body(contact.wa_id, content)
    now = utcnow()
    message = Message(
        conversation=conversation,
        direction="out",
        type=kind,
        text=text,
        status="queued",
        queued_at=now,
        payload={"request": body},
        reply_to_wamid=content.get("reply_to"),
        author_type=author_type,
        author_user_id=author_user_id,
        author_run_id=run_id,
        node_id=node_id,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    db.session.add(OutboxEntry(message_id=message.id, conversation_id=conversation.id))
    if kind != "reaction":
        conversation.last_message_at = now
        conversation.last_message_preview = preview(message)
    work.after_commit(outbox.DRAIN)
    db.session.flush()
    return message


def refuse_marketing(content: dict) -> None:
    """Raise SendRefused when `content` is a MARKETING template: the contact opted out. Utility and
    authentication templates, and free-form replies in the open window, still go (as WhatsApp
    itself treats an opt-out: it stops marketing, not service)."""
    template = templates.find(content.get("name") or "", content.get("language") or "")
    if template is not None and (template.category or "").upper() == "MARKETING":
        raise SendRefused(
            "contact",
            f"This contact opted out of marketing messages: {template.name!r} is a MARKETING template. "
            "Utility and authentication templates, and replies while the conversation is open, are "
            "still allowed.",
        )


def build_body(wa_id: str, content: dict) -> tuple[dict, str | None]:
    """Meta's request body for `content`, and the text shown for it in the inbox. Raises SendRefused."""
    kind = content.get("type")
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise SendRefused("type", f"cannot send messages of type {kind!r}")
    try:
        return builder(wa_id, content, content.get("reply_to"))
    except LimitError as exc:
        raise SendRefused(exc.field, exc.message) from None
    except (KeyError, TypeError) as exc:
        raise SendRefused(str(exc).strip("'"), "is missing or has the wrong type") from None


def _text(to, c, reply_to):
    return payloads.text(
        to, c.get("text", ""), preview_url=bool(c.get("preview_url")), reply_to=reply_to
    ), c.get("text")


def _template(to, c, reply_to):
    components = c.get("components") or []
    templates.check_send(c["name"], c["language"], components)
    body = payloads.template(to, c["name"], c["language"], components, reply_to=reply_to)
    return body, templates.render_preview(c["name"], c["language"], components)


def _buttons(to, c, reply_to):
    body = payloads.buttons(
        to, c["body"], c["buttons"], header=c.get("header"), footer=c.get("footer"), reply_to=reply_to
    )
    return body, c["body"]


def _list(to, c, reply_to):
    body = payloads.list_message(
        to,
        c["body"],
        c["button"],
        c["sections"],
        header=c.get("header"),
        footer=c.get("footer"),
        reply_to=reply_to,
    )
    return body, c["body"]


def _media(to, c, reply_to):
    body = payloads.media(
        to,
        c["type"],
        link=c.get("link"),
        media_id=c.get("media_id"),
        caption=c.get("caption"),
        filename=c.get("filename"),
        reply_to=reply_to,
    )
    return body, c.get("caption") or c.get("filename")


def _location(to, c, reply_to):
    body = payloads.location(
        to, c["latitude"], c["longitude"], name=c.get("name"), address=c.get("address"), reply_to=reply_to
    )
    return body, c.get("name") or f"{c['latitude']}, {c['longitude']}"


def _contacts(to, c, reply_to):
    return payloads.contacts(to, c["contacts"], reply_to=reply_to), "Contact card"


def _reaction(to, c, _reply_to):
    return payloads.reaction(to, c["message_id"], c.get("emoji", "")), c.get("emoji", "")


_BUILDERS = {
    "text": _text,
    "template": _template,
    "buttons": _buttons,
    "list": _list,
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    **{kind: _media for kind in MEDIA_TYPES},
}
