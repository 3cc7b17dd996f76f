"""Meta's webhook JSON -> typed inbound messages and status updates (CLOUD_API.md section 2).

parse_webhook is forgiving by design: Meta adds fields and types without notice and retries a
webhook for 7 days when it is refused, so anything it does not understand is kept raw or skipped
with a note in `ignored`, never raised. Only a body that is not a webhook envelope at all raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flowapp.whatsapp.message_types import as_dict, as_str, read_content


class MalformedWebhook(ValueError):
    """The body is JSON but not a WhatsApp webhook envelope at all."""


@dataclass(frozen=True)
class ErrorDetail:
    """One of Meta's error objects, as found in value.errors[], messages[].errors[], statuses[].errors[]."""

    code: int | None
    title: str
    message: str
    details: str
    href: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """A message a WhatsApp user sent to one of our numbers."""

    wamid: str
    wa_id: str
    phone_number_id: str
    timestamp: datetime
    type: str
    text: str | None
    profile_name: str | None
    bsuid: str | None
    context_wamid: str | None
    forwarded: bool
    frequently_forwarded: bool
    referral: dict | None
    reply_id: str | None
    target_wamid: str | None
    media: dict | None
    data: dict | list | None
    errors: tuple[ErrorDetail, ...]
    payload: dict


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery status (sent, delivered, read, played, failed) of a message we sent."""

    wamid: str
    status: str
    timestamp: datetime
    recipient_id: str | None
    errors: tuple[ErrorDetail, ...]
    biz_opaque_callback_data: str | None
    phone_number_id: str
    payload: dict


@dataclass
class ParsedWebhook:
    """Everything one webhook POST carried, across all of its entries and changes."""

    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    errors: list[ErrorDetail] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def parse_webhook(payload: object) -> ParsedWebhook:
    """Parse a webhook body (already decoded from JSON) into messages, statuses and errors.

    Raises MalformedWebhook only when `payload` is not an object with an `entry` list.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("entry"), list):
        raise MalformedWebhook("not a WhatsApp webhook: expected an object with an 'entry' list")
    parsed = ParsedWebhook()
    for e, entry in enumerate(payload["entry"]):
        changes = as_dict(entry).get("changes")
        if not isinstance(changes, list):
            parsed.ignored.append(f"entry[{e}] has no changes list")
            continue
        for c, change in enumerate(changes):
            _parse_change(as_dict(change), f"entry[{e}].changes[{c}]", parsed)
    return parsed


def _parse_change(change: dict, where: str, parsed: ParsedWebhook) -> None:
    if change.get("field") != "messages":
        parsed.ignored.append(f"{where}: field {change.get('field')}")
        return
    value = change.get("value")
    if not isinstance(value, dict):
        parsed.ignored.append(f"{where}: no value object")
        return
    phone_number_id = as_str(as_dict(value.get("metadata")).get("phone_number_id")) or ""
    value_errors = parse_errors(value.get("errors"))
    parsed.errors.extend(value_errors)
    contacts = _contacts_by_wa_id(value.get("contacts"))
    for m, message in enumerate(_list(value.get("messages"))):
        context = _MessageContext(phone_number_id, contacts, value_errors, f"{where}.messages[{m}]")
        inbound = _parse_message(message, context, parsed.ignored)
        if inbound is not None:
            parsed.messages.append(inbound)
    for s, status in enumerate(_list(value.get("statuses"))):
        update = _parse_status(status, phone_number_id, f"{where}.statuses[{s}]", parsed.ignored)
        if update is not None:
            parsed.statuses.append(update)


@dataclass(frozen=True)
class _MessageContext:
    phone_number_id: str
    contacts: dict[str, dict]
    value_errors: tuple[ErrorDetail, ...]
    where: str


def _parse_message(message: object, ctx: _MessageContext, ignored: list[str]) -> InboundMessage | None:
    if not isinstance(message, dict) or not as_str(message.get("id")) or not as_str(message.get("from")):
        ignored.append(f"{ctx.where}: message skipped, it has no id or no from")
        return None
    wa_id = _sender(message["from"], ctx.contacts)
    contact = ctx.contacts.get(wa_id, {})
    context = as_dict(message.get("context"))
    kind, errors = _type_and_errors(message, ctx.value_errors)
    content = read_content(message) if kind == message.get("type") else read_content({})
    return InboundMessage(
        wamid=message["id"],
        wa_id=wa_id,
        phone_number_id=ctx.phone_number_id,
        timestamp=_timestamp(message.get("timestamp"), ctx.where, ignored),
        type=kind,
        text=content.text,
        profile_name=as_str(as_dict(contact.get("profile")).get("name")),
        bsuid=as_str(contact.get("user_id")) or as_str(message.get("from_user_id")),
        context_wamid=as_str(context.get("id")),
        forwarded=context.get("forwarded") is True,
        frequently_forwarded=context.get("frequently_forwarded") is True,
        referral=message["referral"] if isinstance(message.get("referral"), dict) else None,
        reply_id=content.reply_id,
        target_wamid=content.target_wamid,
        media=content.media,
        data=content.data,
        errors=errors,
        payload=message,
    )


def _type_and_errors(
    message: dict, value_errors: tuple[ErrorDetail, ...]
) -> tuple[str, tuple[ErrorDetail, ...]]:
    """The message type as Flowapp files it, and the errors that belong to the message.

    Older API versions said "unknown" for "unsupported". A message that names a type but carries no
    body for it, together with errors, is one Meta could not deliver to us: file it as unsupported.
    """
    kind = as_str(message.get("type")) or "unsupported"
    errors = parse_errors(message.get("errors"))
    if kind == "unknown":
        return "unsupported", errors or value_errors
    if kind == "unsupported":
        return kind, errors or value_errors
    if message.get(kind) is None and (errors or value_errors):
        return "unsupported", errors or value_errors
    return kind, errors


def _parse_status(
    status: object, phone_number_id: str, where: str, ignored: list[str]
) -> StatusUpdate | None:
    if not isinstance(status, dict) or not as_str(status.get("id")) or not as_str(status.get("status")):
        ignored.append(f"{where}: status skipped, it has no id or no status")
        return None
    return StatusUpdate(
        wamid=status["id"],
        status=status["status"],
        timestamp=_timestamp(status.get("timestamp"), where, ignored),
        recipient_id=as_str(status.get("recipient_id")),
        errors=parse_errors(status.get("errors")),
        biz_opaque_callback_data=as_str(status.get("biz_opaque_callback_data")),
        phone_number_id=phone_number_id,
        payload=status,
    )


def parse_errors(errors: object) -> tuple[ErrorDetail, ...]:
    """Meta's error objects as ErrorDetail; entries that are not objects are dropped."""
    return tuple(_error_detail(error) for error in _list(errors) if isinstance(error, dict))


def _error_detail(error: dict) -> ErrorDetail:
    code = error.get("code")
    title = as_str(error.get("title")) or ""
    return ErrorDetail(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        title=title,
        message=as_str(error.get("message")) or title,
        details=as_str(as_dict(error.get("error_data")).get("details")) or "",
        href=as_str(error.get("href")),
    )


def _sender(sender: str, contacts: dict[str, dict]) -> str:
    """The sender's wa_id: `from` as Meta sends it (digits); when `from` is not digits (Meta's own
    documentation samples carry placeholders there) and the delivery names exactly one contact with
    a numeric wa_id, that one."""
    if not sender.isdigit() and len(contacts) == 1:
        only = next(iter(contacts))
        if only.isdigit():
            return only
    return sender


def _contacts_by_wa_id(contacts: object) -> dict[str, dict]:
    found = {}
    for contact in _list(contacts):
        wa_id = as_str(as_dict(contact).get("wa_id"))
        if wa_id:
            found[wa_id] = contact
    return found


def _timestamp(value: object, where: str, ignored: list[str]) -> datetime:
    """Meta's unix-seconds string as aware UTC; the time of parsing (with a note) when it is unusable."""
    try:
        if isinstance(value, bool):
            raise TypeError("a boolean is not a timestamp")
        return datetime.fromtimestamp(int(float(value)), tz=UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        ignored.append(f"{where}: timestamp {value!r} unusable, the time of parsing is used")
        return datetime.now(tz=UTC)


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Route:
    """A stream a webhook body belongs to. "contact": the messages of one sender, handled in
    arrival order, one at a time; "bulk": statuses, errors and everything else, which need no order."""

    lane: str
    contact_key: str | None
    phone_number_id: str | None


BULK = "bulk"
CONTACT = "contact"


def routes(payload: object) -> list[Route]:
    """The streams of a decoded webhook body, contacts first, each once.

    Cheap by design (it runs while Meta waits for the 200): it reads only `metadata`, `contacts`,
    `messages[].from` and whether anything else is there. A body that is not a webhook envelope
    goes to the bulk lane, which records it as malformed.
    """
    found: dict[tuple, Route] = {}
    bulk_number = None
    needs_bulk = False
    for entry in _list(as_dict(payload).get("entry")) or [None]:
        changes = _list(as_dict(entry).get("changes"))
        needs_bulk = needs_bulk or not changes
        for change in changes:
            value = as_dict(as_dict(change).get("value"))
            number = as_str(as_dict(value.get("metadata")).get("phone_number_id"))
            contacts = _contacts_by_wa_id(value.get("contacts"))
            # Value-level errors that come with messages are the messages' own (parse_webhook files them
            # there); only statuses, errors alone and other fields need the bulk lane.
            rest = as_dict(change).get("field") != "messages" or bool(value.get("statuses"))
            for message in _list(value.get("messages")):
                sender = as_str(as_dict(message).get("from"))
                wa_id = _sender(sender, contacts) if sender else None
                if wa_id and is_phone_number(wa_id):
                    found.setdefault((CONTACT, wa_id), Route(CONTACT, wa_id, number))
                else:
                    rest = True  # skipped in the bulk lane, with a note saying why
            if rest or not value.get("messages"):
                needs_bulk = True
                bulk_number = bulk_number or number
    if needs_bulk or not found:
        found[(BULK, None)] = Route(BULK, None, bulk_number)
    return list(found.values())


def is_phone_number(wa_id: str) -> bool:
    """A WhatsApp id Flowapp can file a contact under: 5 to 20 digits."""
    return wa_id.isdigit() and 5 <= len(wa_id) <= 20


def storable(document: object) -> object:
    """`document` made storable: NUL characters dropped, lone surrogates (which JSON's \\ud800
    escapes can produce, and no database stores) replaced by U+FFFD, NaN and infinities (which
    Python's json reads, and JSON columns refuse) made null. What Meta sent is kept raw in the
    webhook event; this is what Flowapp files."""
    if isinstance(document, str):
        return _storable_text(document)
    if isinstance(document, float):
        return document if math.isfinite(document) else None
    if not isinstance(document, dict | list):
        return document
    root = {"": document}
    stack = [root]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str):
                node[key] = _storable_text(value)
            elif isinstance(value, float) and not math.isfinite(value):
                node[key] = None
            elif isinstance(value, dict | list):
                stack.append(value)
            if isinstance(node, dict) and isinstance(key, str) and _storable_text(key) != key:
                node[_storable_text(key)] = node.pop(key)
    return root[""]


def _storable_text(text: str) -> str:
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16 with surrogatepass: real pairs survive, a lone half decodes as U+FFFD.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text
