"""The send pipeline: drain the outbox to Meta, many messages per job, within the rate limit.

One RQ job per message tops out near 250 jobs/s per worker, so a drain job instead claims a batch
of outbox heads (the oldest queued message of each conversation), takes grants from the shared rate
limiter, sends them concurrently from a thread pool, and records the results in bulk.

Guarantees:
- order per contact: only a conversation's head is ever sent, so its later messages wait behind a
  retry;
- no double send: a row is leased before sending; a lease that expires (its worker died) is taken
  over only after checking the sent-marker the worker wrote to Redis the moment Meta answered;
- nothing lost: the message row and its outbox row were committed before any job was enqueued.

The one window that cannot be closed: Meta accepted a message and the worker died before writing
the Redis marker (microseconds after the HTTP response) or Redis lost the marker. The lease then
expires and the message is sent again. It is kept small by writing the marker before anything
else, and closed afterwards where possible: the status webhooks carry `biz_opaque_callback_data`
with our message id, so a status for the first copy attaches its wamid (statuses.adopt). A timeout
on the HTTP call is the same ambiguity (Meta may have accepted): it is retried, as Meta advises.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import delete, select, update

from flowapp import transactions, work
from flowapp.extensions import db, get_redis
from flowapp.models import Contact, Conversation, Message, OutboxEntry, utcnow
from flowapp.services import graph, outbox, statuses
from flowapp.services.outbound import WINDOW, outside_window_reason
from flowapp.services.ratelimit import RateLimiter
from flowapp.whatsapp.errors import STOPPED_MARKETING, Disposition, GraphError

log = logging.getLogger("flowapp.whatsapp.sending")

BATCH_SIZE = 200
THREADS = 12
GRANT_TIMEOUT = 5.0
TIME_BUDGET = 10.0
INBOUND_SLICE = 0.5  # seconds a drain sends before it gives its worker to waiting inbound work
IDLE_WAIT = 0.5  # seconds an idle drain waits for the next message to send before it ends
IDLE_POLL = 0.1  # seconds between its looks at the inbound queue meanwhile
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (2, 10, 30, 120, 600)
MAX_PAIR_BACKOFFS = 8  # 4**8 s is about 18 hours
MARKER_KEY = "flowapp:sent:{}"
MARKER_TTL = 7 * 86400


@dataclass
class Ready:
    message_id: int
    body: dict
    attempts: int
    pair_backoffs: int


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    paused: bool = False
    batches: int = 0
    errors: dict = field(default_factory=dict)


def drain(slot: int | None = None, time_budget: float = TIME_BUDGET) -> DrainReport:
    """Send due outbox heads until none is left, the budget is spent, or inbound work is waiting."""
    report = DrainReport()
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    deadline = started + time_budget
    idle_since = None
    connection = get_redis()
    limiter = RateLimiter(
        connection, current_app.config.get("PHONE_NUMBER_ID") or "sandbox", outbox.send_rate()
    )
    client = graph.client()
    try:
        with ThreadPoolExecutor(THREADS, thread_name_prefix="send") as pool:
            while time.monotonic() < deadline:
                outbox.refresh_slot(connection, slot)
                if graph.paused():
                    report.paused = True
                    break
                claimed = outbox.claim(owner, BATCH_SIZE)
                if not claimed:
                    # Nothing due: wait a moment for the next reply rather than end the job (a new
                    # job per reply costs more than the wait), unless inbound work waits for a worker.
                    idle_since = idle_since or time.monotonic()
                    if (
                        time.monotonic() - idle_since >= IDLE_WAIT
                        or Queue("webhooks", connection=connection).count
                    ):
                        break
                    outbox.wait_for_sends(connection, IDLE_POLL)
                    continue
                idle_since = None
                report.batches += 1
                if len(claimed) == BATCH_SIZE and report.batches == 1:
                    _hand_over(outbox.DRAIN)  # more work than one batch: a drainer in another slot (worker)
                if not _send_batch(claimed, owner, pool, client, limiter, connection, report):
                    break
                if (
                    time.monotonic() - started >= INBOUND_SLICE
                    and Queue("webhooks", connection=connection).count
                ):
                    # Customers' messages wait for a worker: let this one take them, then carry on.
                    # Not before a slice of sending, or every reply would cost a job of its own.
                    break
    finally:
        outbox.release_slot(connection, slot)
    _hand_over(outbox.DRAIN if not report.paused and outbox.due_count() > 0 else outbox.wakeup())
    log.info(
        "drain %s: sent %d, retried %d, failed %d in %d batches",
        owner,
        report.sent,
        report.retried,
        report.failed,
        report.batches,
    )
    return report


def _hand_over(follow_up: work.Work | None) -> None:
    """Enqueue the next drain or wake-up at once: what it reads is committed already (a drain
    commits as it goes). A lost one is made good by the periodic kick."""
    if follow_up is None:
        return
    try:
        work.submit([follow_up])
    except (RedisError, OSError) as exc:
        log.error("could not wake the send pipeline (%s); the periodic kick will", type(exc).__name__)


def _send_batch(ids, owner, pool, client, limiter, connection, report) -> bool:
    """Send one claimed batch. Returns False when draining must stop (sending paused)."""
    ready = _prepare(ids, connection, report)
    # Preparing is a unit of its own (the refusals it wrote are committed): the sends that follow
    # take seconds, and no transaction may wait on Meta (the pool's threads cannot be checked).
    db.session.commit()
    transactions.check_outbound("the Graph API (a batch of sends)")
    stop = threading.Event()
    results = list(pool.map(lambda item: _send_one(item, client, limiter, connection, stop), ready))
    _record(ready, results, report)
    _release(owner)  # what was not sent (no grant in time, or sending paused) goes back to the outbox
    db.session.commit()
    return not report.paused


def _prepare(ids: list[int], connection, report: DrainReport) -> list[Ready]:
    """Re-read the claimed rows: skip what was sent meanwhile, refuse what the window no longer allows."""
    rows = db.session.execute(
        select(
            Message.id,
            Message.type,
            Message.status,
            Message.wamid,
            Message.payload,
            Message.send_attempts,
            OutboxEntry.pair_backoffs,
            Contact.last_inbound_at,
        )
        .join(OutboxEntry, OutboxEntry.message_id == Message.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Message.id.in_(ids))
        .order_by(Message.id)
    ).all()
    markers = _markers(connection, [row.id for row in rows])
    ready, now = [], utcnow()
    for row in rows:
        if row.status != "queued" or row.wamid or markers.get(row.id):
            _finish_already_sent(row.id, markers.get(row.id))
            continue
        if row.type != "template" and (row.last_inbound_at is None or now - row.last_inbound_at >= WINDOW):
            _fail(row.id, 131047, "Outside the 24-hour window", _window_reason(row.last_inbound_at), report)
            continue
        body = dict(row.payload["request"])
        body["biz_opaque_callback_data"] = statuses.callback_data(row.id)
        ready.append(Ready(row.id, body, row.send_attempts, row.pair_backoffs))
    db.session.flush()
    return ready


def _send_one(item: Ready, client, limiter, connection, stop: threading.Event):
    """Runs in a pool thread: a grant, one HTTP call, then the sent-marker at once (module docstring).

    Each send takes its own grant just before it leaves, so what Meta sees per second is what the
    limiter allowed (granting a whole batch at once would let its sends trickle into the next second).
    Returns the SendResult, the GraphError, or None when it was not sent.
    """
    if stop.is_set() or not limiter.acquire(1, timeout=GRANT_TIMEOUT):
        return None
    try:
        result = client.send(item.body)
    except GraphError as exc:
        if exc.disposition is Disposition.PAUSE:
            stop.set()  # the token is refused: the other threads must not send either
        return exc
    try:
        connection.set(MARKER_KEY.format(item.message_id), result.wamid, ex=MARKER_TTL)
    except (RedisError, OSError):
        log.warning("could not write the sent-marker of message %s", item.message_id)
    return result


def _record(chunk: list[Ready], results: list, report: DrainReport) -> bool:
    """Store the outcome of each send. Returns False when sending got paused."""
    now = utcnow()
    sent = [
        (item, result)
        for item, result in zip(chunk, results, strict=True)
        if not isinstance(result, Exception)
    ]
    if sent:
        db.session.execute(
            update(Message),
            [
                {
                    "id": item.message_id,
                    "wamid": result.wamid,
                    "status": "sent",
                    "sent_at": now,
                    "send_attempts": item.attempts + 1,
                }
                for item, result in sent
            ],
        )
        db.session.execute(
            delete(OutboxEntry).where(OutboxEntry.message_id.in_([i.message_id for i, _ in sent]))
        )
        _apply_early_statuses([result.wamid for _, result in sent])
        report.sent += len(sent)
    for item, result in zip(chunk, results, strict=True):
        if isinstance(result, GraphError):
            _handle_error(item, result, now, report)
    db.session.flush()
    return not report.paused


def _handle_error(item: Ready, error: GraphError, now: datetime, report: DrainReport) -> None:
    report.errors[error.code] = report.errors.get(error.code, 0) + 1
    disposition = error.disposition
    if disposition is Disposition.PAUSE:
        graph.pause(error)
        report.paused = True
        return  # not an attempt: the message waits, untouched, until a token works
    attempts = item.attempts + 1
    if disposition is Disposition.RECIPIENT_BACKOFF and item.pair_backoffs < MAX_PAIR_BACKOFFS:
        delay = 4**item.pair_backoffs * random.uniform(1.0, 1.25)
        _retry_later(item, attempts, now + timedelta(seconds=delay), pair_backoffs=item.pair_backoffs + 1)
        report.retried += 1
    elif disposition is Disposition.RETRY and attempts < MAX_ATTEMPTS:
        delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)] * random.uniform(0.5, 1.5)
        delay = max(delay, error.retry_after or 0)
        _retry_later(item, attempts, now + timedelta(seconds=delay))
        report.retried += 1
    else:
        _fail(
            item.message_id,
            error.code,
            error.title or "",
            error.reason,
            report,
            attempts=attempts,
            details=error.details,
        )


def _retry_later(item: Ready, attempts: int, at: datetime, pair_backoffs: int | None = None) -> None:
    db.session.execute(update(Message).where(Message.id == item.message_id).values(send_attempts=attempts))
    values = {"next_attempt_at": at, "lease_until": None, "lease_owner": None}
    if pair_backoffs is not None:
        values["pair_backoffs"] = pair_backoffs
    db.session.execute(update(OutboxEntry).where(OutboxEntry.message_id == item.message_id).values(**values))


def _fail(message_id, code, title, reason, report, attempts=None, details=None) -> None:
    values = {
        "status": "failed",
        "failed_at": utcnow(),
        "error_code": code,
        "error_title": title[:255],
        "error_details": reason if not details else f"{reason} ({details})",
    }
    if attempts is not None:
        values["send_attempts"] = attempts
    db.session.execute(update(Message).where(Message.id == message_id).values(**values))
    db.session.execute(delete(OutboxEntry).where(OutboxEntry.message_id == message_id))
    if code == STOPPED_MARKETING:  # the customer stopped marketing messages: opt them out, after commit
        work.after_commit(work.Work("stopped_marketing", ([_recipient(message_id)],)))
    report.failed += 1
    log.warning("message %s failed for good: %s %s", message_id, code, title)


def _recipient(message_id: int) -> str:
    query = (
        select(Contact.wa_id)
        .join(Conversation, Conversation.contact_id == Contact.id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.id == message_id)
    )
    return db.session.scalar(query) or ""


def mark_sent(message: Message, wamid: str, sent_at: datetime | None = None) -> None:
    """Record that Meta accepted `message` (flushed): wamid, status, and statuses that came early."""
    message.wamid = wamid
    if message.status == "queued":
        message.status = "sent"
    message.sent_at = message.sent_at or sent_at or utcnow()
    db.session.execute(delete(OutboxEntry).where(OutboxEntry.message_id == message.id))
    db.session.flush()
    statuses.apply_pending(message)


def _finish_already_sent(message_id: int, marker: str | None) -> None:
    message = db.session.get(Message, message_id)
    if marker and not message.wamid:
        log.warning(
            "message %s was accepted by Meta before its worker stopped; not sending it again", message_id
        )
        mark_sent(message, marker)
    else:
        db.session.execute(delete(OutboxEntry).where(OutboxEntry.message_id == message_id))


def _apply_early_statuses(wamids: list[str]) -> None:
    """Statuses that arrived before the send was recorded wait in status_events; apply them now."""
    from flowapp.models import StatusEvent

    early = set(
        db.session.scalars(
            select(StatusEvent.wamid).where(StatusEvent.wamid.in_(wamids), StatusEvent.applied_at.is_(None))
        )
    )
    for message in db.session.scalars(select(Message).where(Message.wamid.in_(early))) if early else []:
        statuses.apply_pending(message)


def _markers(connection, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    try:
        values = connection.mget([MARKER_KEY.format(i) for i in ids])
    except (RedisError, OSError):
        return {}
    return {i: v.decode() for i, v in zip(ids, values, strict=True) if v}


def _release(owner: str) -> None:
    """Give back what this owner still holds (a batch cut short by the limiter or a pause)."""
    db.session.execute(
        update(OutboxEntry).where(OutboxEntry.lease_owner == owner).values(lease_owner=None, lease_until=None)
    )


def _window_reason(last_inbound_at) -> str:
    return outside_window_reason(Contact(last_inbound_at=last_inbound_at))
