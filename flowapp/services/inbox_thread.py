"""A conversation's thread: loading messages and automation events, fingerprints for live updates,
read positions and WhatsApp read receipts. Flushes, never commits."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from rq import Retry
from sqlalchemy import and_, case, func, or_, select

from flowapp import transactions
from flowapp.extensions import db
from flowapp.models import (
    AutomationLog,
    AutomationRun,
    Conversation,
    ConversationRead,
    Message,
    User,
    utcnow,
)
from flowapp.services import settings
from flowapp.services.upsert import insert_or_ignore
from flowapp.work import Work

log = logging.getLogger("flowapp.inbox")

THREAD_PAGE = 50
HIDDEN_IN_THREAD = ("edit", "revoke")
THREAD_EVENTS = ("version", "ended", "handed_off", "paused_by_person", "resumed_by_person", "took_reply")
RECEIPTS_KEY = "inbox_read_receipts"
# Status ranks for the thread fingerprint: statuses only move forward, so their sum only grows.
_RANKS = {"received": 0, "queued": 1, "sent": 2, "delivered": 3, "read": 4, "played": 5, "failed": 7}


def load_thread(
    conversation: Conversation, *, since: Message | None = None, before: Message | None = None
) -> Thread:
    """The conversation's messages in time order: from `since` on (what an open page shows), the page
    before `before` (scrolling back), or the latest page; with the automation events among them."""
    query = select(Message).where(
        Message.conversation_id == conversation.id, Message.type.not_in(HIDDEN_IN_THREAD)
    )
    if since is not None:
        messages = list(db.session.scalars(query.where(_at_or_after(since)).order_by(*_ASC)))
        has_earlier = _exists_before(conversation, since)
    else:
        if before is not None:
            query = query.where(~_at_or_after(before))
        newest = list(db.session.scalars(query.order_by(*_DESC).limit(THREAD_PAGE + 1)))
        has_earlier = len(newest) > THREAD_PAGE
        messages = newest[:THREAD_PAGE][::-1]
    thread = Thread(messages, [], has_earlier=has_earlier)
    if messages:
        start = messages[0].created_at if has_earlier else None
        end = before.created_at if before is not None else None
        thread.events = _events(conversation.contact_id, start, end)
        thread.quoted = _quoted(messages)
    return thread


_ASC = (Message.created_at, Message.id)
_DESC = (Message.created_at.desc(), Message.id.desc())


def _at_or_after(anchor: Message):
    return or_(
        Message.created_at > anchor.created_at,
        and_(Message.created_at == anchor.created_at, Message.id >= anchor.id),
    )


def _exists_before(conversation: Conversation, anchor: Message) -> bool:
    query = select(Message.id).where(
        Message.conversation_id == conversation.id,
        Message.type.not_in(HIDDEN_IN_THREAD),
        ~_at_or_after(anchor),
    )
    return db.session.scalar(query.limit(1)) is not None


def _events(contact_id: int, start: datetime | None, end: datetime | None) -> list[AutomationLog]:
    query = (
        select(AutomationLog)
        .join(AutomationRun, AutomationRun.id == AutomationLog.run_id)
        .where(AutomationRun.contact_id == contact_id, AutomationLog.event.in_(THREAD_EVENTS))
    )
    if start is not None:
        query = query.where(AutomationLog.created_at >= start)
    if end is not None:
        query = query.where(AutomationLog.created_at < end)
    return list(db.session.scalars(query.order_by(AutomationLog.id.desc()).limit(200)))[::-1]


def _quoted(messages: list[Message]) -> dict[str, Message]:
    """Messages quoted by these ones (replies, reactions) that are not among them."""
    present = {m.wamid: m for m in messages if m.wamid}
    wanted = {m.reply_to_wamid for m in messages if m.reply_to_wamid} - set(present)
    if wanted:
        present.update(
            {m.wamid: m for m in db.session.scalars(select(Message).where(Message.wamid.in_(wanted)))}
        )
    return present


def find_message(conversation: Conversation, message_id: int | None) -> Message | None:
    """A message of this conversation by id (None for another conversation's or an unknown id)."""
    if not message_id:
        return None
    message = db.session.get(Message, message_id)
    return message if message is not None and message.conversation_id == conversation.id else None


def find_by_wamid(conversation: Conversation, wamid: str | None) -> Message | None:
    """A message of this conversation by Meta's id (what a reply quotes), or None."""
    if not wamid:
        return None
    return db.session.scalar(
        select(Message).where(Message.wamid == wamid, Message.conversation_id == conversation.id)
    )


def thread_fingerprint(conversation: Conversation, since: Message | None) -> tuple:
    """Changes with any new message, status, edit or deletion in view, and any automation event."""
    ranks = case(*((Message.status == s, r) for s, r in _RANKS.items()), else_=9)
    query = select(
        func.count(Message.id),
        func.max(Message.id),
        func.sum(ranks),
        func.max(Message.edited_at),
        func.max(Message.revoked_at),
    ).where(Message.conversation_id == conversation.id)
    if since is not None:
        query = query.where(_at_or_after(since))
    query = query.add_columns(_latest_log(conversation.contact_id).scalar_subquery())
    return tuple(db.session.execute(query).one())


def _latest_log(contact_id: int):
    """The newest activity-log id of the contact's runs (every step of a run writes one)."""
    return (
        select(func.max(AutomationLog.id))
        .join(AutomationRun, AutomationRun.id == AutomationLog.run_id)
        .where(AutomationRun.contact_id == contact_id)
    )


def panel_fingerprint(conversation: Conversation) -> tuple:
    """Changes with the conversation, its contact or any step of the contact's runs."""
    latest_log = db.session.scalar(_latest_log(conversation.contact_id))
    return (conversation.updated_at, conversation.contact.updated_at, latest_log)


def user_read_position(conversation: Conversation, user: User) -> int:
    row = db.session.get(ConversationRead, (conversation.id, user.id))
    return row.last_read_message_id if row else 0


# -- reading -----------------------------------------------------------------------------------


def mark_read(conversation: Conversation, user: User, upto_id: int) -> Work | None:
    """Move the user's read position to the customer's last message up to `upto_id` (flushed).

    Returns the read receipt for the caller to enqueue once it commits (`read_receipt`) when
    receipts are on and nobody had read that message yet; else None.
    """
    message = db.session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "in", Message.id <= upto_id)
        .order_by(Message.id.desc())
        .limit(1)
    )
    if message is None:
        return None
    anyone = db.session.scalar(
        select(func.max(ConversationRead.last_read_message_id)).where(
            ConversationRead.conversation_id == conversation.id
        )
    )
    insert_or_ignore(
        ConversationRead,
        {
            "conversation_id": conversation.id,
            "user_id": user.id,
            "last_read_message_id": 0,
            "read_at": utcnow(),
        },
        ["conversation_id", "user_id"],
    )
    row = db.session.get(ConversationRead, (conversation.id, user.id), populate_existing=True)
    if message.id > row.last_read_message_id:
        row.last_read_message_id = message.id
        row.read_at = utcnow()
    if message.id >= (conversation.last_inbound_message_id or 0) and conversation.unread_count:
        conversation.unread_count = 0
    db.session.flush()
    if read_receipts_enabled() and message.wamid and message.id > (anyone or 0):
        return read_receipt(message.id)
    return None


def read_receipts_enabled() -> bool:
    return bool(settings.get(RECEIPTS_KEY, False))


def set_read_receipts(enabled: bool) -> None:
    settings.put(RECEIPTS_KEY, bool(enabled))


def read_receipt(message_id: int) -> Work:
    """The job that marks an inbound message read on WhatsApp (one per message, retried)."""
    return Work(
        "send_read_receipt",
        (message_id,),
        job_id=f"read-receipt-{message_id}",
        options={"retry": Retry(max=3, interval=[10, 30, 120])},
    )


def send_read_receipt(message_id: int) -> str:
    """Tell WhatsApp the customer's message was read (blue ticks on their phone).

    Transient errors raise (the job is retried); a permanent refusal is logged and given up.
    """
    from flowapp.services import graph
    from flowapp.whatsapp.errors import Disposition, GraphError

    message = db.session.get(Message, message_id)
    if message is None or message.direction != "in" or not message.wamid:
        return "nothing to mark"
    wamid = message.wamid
    client = graph.client()  # first: it may read stored credentials, in this transaction
    transactions.before_network("marking a message read")
    try:
        return "marked" if client.mark_read(wamid) else "refused"
    except GraphError as exc:
        if exc.disposition in (Disposition.RETRY, Disposition.RECIPIENT_BACKOFF):
            raise
        log.warning("read receipt for message %s refused: %s", message_id, exc)
        return f"refused: {exc.reason}"


# -- labels ------------------------------------------------------------------


@dataclass
class Thread:
    messages: list[Message]
    events: list[AutomationLog]
    quoted: dict[str, Message] = field(default_factory=dict)
    has_earlier: bool = False
