"""Webhook intake: store the raw body, wake the processor, answer. Meta gets its 200 either way.

The hot path is one INSERT (plain SQL, no ORM) and, usually, a single Redis SET: processing is not
enqueued per webhook. One processor job at a time reads every unprocessed event in arrival order
(so one contact's messages are handled in the order Meta delivered them) until none is left; a
webhook only starts a processor when none is running. If Redis is down the event simply waits in
the database, and the periodic sweep starts the processor once Redis answers again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
from datetime import timedelta

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from flowapp.extensions import db, get_redis
from flowapp.jobs import enqueue
from flowapp.models import WebhookEvent, utcnow
from flowapp.services.intake_writer import GroupCommitWriter

log = logging.getLogger("flowapp.whatsapp.intake")

MAX_ATTEMPTS = 10
RETRY_DELAYS = (5, 30, 120, 600, 1800)
SLOT_KEY = "flowapp:inbound:slot"
SLOT_TTL = 60
# After Redis fails, intake stops trying it for this long: each try would cost a connect timeout,
# and Meta's webhooks must be answered fast. The sweep catches up.
REDIS_BACKOFF_SECONDS = 5.0
_redis_down_until = 0.0
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def store(body: bytes, source: str = "meta") -> tuple[int | None, bool]:
    """Store a signed webhook body and commit it; starts the processor when the body is new.

    Returns (its id, or None for a redelivery of the same bytes; whether it waits for processing).
    Unlike other services this commits, because with group commit (INTAKE_GROUP_COMMIT, on outside
    tests) the row is written by the process's intake writer together with concurrent ones; otherwise,
    the session's transaction is committed here.
    """
    values = row_values(body, source)
    # A request that already holds a transaction (a logged-in user was loaded) stores in it: on
    # SQLite that transaction holds the write lock, and the writer thread would wait for it until
    # this very request gave up. Meta's deliveries come without one and go to the writer.
    if current_app.config.get("INTAKE_GROUP_COMMIT") and not db.session().in_transaction():
        # Committed, and the processor kicked, when submit returns.
        event_id = writer(current_app._get_current_object()).submit(values)
        return event_id, event_id is not None and values["processed_at"] is None
    event_id, pending = receive(values)
    db.session.commit()
    if pending:
        kick()
    return event_id, pending


def row_values(body: bytes, source: str) -> dict:
    """The webhook_events row for a body. A body that is not JSON is stored as failed at once:
    answering anything but 200 would make Meta redeliver it for a week, and it can never succeed."""
    now = utcnow()
    values = {
        "body": body,
        "dedupe_key": hashlib.sha256(body).hexdigest(),
        "source": source,
        "received_at": now,
        "processed_at": None,
        "error": None,
        "attempts": 0,
    }
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        values.update(processed_at=now, error=f"body is not JSON: {exc}")
        log.warning("webhook body of %d bytes is not JSON; stored as failed", len(body))
    return values


def receive(values: dict) -> tuple[int | None, bool]:
    """Insert one row in the session's transaction (the caller commits)."""
    event_id = db.session.execute(_insert_statement(db.session.get_bind().dialect.name), values).scalar()
    return event_id, event_id is not None and values["processed_at"] is None


def writer(app) -> GroupCommitWriter:
    """This process's group-commit writer for `app`, started on first use (so after gunicorn forks)."""
    current = app.extensions.get("flowapp_intake_writer")
    if current is None or current.pid != os.getpid():

        def kick_in_app():
            with app.app_context():
                kick()

        with app.app_context():  # the webhook fast path calls this outside Flask
            engine = db.engine
        current = GroupCommitWriter(engine, kick_in_app)
        app.extensions["flowapp_intake_writer"] = current
    return current


@functools.cache
def _insert_statement(dialect: str):
    """Built once per dialect: this is the hottest statement in Flowapp, and building a statement
    costs more CPU than sending it. The table, not the model, so the ORM adds no bookkeeping."""
    table = WebhookEvent.__table__
    return (
        _INSERT[dialect](table)
        .values(
            {
                name: bindparam(name)
                for name in (
                    "body",
                    "dedupe_key",
                    "source",
                    "received_at",
                    "processed_at",
                    "error",
                    "attempts",
                )
            }
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )


def kick() -> bool:
    """Start the processor unless one is running. False (logged) when Redis is unavailable."""
    global _redis_down_until
    if time.monotonic() < _redis_down_until:
        return False
    from flowapp.jobs.inbound import process_webhook_events

    try:
        connection = get_redis()
        if connection.set(SLOT_KEY, "queued", nx=True, ex=SLOT_TTL):
            enqueue(
                "webhooks",
                process_webhook_events,
                job_id=f"inbound-{time.time_ns()}",
                result_ttl=60,
                failure_ttl=7 * 86400,
            )
    except (RedisError, OSError) as exc:
        _redis_down_until = time.monotonic() + REDIS_BACKOFF_SECONDS
        log.error("redis unavailable; stored webhooks wait for the sweep (%s)", type(exc).__name__)
        return False
    return True


def pending(limit: int = 50) -> list[int]:
    """The oldest events that still need processing and are due, in arrival order."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.processed_at.is_(None),
                WebhookEvent.attempts < MAX_ATTEMPTS,
                or_(WebhookEvent.next_attempt_at.is_(None), WebhookEvent.next_attempt_at <= now),
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        )
    )


def next_pending() -> int | None:
    """The oldest event that still needs processing and is due, or None."""
    found = pending(1)
    return found[0] if found else None


def pending_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.processed_at.is_(None), WebhookEvent.attempts < MAX_ATTEMPTS)
        )
        or 0
    )


def hold_slot() -> None:
    get_redis().set(SLOT_KEY, "running", ex=SLOT_TTL)


def release_slot() -> None:
    try:
        get_redis().delete(SLOT_KEY)
    except (RedisError, OSError):
        pass


def record_failure(event_id: int, exc: Exception) -> None:
    """Keep why processing failed and when to try again; the event is never dropped."""
    event = db.session.get(WebhookEvent, event_id)
    attempts = event.attempts + 1
    delay = RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)]
    db.session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .values(
            attempts=attempts,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=utcnow() + timedelta(seconds=delay),
        )
    )
    if attempts >= MAX_ATTEMPTS:
        log.error("webhook event %s failed %d times; it stays stored with its error", event_id, attempts)


def sweep() -> bool:
    """Periodic: start the processor when events wait (Redis was down, a worker died)."""
    global _redis_down_until
    _redis_down_until = 0.0  # the sweep runs in a worker, so Redis answered moments ago
    if pending_count() == 0:
        return False
    log.info("sweep: %d webhook events wait for processing", pending_count())
    return kick()
