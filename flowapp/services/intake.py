"""Webhook intake: store the raw body, then enqueue its processing. Meta gets its 200 either way.

The web view calls `receive()` after checking the signature and commits before answering: what Meta
delivered is on disk before it is acknowledged. Processing runs in a worker. If Redis is down, the
event waits in the database and `sweep()` enqueues it once Redis answers again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import select

from flowapp.extensions import db, get_redis
from flowapp.jobs import enqueue
from flowapp.models import WebhookEvent, utcnow
from flowapp.services.upsert import insert_or_ignore

log = logging.getLogger("flowapp.whatsapp.intake")

MAX_ATTEMPTS = 10
SWEEP_AGE = timedelta(seconds=60)
# After Redis fails, intake stops trying it for this long: each try would cost a connect timeout,
# and Meta's webhooks must be answered fast. The sweep catches up.
REDIS_BACKOFF_SECONDS = 5.0
_redis_down_until = 0.0


def job_id(event_id: int) -> str:
    return f"webhook-{event_id}"


def receive(body: bytes, source: str = "meta") -> tuple[int | None, bool]:
    """Store a signed webhook body (flushed, not committed).

    Returns (its id or None for a duplicate, whether it needs processing).

    A body that is not JSON is stored as failed right away: answering anything but 200 would make
    Meta redeliver it for a week, and it can never succeed.
    """
    values = {"body": body, "dedupe_key": hashlib.sha256(body).hexdigest(), "source": source}
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        values.update(processed_at=utcnow(), error=f"body is not JSON: {exc}")
        log.warning("webhook body of %d bytes is not JSON; stored as failed", len(body))
    event_id = insert_or_ignore(WebhookEvent, values, ["dedupe_key"])
    return event_id, event_id is not None and "processed_at" not in values


def enqueue_processing(event_id: int) -> bool:
    """Enqueue processing of a committed event. False (and logged) when Redis is unavailable."""
    global _redis_down_until
    if time.monotonic() < _redis_down_until:
        return False
    from flowapp.jobs.inbound import process_webhook_event

    try:
        enqueue(
            "webhooks",
            process_webhook_event,
            event_id,
            job_id=job_id(event_id),
            retry=Retry(max=3, interval=[5, 30, 120]),
            result_ttl=300,
            failure_ttl=7 * 86400,
        )
    except (RedisError, OSError) as exc:
        _redis_down_until = time.monotonic() + REDIS_BACKOFF_SECONDS
        log.error("redis unavailable, webhook event %s waits for the sweep: %s", event_id, type(exc).__name__)
        return False
    return True


def sweep(limit: int = 1000) -> int:
    """Enqueue every stored event that nobody processed (Redis was down, a worker died). Returns count."""
    global _redis_down_until
    _redis_down_until = 0.0  # the sweep runs in a worker, so Redis answered moments ago
    cutoff = utcnow() - SWEEP_AGE
    ids = db.session.scalars(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.processed_at.is_(None),
            WebhookEvent.received_at < cutoff,
            WebhookEvent.attempts < MAX_ATTEMPTS,
        )
        .order_by(WebhookEvent.id)
        .limit(limit)
    ).all()
    connection = get_redis()
    count = 0
    for event_id in ids:
        if _job_pending(connection, event_id):
            continue
        count += enqueue_processing(event_id)
    if count:
        log.warning("sweep re-enqueued %d unprocessed webhook events", count)
    return count


def _job_pending(connection, event_id: int) -> bool:
    try:
        status = Job.fetch(job_id(event_id), connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in ("queued", "started", "scheduled", "deferred")
