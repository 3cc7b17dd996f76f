"""The outbox's bookkeeping: which queued messages are due, leasing them, and the slots of drain jobs.

At most SEND_PARALLEL drain jobs run at once, each holding a slot key in Redis that expires if its
worker dies; a drain with more work than one batch asks for another. Asking for a drain is `DRAIN`
(the jobs layer starts one if a slot is free); retries and per-recipient backoffs are woken by the
kick `wakeup()` describes, at the earliest next attempt (and by the periodic kick).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import and_, func, or_, select, update

from flowapp.extensions import db, get_redis
from flowapp.models import OutboxEntry, utcnow
from flowapp.services import settings
from flowapp.work import Work

SLOT_KEY = "flowapp:outbox:slot:{}"
BELL_KEY = "flowapp:outbox:bell"
SLOT_TTL = 60
LEASE = timedelta(seconds=90)
DRAIN_TIMEOUT = 120

# A drain of the outbox, started in a free slot (flowapp.jobs.start_drain picks the slot and job id).
DRAIN = Work("drain_outbox", queue="sends", options={"result_ttl": 60, "job_timeout": DRAIN_TIMEOUT})


def take_slot() -> int | None:
    """Reserve a free drain slot (it expires unless its drain refreshes it), or None if all are taken.
    Either way the bell rings, so that a drain waiting for work sends the new message at once."""
    connection = get_redis()
    parallel = int(current_app.config["SEND_PARALLEL"])
    with connection.pipeline(transaction=False) as ring:
        ring.rpush(BELL_KEY, 1).ltrim(BELL_KEY, -parallel, -1).execute()
    for slot in range(parallel):
        if connection.set(SLOT_KEY.format(slot), "queued", nx=True, ex=SLOT_TTL):
            return slot
    return None


def wait_for_sends(connection, timeout: float) -> None:
    """Block until a message is queued for sending (the bell rings) or `timeout` seconds pass."""
    connection.blpop([BELL_KEY], timeout=timeout)


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


def wakeup() -> Work | None:
    """The kick that wakes the pipeline when the earliest retry or backoff is due (None: none waits)."""
    earliest = db.session.scalar(
        select(func.min(OutboxEntry.next_attempt_at)).where(
            and_(OutboxEntry.next_attempt_at.is_not(None), OutboxEntry.next_attempt_at > utcnow())
        )
    )
    if earliest is None:
        return None
    delay = max(0.0, (earliest - utcnow()).total_seconds())
    return Work(
        "kick_outbox",
        queue="sends",
        job_id=f"outbox-wakeup-{int(earliest.timestamp())}",
        at=datetime.now(UTC) + timedelta(seconds=delay + 0.05),
    )
