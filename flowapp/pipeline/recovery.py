"""When processing fails or Redis forgets: retries, parked events, and the sweep.

- A failed event is retried with growing delays; after MAX_ATTEMPTS it is parked: kept with its
  error, listed for admins (Settings > Inbound events, /metrics), and its contact's later events
  wait behind it until someone retries or dismisses it. Nothing is dropped.
- The sweep re-derives from the database what Redis should know: events stored while Redis was
  down, lost with a flushed Redis, or left by a worker that died. The database is the source of
  truth; Redis only says where work is.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from flowapp.extensions import db
from flowapp.models import WebhookEvent, utcnow
from flowapp.whatsapp.parsing import BULK, CONTACT

log = logging.getLogger("flowapp.whatsapp.inbound")

MAX_ATTEMPTS = 5
# Seconds before attempts 2, 3, 4 and 5: about six minutes from the first failure to parking.
RETRY_DELAYS = (2, 10, 60, 300)


def retry_at(attempts: int, now: datetime | None = None) -> datetime:
    """When an event that has failed `attempts` times is tried again."""
    delay = RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)]
    return (now or utcnow()) + timedelta(seconds=delay)


def record_failure(event_id: int, exc: Exception) -> datetime | None:
    """Keep why processing failed and when to try again; park it after the last attempt. Returns
    the retry time, or None when the event is parked. The caller commits."""
    attempts = (db.session.scalar(select(WebhookEvent.attempts).where(WebhookEvent.id == event_id)) or 0) + 1
    now = utcnow()
    parked = attempts >= MAX_ATTEMPTS
    at = None if parked else retry_at(attempts, now)
    db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(
            attempts=attempts,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=at,
            parked_at=now if parked else None,
        )
    )
    if parked:
        log.error(
            "webhook event %s failed %d times; parked, its contact's later events wait", event_id, attempts
        )
    return at


def parked(limit: int = 100) -> list[WebhookEvent]:
    """Parked events, oldest first."""
    return list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.parked_at.is_not(None), WebhookEvent.processed_at.is_(None))
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )


def parked_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.parked_at.is_not(None), WebhookEvent.processed_at.is_(None))
        )
        or 0
    )


def retry(event_id: int) -> WebhookEvent | None:
    """Give a parked event a fresh set of attempts, now. The caller commits, then announces it."""
    event = db.session.get(WebhookEvent, event_id)
    if event is None or event.parked_at is None or event.processed_at is not None:
        return None
    event.parked_at = None
    event.attempts = 0
    event.next_attempt_at = None
    log.info("parked webhook event %s retried", event_id)
    return event


def dismiss(event_id: int, by: str) -> WebhookEvent | None:
    """Give up on a parked event: it counts as processed (its error and body stay), and its
    contact's later events go ahead. The caller commits, then announces the contact."""
    event = db.session.get(WebhookEvent, event_id)
    if event is None or event.parked_at is None or event.processed_at is not None:
        return None
    event.processed_at = utcnow()
    event.error = f"dismissed by {by}; {event.error or ''}"[:2000]
    log.warning("parked webhook event %s dismissed by %s", event_id, by)
    return event


def pending_count() -> int:
    """Events that wait for processing, parked ones excluded."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.processed_at.is_(None), WebhookEvent.parked_at.is_(None))
        )
        or 0
    )


def waiting_work(limit: int = 10_000) -> list[dict]:
    """What Redis should know about: every contact with events waiting (and not blocked by a parked
    one), and whether the bulk lane has any."""
    first = func.min(WebhookEvent.id)
    contacts = db.session.execute(
        select(WebhookEvent.phone_number_id, WebhookEvent.contact_key, first)
        .where(
            WebhookEvent.processed_at.is_(None),
            WebhookEvent.lane == CONTACT,
            WebhookEvent.contact_key.is_not(None),
        )
        .group_by(WebhookEvent.phone_number_id, WebhookEvent.contact_key)
        .having(func.count(WebhookEvent.parked_at) == 0)
        .order_by(first)
        .limit(limit)
    ).all()
    rows = [
        {"id": i, "lane": CONTACT, "contact_key": key, "phone_number_id": number}
        for number, key, i in contacts
    ]
    bulk = db.session.scalar(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.processed_at.is_(None), WebhookEvent.lane == BULK, WebhookEvent.parked_at.is_(None)
        )
        .limit(1)
    )
    if bulk is not None:
        rows.append({"id": bulk, "lane": BULK, "contact_key": None, "phone_number_id": None})
    return rows
