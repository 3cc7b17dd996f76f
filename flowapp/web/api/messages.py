"""Messages and conversations: send, list, filter, mark read."""

from __future__ import annotations

from flask import g, jsonify, request, url_for
from sqlalchemy import select

from flowapp import work
from flowapp.extensions import db
from flowapp.models import Contact, Conversation, Message
from flowapp.services import contacts, inbox_thread
from flowapp.services.outbound import SendRefused, queue_message
from flowapp.services.upsert import insert_or_ignore
from flowapp.web.api import bp
from flowapp.web.api import serialize as show
from flowapp.web.api.common import ApiError, choice_arg, int_arg, is_id, json_body, paginate, time_arg

STATUSES = ("queued", "sent", "delivered", "read", "played", "failed", "received")


@bp.post("/messages/send")
def send():
    """Queue one message (text, template, buttons, list, media, location, contacts, reaction)."""
    data = json_body()
    content = data.get("message")
    if not isinstance(content, dict):
        raise ApiError(400, "invalid_request", "message must be an object with a type.", field="message")
    target = _recipient(data)
    try:
        message = queue_message(target, content, author_type="api", author_user_id=g.api_user.id)
    except SendRefused as exc:
        raise ApiError(422, "send_refused", exc.reason, field=exc.field) from None
    db.session.commit()  # the outbox is kicked once this commits
    response = jsonify(show.message(message))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_message", message_id=message.id)
    return response


def _recipient(data: dict) -> Contact | Conversation:
    """The contact named by conversation_id, contact_id or `to` (a number; new numbers are added)."""
    if data.get("conversation_id") is not None:
        return _get(Conversation, data["conversation_id"], "conversation")
    if data.get("contact_id") is not None:
        return _get(Contact, data["contact_id"], "contact")
    if "to" not in data:
        raise ApiError(
            400, "invalid_request", "Name the recipient: to, contact_id or conversation_id.", field="to"
        )
    try:
        wa_id = contacts.normalize_number(data["to"])
    except contacts.ContactError as exc:
        raise ApiError(422, "invalid_number", exc.reason, field="to") from None
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == wa_id))
    if contact is None:
        insert_or_ignore(Contact, {"wa_id": wa_id, "fields": {}, "tags": []}, ["wa_id"])
        contact = db.session.scalar(select(Contact).where(Contact.wa_id == wa_id))
    return contact


def _get(model, raw_id, name: str):
    if not is_id(raw_id):
        raise ApiError(
            400, "invalid_request", f"{name}_id must be a positive whole number.", field=f"{name}_id"
        )
    row = db.session.get(model, raw_id)
    if row is None:
        raise ApiError(404, "not_found", f"No {name} {raw_id}.")
    return row


@bp.get("/messages/<id:message_id>")
def get_message(message_id: int):
    """One message with its delivery status."""
    return jsonify(show.message(_found(Message, message_id, "message")))


@bp.get("/messages")
def list_messages():
    """Messages, newest first; filters: conversation_id, wa_id, direction, status, since, until."""
    query = select(Message)
    conversation_id = int_arg("conversation_id", minimum=1)
    if conversation_id is not None:
        query = query.where(Message.conversation_id == conversation_id)
    wa_id = _wa_id_arg()
    if wa_id is not None:
        query = query.join(Conversation, Conversation.id == Message.conversation_id).join(
            Contact, Contact.id == Conversation.contact_id
        )
        query = query.where(Contact.wa_id == wa_id)
    direction = choice_arg("direction", ("in", "out"))
    if direction:
        query = query.where(Message.direction == direction)
    status = choice_arg("status", STATUSES)
    if status:
        query = query.where(Message.status == status)
    since, until = time_arg("since"), time_arg("until")
    if since is not None:
        query = query.where(Message.created_at >= since)
    if until is not None:
        query = query.where(Message.created_at < until)
    return paginate(query, Message.id, show.message)


def _wa_id_arg() -> str | None:
    raw = request.args.get("wa_id")
    if not raw:
        return None
    try:
        return contacts.normalize_number(raw)
    except contacts.ContactError as exc:
        raise ApiError(400, "invalid_parameter", exc.reason, field="wa_id") from None


@bp.put("/messages/<id:message_id>/status")
def set_status(message_id: int):
    """Mark an inbound message read: the conversation is read up to it, and WhatsApp shows the
    customer blue ticks (a worker sends the read receipt once this commits)."""
    message = _found(Message, message_id, "message")
    data = json_body()
    if data.get("status") != "read":
        raise ApiError(422, "invalid_status", 'The only status a client can set is "read".', field="status")
    if message.direction != "in":
        raise ApiError(
            422, "not_inbound", "Only messages from the customer can be marked read.", field="status"
        )
    receipt = inbox_thread.mark_read(message.conversation, g.api_user, message.id)
    if message.wamid:
        # Asked for explicitly, so sent whatever the inbox's automatic receipts setting says (the
        # same job as the inbox's own receipt, which it replaces).
        receipt = inbox_thread.read_receipt(message.id)
    if receipt is not None:
        work.after_commit(receipt)
    db.session.commit()
    return jsonify(show.message(message))


@bp.get("/conversations")
def list_conversations():
    """Conversations, newest first; filters: status, wa_id, needs_human."""
    query = select(Conversation)
    status = choice_arg("status", ("open", "pending", "closed"))
    if status:
        query = query.where(Conversation.status == status)
    wa_id = _wa_id_arg()
    if wa_id is not None:
        query = query.join(Contact, Contact.id == Conversation.contact_id).where(Contact.wa_id == wa_id)
    needs_human = choice_arg("needs_human", ("true", "false"))
    if needs_human:
        query = query.where(Conversation.needs_human.is_(needs_human == "true"))
    return paginate(query, Conversation.id, show.conversation)


@bp.get("/conversations/<id:conversation_id>/messages")
def conversation_messages(conversation_id: int):
    """One conversation's messages, newest first."""
    _found(Conversation, conversation_id, "conversation")
    query = select(Message).where(Message.conversation_id == conversation_id)
    return paginate(query, Message.id, show.message, conversation_id=conversation_id)


def _found(model, row_id: int, name: str):
    row = db.session.get(model, row_id)
    if row is None:
        raise ApiError(404, "not_found", f"No {name} {row_id}.")
    return row
