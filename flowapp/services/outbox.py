"""The outbox's bookkeeping: which queued messages are due, leasing them, and waking drain jobs.

At most SEND_PARALLEL drain jobs run at once, each holding a slot key in Redis that expires if its
worker dies; a drain with more work than one batch wakes another slot. Retries and per-recipient
backoffs are woken by a job scheduled at the earliest next attempt (and by the periodic kick).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import and_, func, or_, select, update

from flowapp.extensions import db, get_redis
from flowapp.models import OutboxEntry, utcnow
from flowapp.services import settings

log = logging.getLogger("flowapp.whatsapp.sending")

SLOT_KEY = "flowapp:outbox:slot:{}"
SLOT_TTL = 60
LEASE = timedelta(seconds=90)
DRAIN_TIMEOUT = 120


def kick() -> bool:
    """Start a drain job in a free slot (at most SEND_PARALLEL run at once). False if none was started."""
    from flowapp.jobs.sends import drain_outbox

    try:
        connection = get_redis()
        for slot in range(int(current_app.config["SEND_PARALLEL"])):
            if connection.set(SLOT_KEY.format(slot), "queued", nx=True, ex=SLOT_TTL):
                Queue("sends", connection=connection).enqueue(
                    drain_outbox,
                    slot,
                    job_id=f"drain-{slot}-{uuid.uuid4().hex[:12]}",
                    result_ttl=60,
                    job_timeout=DRAIN_TIMEOUT,
                )
                return True
    except (RedisError, OSError) as exc:
        log.error("cannot wake the send pipeline (%s); the periodic kick will", type(exc).__name__)
    return False


def send_rate() -> int:
    return int(settings.get("send_rate") or current_app.config["SEND_RATE"])


def claim(owner: str, limit: int) -> list[int]:
    """Lease up to `limit` due heads for `owner` and commit the lease. Returns their message ids.

    Unlike other services this commits: the drain loop is a job's body, and a lease is only worth
    something once other workers can see it.
    """
    now = utcnow()
    heads = (
        select(OutboxEntry.conversation_id, func.min(OutboxEntry.message_id).label("head"))
        .group_by(OutboxEntry.conversation_id)
        .subquery()
    )
    candidates = db.session.scalars(
        select(OutboxEntry.message_id)
        .join(heads, heads.c.head == OutboxEntry.message_id)
        .where(_free(now), or_(OutboxEntry.next_attempt_at.is_(None), OutboxEntry.next_attempt_at <= now))
        .order_by(OutboxEntry.message_id)
        .limit(limit)
    ).all()
    if not candidates:
        db.session.rollback()
        return []
    db.session.execute(
        update(OutboxEntry)
        .where(OutboxEntry.message_id.in_(candidates), _free(now))
        .values(lease_owner=owner, lease_until=now + LEASE)
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(OutboxEntry.message_id).where(
                OutboxEntry.message_id.in_(candidates), OutboxEntry.lease_owner == owner
            )
        )
    )


def due_count() -> int:
    now = utcnow()
    return (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(_free(now), or_(OutboxEntry.next_attempt_at.is_(None), OutboxEntry.next_attempt_at <= now))
        )
        or 0
    )


def _free(now: datetime):
    return or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now)


def refresh_slot(connection, slot) -> None:
    if slot is not None:
        connection.set(SLOT_KEY.format(slot), "running", ex=SLOT_TTL)


def release_slot(connection, slot) -> None:
    if slot is not None:
        try:
            connection.delete(SLOT_KEY.format(slot))
        except (RedisError, OSError):
            pass


def schedule_wakeup() -> None:
    """Wake the pipeline when the earliest retry or per-recipient backoff is due."""
    earliest = db.session.scalar(
        select(func.min(OutboxEntry.next_attempt_at)).where(
            and_(OutboxEntry.next_attempt_at.is_not(None), OutboxEntry.next_attempt_at > utcnow())
        )
    )
    if earliest is None:
        return
    from flowapp.jobs.sends import kick_outbox

    delay = max(0.0, (earliest - utcnow()).total_seconds())
    try:
        Queue("sends", connection=get_redis()).enqueue_in(
            timedelta(seconds=delay + 0.05), kick_outbox, job_id=f"outbox-wakeup-{int(earliest.timestamp())}"
        )
    except (RedisError, OSError):
        log.error("could not schedule the next retry; the periodic kick will send it")
