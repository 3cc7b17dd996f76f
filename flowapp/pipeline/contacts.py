"""Handling one contact: every event it has waiting, in arrival order, by one worker at a time.

This is the path a customer's message takes after intake, top to bottom: take the contact's lease,
read its waiting events oldest first, and for each one, in its own transaction: parse the body,
claim the event, store the message (services/inbound.py), hand it to the automations
(services/runner.py, which queues replies in the outbox), commit. The commit wakes the senders.

An event that fails is rolled back and retried later with backoff, and the contact's later events
wait behind it (their order matters); after the last attempt it is parked for a person to retry or
dismiss (recovery.py). Other contacts carry on meanwhile.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select, update

from flowapp.extensions import db, get_redis
from flowapp.models import WebhookEvent, utcnow
from flowapp.pipeline import recovery
from flowapp.pipeline.lease import AGAIN, Busy, ContactLease
from flowapp.services import inbound, runner
from flowapp.whatsapp.parsing import parse_webhook, storable

log = logging.getLogger("flowapp.whatsapp.inbound")

BATCH = 20


@dataclass(frozen=True)
class Waiting:
    """An event of the contact that waits for processing."""

    id: int
    body: bytes
    attempts: int
    next_attempt_at: datetime | None
    parked_at: datetime | None


def drain(number: str, contact: str, board) -> str:
    """Process the contact's waiting events, if no other worker holds it. Returns what happened:
    "done", "busy" (another worker has it; we come back when its lease would end), "waiting" (an
    event waits for its retry), "parked" or "lost" (our lease ended: the next holder carries on)."""
    lease = ContactLease(get_redis(), contact, current_app.config["INBOUND_LEASE_SECONDS"])
    try:
        lease.acquire()
    except Busy as busy:
        board.delay(number, contact, time.time() + busy.retry_in + 0.05)
        return "busy"
    try:
        return _drain_held(number, contact, lease, board)
    finally:
        db.session.rollback()  # nothing may stay open while the contact is given back
        if lease.held:
            lease.release(force=True)


def _drain_held(number: str, contact: str, lease: ContactLease, board) -> str:
    while True:
        events = waiting_events(contact)
        for event in events:
            if event.parked_at is not None:
                return "parked"
            if event.next_attempt_at is not None and event.next_attempt_at > utcnow():
                board.delay(number, contact, event.next_attempt_at.timestamp())
                return "waiting"
            if not lease.keep():
                log.warning("lost the lease on contact %s; its next holder carries on", contact)
                return "lost"
            failed, retry_at = handle(event, contact)
            if failed:
                if retry_at is None:
                    return "parked"
                board.delay(number, contact, retry_at.timestamp())
                return "waiting"
        if len(events) == BATCH:
            continue  # there may be more
        # Events stored after our read were announced; whoever took that announcement found the
        # contact held and marked it, so the release tells us to read again. No need to look.
        db.session.rollback()
        if lease.release() != AGAIN:
            return "done"


def waiting_events(contact: str, limit: int = BATCH) -> list[Waiting]:
    """The contact's events not yet processed, oldest first (parked ones included: they block)."""
    rows = db.session.execute(_WAITING, {"contact": contact, "limit": limit}).all()
    return [Waiting(*row) for row in rows]


# Built once: this runs for every contact a worker takes (see services/inbound.py on why).
_WAITING = (
    select(
        WebhookEvent.id,
        WebhookEvent.body,
        WebhookEvent.attempts,
        WebhookEvent.next_attempt_at,
        WebhookEvent.parked_at,
    )
    .where(WebhookEvent.contact_key == bindparam("contact"), WebhookEvent.processed_at.is_(None))
    .order_by(WebhookEvent.id)
    .limit(bindparam("limit"))
)
_CLAIM = (
    update(WebhookEvent)
    .where(WebhookEvent.id == bindparam("event_id"), WebhookEvent.processed_at.is_(None))
    .values(processed_at=bindparam("now"), error=bindparam("notes"))
    .execution_options(synchronize_session=False)
)


def handle(event: Waiting, contact: str) -> tuple[bool, datetime | None]:
    """Process one event in its own transaction. Returns (failed, when to retry it: None once it
    is parked)."""
    try:
        parsed = parse_webhook(storable(json.loads(event.body)))
        notes = [f"error {e.code}: {e.title}" for e in parsed.errors] + parsed.ignored
        if not claim(event.id, notes):
            db.session.rollback()
            return False, None  # another worker processed it (our lease had lapsed): nothing to redo
        for message in parsed.messages:
            if message.wa_id == contact:  # a body's other senders are their own events
                runner.handle_inbound(inbound.receive(message))
        db.session.commit()
        return False, None
    except Exception as exc:
        db.session.rollback()
        log.exception("webhook event %s failed (attempt %d)", event.id, event.attempts + 1)
        retry_at = recovery.record_failure(event.id, exc)
        db.session.commit()
        return True, retry_at


def claim(event_id: int, notes: list[str]) -> bool:
    """Mark the event processed, as the first write of its transaction. False when it was already:
    on PostgreSQL a second worker waits here on the row lock until the first commits, then finds
    nothing to claim, so an event is processed once and after the events before it."""
    params = {"event_id": event_id, "now": utcnow(), "notes": "; ".join(notes)[:2000] or None}
    return db.session.execute(_CLAIM, params).rowcount == 1
