"""A customer's message in: contact, conversation and message stored, in four statements.

Every write is idempotent: the contact and the conversation are upserted, and a message is
inserted once per wamid, so Meta's redeliveries and a retried event change nothing the second time.
The caller (flowapp/pipeline/contacts.py) holds the contact, so no other worker writes the same
contact meanwhile; the upsert still locks its row, which keeps automations' timeouts out until
this transaction ends.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from flowapp.extensions import db
from flowapp.models import Contact, Conversation, Message, utcnow
from flowapp.services.upsert import DIALECT_INSERT, insert_or_ignore
from flowapp.whatsapp.parsing import InboundMessage

log = logging.getLogger("flowapp.whatsapp.inbound")

PREVIEW_LENGTH = 200
# Meta's timestamps are the customer's send time; a clock ahead of ours must not open the window early.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Types that change an earlier message rather than adding to the thread.
AMENDING_TYPES = {"edit", "revoke"}


@dataclass
class Arrival:
    """What storing one inbound message found and made."""

    message: Message | None  # None: seen before (a redelivery), nothing else to do
    contact: Contact
    conversation: Conversation
    new_contact: bool  # the contact row was created by this message


def receive(inbound: InboundMessage) -> Arrival:
    """Upsert the sender's contact and conversation, and insert the message (flushed)."""
    now = utcnow()
    received = min(inbound.timestamp, now + MAX_CLOCK_SKEW)
    contact = _upsert_contact(inbound, received, now)
    conversation = _upsert_conversation(contact, now)
    message = _insert_message(_message_values(inbound, conversation, received))
    arrival = Arrival(message, contact, conversation, new_contact=contact.created_at == now)
    if message is None:
        return arrival  # a redelivery: stored and handled already
    set_committed_value(message, "conversation", conversation)
    if inbound.type in AMENDING_TYPES:
        _amend_target(inbound)
    _touch_conversation(conversation, message, received)
    db.session.flush()
    return arrival


def _upsert_contact(inbound: InboundMessage, received: datetime, now: datetime) -> Contact:
    """One statement: the contact, created on first contact, with its profile name, BSUID and
    inbound times kept current (the last inbound time opens or extends the 24-hour window)."""
    params = {
        "wa_id": inbound.wa_id,
        "profile_name": inbound.profile_name,
        "bsuid": inbound.bsuid,
        "received": received,
        "now": now,
    }
    statement = _contact_upsert(_dialect())
    return db.session.scalars(statement, params, execution_options={"populate_existing": True}).one()


def _upsert_conversation(contact: Contact, now: datetime) -> Conversation:
    """One statement: the contact's conversation, created on first use."""
    statement = _conversation_upsert(_dialect())
    params = {"contact_id": contact.id, "now": now}
    conversation = db.session.scalars(statement, params, execution_options={"populate_existing": True}).one()
    set_committed_value(conversation, "contact", contact)
    return conversation


# The statements are built once per dialect (with bind parameters): building and keying a
# statement costs more CPU than the database spends running it, and this runs for every message.


@functools.cache
def _contact_upsert(dialect: str):
    table = Contact.__table__.c
    received, now = (
        bindparam("received", type_=table.last_inbound_at.type),
        bindparam("now", type_=table.created_at.type),
    )
    statement = DIALECT_INSERT[dialect](Contact.__table__).values(
        wa_id=bindparam("wa_id"),
        profile_name=bindparam("profile_name"),
        bsuid=bindparam("bsuid"),
        fields={},
        tags=[],
        opted_out=False,
        first_inbound_at=received,
        last_inbound_at=received,
        created_at=now,
        updated_at=now,
    )
    later = or_(table.last_inbound_at.is_(None), statement.excluded.last_inbound_at > table.last_inbound_at)
    statement = statement.on_conflict_do_update(
        index_elements=["wa_id"],
        set_={
            "profile_name": func.coalesce(statement.excluded.profile_name, table.profile_name),
            "bsuid": func.coalesce(statement.excluded.bsuid, table.bsuid),
            "first_inbound_at": func.coalesce(table.first_inbound_at, statement.excluded.first_inbound_at),
            "last_inbound_at": case((later, statement.excluded.last_inbound_at), else_=table.last_inbound_at),
            "updated_at": statement.excluded.updated_at,
        },
    )
    return _as_entity(Contact, statement)


@functools.cache
def _conversation_upsert(dialect: str):
    now = bindparam("now", type_=Conversation.__table__.c.created_at.type)
    statement = DIALECT_INSERT[dialect](Conversation.__table__).values(
        contact_id=bindparam("contact_id"),
        labels=[],
        status="open",
        bot_paused=False,
        needs_human=False,
        unread_count=0,
        created_at=now,
        updated_at=now,
    )
    # A no-op update rather than DO NOTHING, so that RETURNING gives the existing row too.
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id"], set_={"contact_id": statement.excluded.contact_id}
    )
    return _as_entity(Conversation, statement)


@functools.cache
def _message_insert(dialect: str):
    columns = Message.__table__.c
    values = {name: bindparam(name, type_=columns[name].type) for name in _MESSAGE_COLUMNS}
    statement = (
        DIALECT_INSERT[dialect](Message.__table__)
        .values(**values, send_attempts=0)
        .on_conflict_do_nothing(index_elements=["wamid"])
    )
    return _as_entity(Message, statement)


def _as_entity(model, statement):
    """A Core INSERT ... RETURNING every column, loaded as `model` instances: half the CPU of an
    ORM-enabled INSERT (no bulk-persistence machinery), the same objects in the session."""
    return select(model).from_statement(statement.returning(*model.__table__.c))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def upsert_conversation(contact: Contact) -> Conversation:
    """The contact's conversation, created on first use (for sends and runs outside a webhook)."""
    conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    if conversation is None:
        insert_or_ignore(Conversation, {"contact_id": contact.id, "labels": []}, ["contact_id"])
        conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    return conversation


_MESSAGE_COLUMNS = (
    "conversation_id",
    "direction",
    "wamid",
    "type",
    "text",
    "payload",
    "status",
    "reply_to_wamid",
    "author_type",
    "error_code",
    "error_title",
    "error_details",
    "created_at",
)


def _message_values(inbound: InboundMessage, conversation: Conversation, received: datetime) -> dict:
    error = inbound.errors[0] if inbound.errors else None
    return {
        "conversation_id": conversation.id,
        "direction": "in",
        "wamid": inbound.wamid,
        "type": inbound.type,
        "text": inbound.text,
        "payload": _payload(inbound),
        "status": "received",
        "reply_to_wamid": inbound.context_wamid or inbound.target_wamid,
        "author_type": "contact",
        "error_code": error.code if error else None,
        "error_title": error.title if error else None,
        "error_details": error.details if error else None,
        "created_at": received,
    }


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


def _touch_conversation(conversation: Conversation, message: Message, received) -> None:
    """One statement: count the message unread, show it in the list if it is the latest, reopen."""
    if message.type in AMENDING_TYPES or message.type == "reaction":
        return  # they change earlier messages; the conversation's order and unread count stay
    latest = conversation.last_message_at is None or received >= conversation.last_message_at
    now = utcnow()
    db.session.execute(
        _TOUCH,
        {
            "conversation": conversation.id,
            "received": received,
            "preview": preview(message),
            "message_id": message.id,
            "now": now,
        },
    )
    # The session's copy follows, without a second round trip (the UPDATE above is the truth).
    changes = {"unread_count": conversation.unread_count + 1, "updated_at": now}
    if latest:
        changes.update(
            last_message_at=received,
            last_message_preview=preview(message),
            last_inbound_message_id=message.id,
        )
    if conversation.status == "closed":
        changes["status"] = "open"  # a customer writing again reopens the conversation
    for name, value in changes.items():
        set_committed_value(conversation, name, value)


def _conversation_touch():
    table = Conversation.__table__.c
    received = bindparam("received", type_=table.last_message_at.type)
    latest = or_(table.last_message_at.is_(None), received >= table.last_message_at)
    return (
        update(Conversation.__table__)
        .where(table.id == bindparam("conversation"))
        .values(
            # Atomic: an agent marking the conversation read at the same moment is not overwritten.
            unread_count=table.unread_count + 1,
            last_message_at=case((latest, received), else_=table.last_message_at),
            last_message_preview=case((latest, bindparam("preview")), else_=table.last_message_preview),
            last_inbound_message_id=case(
                (latest, bindparam("message_id")), else_=table.last_inbound_message_id
            ),
            status=case((table.status == "closed", "open"), else_=table.status),
            updated_at=bindparam("now", type_=table.updated_at.type),
        )
    )


_TOUCH = _conversation_touch()


def _insert_message(values: dict) -> Message | None:
    """INSERT ... ON CONFLICT (wamid) DO NOTHING RETURNING the row as a Message (one round trip)."""
    statement = _message_insert(_dialect())
    return db.session.scalars(statement, values, execution_options={"populate_existing": True}).first()


def preview(message: Message) -> str:
    """One line for the conversation list."""
    if message.text:
        return message.text[:PREVIEW_LENGTH]
    return f"[{message.type}]"
