"""Delivery statuses: stored once per (wamid, status), applied to messages only ever forwards.

Meta sends statuses out of order and more than once; `read` may come without `delivered`, and a
status may arrive before the send job has stored the wamid it belongs to. Such a status waits here,
unapplied, until `apply_pending()` runs for the message.

Statuses come in thousands per second on a busy number (sent, delivered and read for every send),
and need no order between them, so they are applied in batches: `apply_batch` stores and applies a
whole batch in one statement on PostgreSQL, and in a handful on SQLite.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects import postgresql

from flowapp import work
from flowapp.extensions import db
from flowapp.models import STATUS_ORDER, Message, OutboxEntry, StatusEvent, WebhookEvent, utcnow
from flowapp.services.upsert import DIALECT_INSERT
from flowapp.whatsapp.errors import STOPPED_MARKETING
from flowapp.whatsapp.parsing import StatusUpdate

log = logging.getLogger("flowapp.whatsapp.statuses")

CALLBACK_PREFIX = "flowapp:"
# How far back the sweep looks for statuses that passed their send's commit (a matter of seconds).
OVERTAKEN_WITHIN = timedelta(minutes=10)
_TIMESTAMP_FIELD = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "played": "read_at"}
# Which timestamps a status fills: read (and played) imply delivered, as Meta may skip `delivered`.
_FILLS = {
    "sent": ("sent",),
    "delivered": ("delivered",),
    "read": ("delivered", "read"),
    "played": ("delivered", "read"),
}


def callback_data(message_id: int) -> str:
    """What we send as biz_opaque_callback_data, so that a status can name its message."""
    return f"{CALLBACK_PREFIX}{message_id}"


def apply_batch(updates: list[StatusUpdate], event_ids: list[int]) -> int:
    """Store and apply a batch of statuses, and mark the webhook events they came in as processed.

    Idempotent: a (wamid, status) seen before changes nothing. Returns how many statuses were new.
    The caller commits.
    """
    now = utcnow()
    unique = _first_of_each(updates)
    if db.session.get_bind().dialect.name == "postgresql":
        new, unapplied = _apply_postgresql(unique, event_ids, now)
    else:
        new, unapplied = _apply_sqlite(unique, event_ids, now)
    for update_ in unapplied:
        message = _adopt_orphan(update_)
        if message is None:
            log.info("status %s for unknown %s kept until the message appears", update_.status, update_.wamid)
    _stopped_marketing(unique)
    return new


def _stopped_marketing(updates: list[StatusUpdate]) -> None:
    """A failed status with error 131050: the customer stopped marketing messages in WhatsApp. Their
    opt-out is a job after this commit, not a contact lock taken while the batch holds messages."""
    wa_ids = {
        update_.recipient_id
        for update_ in updates
        if update_.status == "failed"
        and update_.recipient_id
        and any(error.code == STOPPED_MARKETING for error in update_.errors)
    }
    if wa_ids:
        work.after_commit(work.Work("stopped_marketing", (sorted(wa_ids),)))


def _first_of_each(updates: list[StatusUpdate]) -> list[StatusUpdate]:
    """One update per (wamid, status), the first (the unique key would keep the first too)."""
    seen: dict[tuple[str, str], StatusUpdate] = {}
    for update_ in updates:
        seen.setdefault((update_.wamid, update_.status), update_)
    return list(seen.values())


# One statement: insert the new statuses (applied at once when their message is known), fold them
# per message, move each message forward, mark the events processed, and return the new statuses,
# flagging those whose message is unknown (an orphan to adopt, or a status ahead of its send).
# Data-modifying CTEs run exactly once whether or not the final SELECT reads them.
_PG_BATCH = text(
    """
WITH input AS (
  SELECT * FROM jsonb_to_recordset(CAST(:batch AS jsonb))
    AS x(wamid text, status text, ts timestamptz, errors jsonb, payload jsonb)
), inserted AS (
  INSERT INTO status_events (wamid, status, timestamp, errors, payload, received_at, applied_at)
  SELECT i.wamid, i.status, i.ts, i.errors, i.payload, :now,
         CASE WHEN EXISTS (SELECT 1 FROM messages m WHERE m.wamid = i.wamid) THEN :now END
  FROM input i
  ON CONFLICT (wamid, status) DO NOTHING
  RETURNING wamid, status, timestamp, errors, applied_at
), ranked AS (
  SELECT *, CASE status WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3
                        WHEN 'played' THEN 4 END AS rank
  FROM inserted WHERE applied_at IS NOT NULL
), folded AS (
  SELECT wamid,
    max(rank) AS rank,
    min(timestamp) FILTER (WHERE status = 'sent') AS sent_at,
    min(timestamp) FILTER (WHERE status IN ('delivered', 'read', 'played')) AS delivered_at,
    min(timestamp) FILTER (WHERE status IN ('read', 'played')) AS read_at,
    min(timestamp) FILTER (WHERE status = 'failed') AS failed_at,
    (array_agg(errors) FILTER (WHERE status = 'failed'))[1] -> 0 AS error
  FROM ranked GROUP BY wamid
), locked AS (
  -- Row locks taken in id order, as the senders take them: two writers never wait on each other
  -- in a circle.
  SELECT m.id FROM messages m JOIN folded f ON f.wamid = m.wamid ORDER BY m.id FOR UPDATE OF m
), moved AS (
  UPDATE messages m SET
    sent_at = COALESCE(m.sent_at, f.sent_at),
    delivered_at = COALESCE(m.delivered_at, f.delivered_at),
    read_at = COALESCE(m.read_at, f.read_at),
    failed_at = COALESCE(m.failed_at, f.failed_at),
    error_code = CASE WHEN f.failed_at IS NULL THEN m.error_code
                      WHEN jsonb_typeof(f.error -> 'code') = 'number' THEN (f.error ->> 'code')::int END,
    error_title = CASE WHEN f.failed_at IS NULL THEN m.error_title
                       ELSE left(COALESCE(NULLIF(f.error ->> 'title', ''), f.error ->> 'message'), 255) END,
    error_details = CASE WHEN f.failed_at IS NULL THEN m.error_details ELSE f.error ->> 'details' END,
    status = CASE
      WHEN m.status = 'failed' THEN m.status
      WHEN f.failed_at IS NOT NULL AND m.status IN ('queued', 'sent') AND COALESCE(f.rank, 0) <= 1
        THEN 'failed'
      WHEN f.rank > (CASE m.status WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                                   WHEN 'read' THEN 3 WHEN 'played' THEN 4 ELSE -1 END)
        THEN (ARRAY['sent', 'delivered', 'read', 'played'])[f.rank]
      ELSE m.status END
  FROM folded f WHERE m.wamid = f.wamid AND m.id IN (SELECT id FROM locked)
  RETURNING m.id
), marked AS (
  UPDATE webhook_events SET processed_at = :now WHERE id = ANY(:event_ids) RETURNING id
)
SELECT wamid, status, applied_at IS NULL AS unapplied FROM inserted
"""
).bindparams(
    bindparam("event_ids", type_=postgresql.ARRAY(postgresql.INTEGER)),
)


def _apply_postgresql(updates: list[StatusUpdate], event_ids: list[int], now: datetime):
    batch = json.dumps(
        [
            {
                "wamid": u.wamid,
                "status": u.status,
                "ts": u.timestamp.isoformat(),
                "errors": [error.__dict__ for error in u.errors] or [],
                "payload": u.payload,
            }
            for u in updates
        ]
    )
    rows = db.session.execute(_PG_BATCH, {"batch": batch, "now": now, "event_ids": event_ids}).all()
    by_key = {(u.wamid, u.status): u for u in updates}
    return len(rows), [by_key[(row.wamid, row.status)] for row in rows if row.unapplied]


def _apply_sqlite(updates: list[StatusUpdate], event_ids: list[int], now: datetime):
    """SQLite: the same result in four statements (SQLite has no data-modifying CTEs)."""
    if updates:
        insert = DIALECT_INSERT[db.session.get_bind().dialect.name](StatusEvent)
        rows = [
            {
                "wamid": u.wamid,
                "status": u.status,
                "timestamp": u.timestamp,
                "errors": [error.__dict__ for error in u.errors],
                "payload": u.payload,
                "received_at": now,
            }
            for u in updates
        ]
        new_events = db.session.scalars(
            insert.values(rows)
            .on_conflict_do_nothing(index_elements=["wamid", "status"])
            .returning(StatusEvent),
        ).all()
    else:
        new_events = []
    wamids = {event.wamid for event in new_events}
    messages = (
        {m.wamid: m for m in db.session.scalars(select(Message).where(Message.wamid.in_(wamids)))}
        if wamids
        else {}
    )
    by_message = defaultdict(list)
    unapplied = []
    by_key = {(u.wamid, u.status): u for u in updates}
    for event in new_events:
        if event.wamid in messages:
            by_message[event.wamid].append(event)
        else:
            unapplied.append(by_key[(event.wamid, event.status)])
    for wamid, events in by_message.items():
        for event in sorted(events, key=lambda e: STATUS_ORDER.get(e.status, 99)):
            apply(messages[wamid], event)
    if event_ids:
        events = WebhookEvent.__table__
        db.session.execute(update(events).where(events.c.id.in_(event_ids)).values(processed_at=now))
    db.session.flush()
    return len(new_events), unapplied


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
    for status in _FILLS[event.status]:
        _set_time(message, status, event.timestamp)
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


def apply_overtaken(within: timedelta = OVERTAKEN_WITHIN) -> int:
    """Apply statuses stored unapplied whose message has its wamid by now. A status and its send's
    record can pass each other (each committed after the other looked); the sweep settles them.
    Only recent statuses are looked at: statuses of messages Flowapp never sent (another app on the
    same number) stay unapplied for good and must not slow every sweep down."""
    recent = select(StatusEvent.wamid).where(
        StatusEvent.applied_at.is_(None), StatusEvent.received_at > utcnow() - within
    )
    messages = db.session.scalars(select(Message).where(Message.wamid.in_(recent)).order_by(Message.id)).all()
    return sum(apply_pending(message) for message in messages)


def _adopt_orphan(update_: StatusUpdate) -> Message | None:
    """A status for a send whose worker died after Meta accepted it but before it stored the wamid.

    The callback data names our message, so the wamid is attached now and the message counts as
    sent instead of being sent again. Decided by one conditional UPDATE: not while a sender holds
    the message's outbox lease (a live sender whose commit the status webhook overtook records the
    wamid itself, and applies this status then), and not if the wamid was stored meanwhile.
    """
    data = update_.biz_opaque_callback_data or ""
    if not data.startswith(CALLBACK_PREFIX) or not data[len(CALLBACK_PREFIX) :].isdigit():
        return None
    message_id = int(data[len(CALLBACK_PREFIX) :])
    live_lease = select(OutboxEntry.message_id).where(
        OutboxEntry.message_id == message_id, OutboxEntry.lease_until > utcnow()
    )
    adopted = db.session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.direction == "out",
            Message.wamid.is_(None),
            ~live_lease.exists(),
        )
        .values(wamid=update_.wamid)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not adopted:
        return None
    from flowapp.services import delivery

    message = db.session.get(Message, message_id, populate_existing=True)
    delivery.mark_sent(message, update_.wamid, sent_at=update_.timestamp)
    log.warning(
        "message %s adopted wamid %s from a status webhook (its send was not recorded)",
        message.id,
        update_.wamid,
    )
    return message
