"""Delivery statuses: stored once per (wamid, status), applied to messages only ever forwards.

Meta sends statuses out of order and more than once; `read` may come without `delivered`, and a
status may arrive before the send job has stored the wamid it belongs to. Such a status waits here,
unapplied, until `apply_pending()` runs for the message.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import STATUS_ORDER, Message, StatusEvent, utcnow
from flowapp.services.upsert import insert_or_ignore
from flowapp.whatsapp.parsing import StatusUpdate

log = logging.getLogger("flowapp.whatsapp.statuses")

CALLBACK_PREFIX = "flowapp:"
_TIMESTAMP_FIELD = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "played": "read_at"}


def callback_data(message_id: int) -> str:
    """What we send as biz_opaque_callback_data, so that a status can name its message."""
    return f"{CALLBACK_PREFIX}{message_id}"


def record(update: StatusUpdate) -> bool:
    """Store a status once and apply it if its message is known. Returns True when it was new."""
    event_id = insert_or_ignore(
        StatusEvent,
        {
            "wamid": update.wamid,
            "status": update.status,
            "timestamp": update.timestamp,
            "errors": [error.__dict__ for error in update.errors],
            "payload": update.payload,
        },
        ["wamid", "status"],
    )
    if event_id is None:
        return False
    message = db.session.scalar(select(Message).where(Message.wamid == update.wamid))
    if message is None:
        message = _adopt_orphan(update)
    if message is None:
        log.info("status %s for unknown %s kept until the message appears", update.status, update.wamid)
        return True
    event = db.session.get(StatusEvent, event_id)
    apply(message, event)
    return True


def apply_pending(message: Message) -> int:
    """Apply statuses that arrived before the message had its wamid. Returns how many."""
    if not message.wamid:
        return 0
    pending = db.session.scalars(
        select(StatusEvent).where(StatusEvent.wamid == message.wamid, StatusEvent.applied_at.is_(None))
    ).all()
    for event in sorted(pending, key=lambda e: STATUS_ORDER.get(e.status, 99)):
        apply(message, event)
    return len(pending)


def apply(message: Message, event: StatusEvent) -> None:
    """Move the message's status forward (never back) and record the time and any error."""
    event.applied_at = utcnow()
    if event.status == "failed":
        _apply_failed(message, event)
        return
    rank = STATUS_ORDER.get(event.status)
    if rank is None:
        log.info("status %r for message %s ignored (unknown status)", event.status, message.id)
        return
    _set_time(message, event.status, event.timestamp)
    if event.status == "read":
        _set_time(message, "delivered", event.timestamp)  # read implies delivered (Meta may skip it)
    if message.status == "failed":
        return
    if rank > STATUS_ORDER.get(message.status, -1):
        message.status = event.status


def _apply_failed(message: Message, event: StatusEvent) -> None:
    error = event.errors[0] if event.errors else {}
    message.error_code = error.get("code")
    message.error_title = error.get("title") or error.get("message")
    message.error_details = error.get("details")
    message.failed_at = message.failed_at or event.timestamp
    if message.status in ("queued", "sent"):
        message.status = "failed"


def _set_time(message: Message, status: str, at: datetime) -> None:
    field = _TIMESTAMP_FIELD[status]
    if getattr(message, field) is None:
        setattr(message, field, at)


def _adopt_orphan(update: StatusUpdate) -> Message | None:
    """A status for a send whose worker died after Meta accepted it but before it stored the wamid.

    The callback data names our message, so the wamid is attached now and the message counts as
    sent instead of being sent again.
    """
    data = update.biz_opaque_callback_data or ""
    if not data.startswith(CALLBACK_PREFIX) or not data[len(CALLBACK_PREFIX) :].isdigit():
        return None
    message = db.session.get(Message, int(data[len(CALLBACK_PREFIX) :]))
    if message is None or message.wamid or message.direction != "out":
        return None
    from flowapp.services import delivery

    delivery.mark_sent(message, update.wamid, sent_at=update.timestamp)
    log.warning(
        "message %s adopted wamid %s from a status webhook (its send was not recorded)",
        message.id,
        update.wamid,
    )
    return message
