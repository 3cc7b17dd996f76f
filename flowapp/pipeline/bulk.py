"""The bulk lane: statuses, and bodies without a customer's message, in batches and in parallel.

Statuses need no order (they only ever move a message forward), so any number of workers take
batches side by side: on PostgreSQL each claims its own with FOR UPDATE SKIP LOCKED, and a batch
is applied in one statement (services/statuses.py). A batch that fails is taken apart: each event
is tried alone, so one bad body is retried (and eventually parked) while the rest go through.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from flowapp.extensions import db
from flowapp.models import WebhookEvent, utcnow
from flowapp.pipeline import recovery
from flowapp.services import statuses
from flowapp.whatsapp.parsing import BULK, MalformedWebhook, is_phone_number, parse_webhook, storable

log = logging.getLogger("flowapp.whatsapp.statuses")

BATCH = 200


@dataclass
class _Batch:
    """What a batch of bodies carried: the statuses, and a note for events with something to say."""

    ids: list[int] = field(default_factory=list)
    updates: list = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)


def process_batch(limit: int = BATCH) -> int:
    """Claim up to `limit` waiting bulk events, apply them and commit. Returns how many it took."""
    events = db.session.execute(
        select(WebhookEvent.id, WebhookEvent.body)
        .where(
            WebhookEvent.lane == BULK,
            WebhookEvent.processed_at.is_(None),
            WebhookEvent.parked_at.is_(None),
            or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= utcnow()),
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # PostgreSQL: parallel workers take disjoint batches
    ).all()
    if not events:
        db.session.rollback()
        return 0
    try:
        _apply(events)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.warning("a batch of %d bulk events failed; trying them one by one", len(events), exc_info=True)
        for event in events:
            _apply_alone(event)
    return len(events)


def _apply(events) -> None:
    batch = _Batch()
    for event_id, body in events:
        _read(event_id, body, batch)
    statuses.apply_batch(batch.updates, batch.ids)
    for event_id, note in batch.notes.items():
        db.session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id).values(error=note[:2000]))


def _apply_alone(event) -> None:
    try:
        _apply([event])
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("bulk webhook event %s failed", event.id)
        recovery.record_failure(event.id, exc)
        db.session.commit()


def _read(event_id: int, body: bytes, batch: _Batch) -> None:
    batch.ids.append(event_id)
    try:
        parsed = parse_webhook(storable(json.loads(body)))
    except (ValueError, MalformedWebhook, RecursionError) as exc:
        batch.notes[event_id] = f"not a WhatsApp webhook: {exc}"
        log.warning("webhook event %s is not a WhatsApp webhook: %s", event_id, exc)
        return
    batch.updates.extend(parsed.statuses)
    for error in parsed.errors:
        log.warning(
            "webhook event %s carries error %s: %s (%s)", event_id, error.code, error.title, error.details
        )
    notes = [f"error {e.code}: {e.title}" for e in parsed.errors] + parsed.ignored
    # Messages from phone numbers are their senders' own events (contact lane); others cannot be
    # filed under a contact at all.
    notes += [
        f"message {m.wamid[:60]} skipped: its sender {m.wa_id[:40]!r} is not a phone number"
        for m in parsed.messages
        if not is_phone_number(m.wa_id)
    ]
    if notes:
        batch.notes[event_id] = "; ".join(notes)
