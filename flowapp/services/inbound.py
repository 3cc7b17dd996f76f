"""Applying a stored webhook event: contacts, conversations and messages in; statuses out.

Every write is idempotent: a message is inserted once per wamid, a status once per (wamid, status),
so Meta's redeliveries and a retried job change nothing the second time.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Contact, Conversation, Message, WebhookEvent, utcnow
from flowapp.services import statuses
from flowapp.services.upsert import DIALECT_INSERT, insert_or_ignore
from flowapp.whatsapp.parsing import InboundMessage, MalformedWebhook, parse_webhook

log = logging.getLogger("flowapp.whatsapp.inbound")

PREVIEW_LENGTH = 200
# Meta's timestamps are the customer's send time; a clock ahead of ours must not open the window early.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Types that change an earlier message rather than adding to the thread.
AMENDING_TYPES = {"edit", "revoke"}


def process_event(event_id: int) -> str:
    """Parse and apply one stored event. Returns a short outcome for the job's result."""
    event = db.session.get(WebhookEvent, event_id, with_for_update=True)
    if event is None:
        return "missing"
    if event.processed_at is not None:
        return "already processed"
    try:
        parsed = parse_webhook(json.loads(event.body))
    except (ValueError, MalformedWebhook) as exc:
        event.error = f"not a WhatsApp webhook: {exc}"
        event.processed_at = utcnow()
        log.warning("webhook event %s is not a WhatsApp webhook: %s", event_id, exc)
        return "malformed"
    unusable = [m for m in parsed.messages if not _is_phone(m.wa_id)]
    for m in unusable:
        parsed.ignored.append(
            f"message {m.wamid[:60]} skipped: its sender {m.wa_id[:40]!r} is not a phone number"
        )
    new_messages = [message for m in parsed.messages if m not in unusable and (message := store_message(m))]
    applied = sum(statuses.record(s) for s in parsed.statuses)
    for error in parsed.errors:
        log.warning(
            "webhook event %s carries error %s: %s (%s)", event_id, error.code, error.title, error.details
        )
    notes = [f"error {e.code}: {e.title}" for e in parsed.errors] + parsed.ignored
    event.error = "; ".join(notes)[:2000] or None
    event.processed_at = utcnow()
    db.session.flush()
    from flowapp.services import runner  # the automation layer's one entry point

    for message in new_messages:
        runner.handle_inbound(message)
    return f"{len(new_messages)} messages, {applied} statuses"


def _is_phone(wa_id: str) -> bool:
    return wa_id.isdigit() and 5 <= len(wa_id) <= 20


def store_message(inbound: InboundMessage) -> Message | None:
    """Upsert the contact and conversation and insert the message. None when it was seen before."""
    contact = upsert_contact(inbound)
    conversation = upsert_conversation(contact)
    received = min(inbound.timestamp, utcnow() + MAX_CLOCK_SKEW)
    message = _insert_message(
        {
            "conversation_id": conversation.id,
            "direction": "in",
            "wamid": inbound.wamid,
            "type": inbound.type,
            "text": inbound.text,
            "payload": _payload(inbound),
            "status": "received",
            "reply_to_wamid": inbound.context_wamid or inbound.target_wamid,
            "author_type": "contact",
            "error_code": inbound.errors[0].code if inbound.errors else None,
            "error_title": inbound.errors[0].title if inbound.errors else None,
            "error_details": inbound.errors[0].details if inbound.errors else None,
            "created_at": received,
        },
    )
    if message is None:
        return None  # a redelivery: stored and handled already
    message.conversation = conversation
    if inbound.type in AMENDING_TYPES:
        _amend_target(inbound)
    _touch_contact(contact, received)
    _touch_conversation(conversation, message, received)
    return message


def upsert_contact(inbound: InboundMessage) -> Contact:
    """The contact for the sender, created on first contact; profile name and BSUID kept current."""
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == inbound.wa_id))
    if contact is None:  # first contact (a concurrent insert of the same number is tolerated)
        insert_or_ignore(Contact, {"wa_id": inbound.wa_id, "fields": {}, "tags": []}, ["wa_id"])
        contact = db.session.scalar(select(Contact).where(Contact.wa_id == inbound.wa_id))
    if inbound.profile_name and contact.profile_name != inbound.profile_name:
        contact.profile_name = inbound.profile_name
    if inbound.bsuid and contact.bsuid != inbound.bsuid:
        contact.bsuid = inbound.bsuid
    return contact


def upsert_conversation(contact: Contact) -> Conversation:
    """The contact's conversation, created on first use."""
    conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    if conversation is None:
        insert_or_ignore(Conversation, {"contact_id": contact.id, "labels": []}, ["contact_id"])
        conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    return conversation


def _payload(inbound: InboundMessage) -> dict:
    payload = {"message": inbound.payload}
    for key in ("media", "data", "referral"):
        value = getattr(inbound, key)
        if value:
            payload[key] = value
    if inbound.forwarded or inbound.frequently_forwarded:
        payload["forwarded"] = "frequently" if inbound.frequently_forwarded else "once"
    if inbound.reply_id:
        payload["reply_id"] = inbound.reply_id
    if inbound.errors:
        payload["errors"] = [error.__dict__ for error in inbound.errors]
    return payload


def _amend_target(inbound: InboundMessage) -> None:
    """An edit replaces the text of the message it edits; a revoke marks it deleted."""
    target = db.session.scalar(select(Message).where(Message.wamid == inbound.target_wamid))
    if target is None:
        log.info("%s of unknown message %s kept on its own", inbound.type, inbound.target_wamid)
        return
    if inbound.type == "edit":
        target.payload = {**target.payload, "original_text": target.payload.get("original_text", target.text)}
        target.text = inbound.text
        target.edited_at = inbound.timestamp
    else:
        target.revoked_at = inbound.timestamp


def _touch_contact(contact: Contact, received) -> None:
    if contact.first_inbound_at is None:
        contact.first_inbound_at = received
    if contact.last_inbound_at is None or received > contact.last_inbound_at:
        contact.last_inbound_at = received  # opens (or extends) the 24-hour window


def _touch_conversation(conversation: Conversation, message: Message, received) -> None:
    if message.type in AMENDING_TYPES or message.type == "reaction":
        return  # they change earlier messages; the conversation's order and unread count stay
    # Atomic: an agent marking the conversation read at the same moment must not be overwritten.
    conversation.unread_count = Conversation.unread_count + 1
    if conversation.last_message_at is None or received >= conversation.last_message_at:
        conversation.last_message_at = received
        conversation.last_message_preview = preview(message)
        conversation.last_inbound_message_id = message.id
    if conversation.status == "closed":
        conversation.status = "open"  # a customer writing again reopens the conversation


def _insert_message(values: dict) -> Message | None:
    """INSERT ... ON CONFLICT (wamid) DO NOTHING RETURNING the row as a Message (one round trip)."""
    insert = DIALECT_INSERT[db.session.get_bind().dialect.name]
    statement = (
        insert(Message).values(**values).on_conflict_do_nothing(index_elements=["wamid"]).returning(Message)
    )
    return db.session.scalars(statement, execution_options={"populate_existing": True}).first()


def preview(message: Message) -> str:
    """One line for the conversation list."""
    if message.text:
        return message.text[:PREVIEW_LENGTH]
    return f"[{message.type}]"
