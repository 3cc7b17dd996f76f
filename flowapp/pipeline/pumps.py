"""Pumps: the jobs that process stored events, as many at once as there are slots.

A pump takes the next contact (numbers in turn, see ready.py) and drains its events before moving
on; between contacts, a batch of the bulk lane when it is raised (at least every BULK_EVERY
seconds, and whenever no contact waits). With nothing to do it waits a moment for the next
announcement (a new job costs more than the wait), then ends; it also ends when its time budget is
spent, and work left over starts a new pump. While contacts keep waiting, each pump starts a
sibling in the next free slot, so the number of pumps grows with the work up to the slots:
INBOUND_PARALLEL, the workers serving the inbound queue, and one fewer while replies are being
sent (a pump over that number ends), so that a worker is free for them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from datetime import UTC, datetime

from flask import Flask, current_app
from redis.exceptions import RedisError

from flowapp.extensions import db, get_redis
from flowapp.pipeline import bulk, contacts
from flowapp.pipeline.ready import Board, Slot
from flowapp.services import outbox
from flowapp.work import Work, submit

log = logging.getLogger("flowapp.whatsapp.inbound")

TIME_BUDGET = 2.0
INBOUND_WORKERS = "rq:workers:webhooks"  # RQ's set of the workers serving the inbound queue
IDLE_WAIT = 0.5  # seconds an idle pump waits for work before it ends
IDLE_POLL = 0.1  # seconds between its looks at its slot and budget meanwhile
PROMOTE_EVERY = 0.5  # seconds between looks at contacts whose delay is over
BULK_EVERY = 0.25  # seconds a pump busy with customers goes at most without a batch of statuses
RENEW_EVERY = 0.2  # seconds between renewals of its slot (which expires after a minute)
JOB_TIMEOUT = 120


def board(app: Flask | None = None) -> Board:
    """The app's Board (Redis scripts registered once per app)."""
    app = app or current_app._get_current_object()
    connection = get_redis(app)
    found = app.extensions.get("flowapp_board")
    if found is None or found.redis is not connection:
        senders = tuple(outbox.SLOT_KEY.format(n) for n in range(int(app.config["SEND_PARALLEL"])))
        found = Board(connection, int(app.config["INBOUND_PARALLEL"]), INBOUND_WORKERS, senders)
        app.extensions["flowapp_board"] = found
    return found


def start(slot: Slot) -> None:
    """Enqueue a pump for a slot just claimed."""
    submit(
        [
            Work(
                "pump_inbound",
                (slot.number, slot.token),
                queue="webhooks",
                job_id=f"inbound-{slot.number}-{slot.token}",
                options={"result_ttl": 60, "failure_ttl": 7 * 86400, "job_timeout": JOB_TIMEOUT},
            )
        ]
    )


def kick() -> bool:
    """Start a pump if work waits and a slot is free (after a sweep, a retry, a wake-up)."""
    slot = board().claim_if_waiting()
    if slot is not None:
        start(slot)
    return slot is not None


def run(slot: Slot, time_budget: float = TIME_BUDGET) -> dict:
    """Process waiting events until none is left or the budget is spent. Returns counts."""
    ready = board()
    done: Counter = Counter()
    if not ready.owns(slot):
        return {"stale": 1}  # our slot expired while we waited in the queue; another pump has it
    deadline = time.monotonic() + time_budget
    promoted_at = bulk_at = renewed_at = 0.0
    idle_since = None
    try:
        while time.monotonic() < deadline:
            if time.monotonic() - promoted_at >= PROMOTE_EVERY:
                ready.promote_due()
                promoted_at = time.monotonic()
            # Customers first; statuses when no customer waits, or every BULK_EVERY seconds at
            # least: they wait a little, and come in fuller (cheaper) batches.
            worked = _next_contact(ready, done)
            if not worked or time.monotonic() - bulk_at >= BULK_EVERY:
                worked += _bulk(ready, done)
                bulk_at = time.monotonic()
            if time.monotonic() - renewed_at >= RENEW_EVERY:
                if not ready.renew(slot):
                    break
                renewed_at = time.monotonic()
            idle_since = None if worked else (idle_since or time.monotonic())
            if idle_since is not None:
                # Nothing to do: wait a moment for the next announcement rather than end the job
                # (a new job costs more than the wait).
                if time.monotonic() - idle_since >= IDLE_WAIT:
                    break
                ready.wait_for_work(IDLE_POLL)
    finally:
        db.session.rollback()
        _leave(ready, slot)
    return dict(done)


def _bulk(ready: Board, done: Counter) -> int:
    seen = ready.bulk_signal()
    if seen is None:
        return 0
    taken = bulk.process_batch()
    if taken < bulk.BATCH:
        ready.settle_bulk(seen)  # everything announced before `seen` is done or being done
    done["bulk"] += taken
    return taken


def _next_contact(ready: Board, done: Counter) -> int:
    found = ready.pop()
    if found is None:
        return 0
    number, contact, sibling = found
    if sibling is not None:
        start(sibling)  # more contacts wait: another worker may take them meanwhile
    done[contacts.drain(number, contact, ready)] += 1
    return 1


def _leave(ready: Board, slot: Slot) -> None:
    """Free the slot; start a new pump if work is left, and wake one when the next delay is over."""
    try:
        successor = ready.release(slot)
        if successor is not None:
            start(successor)
        due = ready.next_delayed()
        if due is not None:
            wake_at(due)
    except (RedisError, OSError):
        log.exception("could not hand inbound work on; the sweep will")


def wake_at(due: float) -> None:
    """Ask the scheduler for a wake-up when a delayed contact is due (one job per second at most)."""
    second = int(due) + 1
    submit(
        [
            Work(
                "wake_inbound",
                queue="webhooks",
                job_id=f"inbound-wake-{second}",
                at=datetime.fromtimestamp(second, tz=UTC),
                options={"result_ttl": 60},
            )
        ]
    )


def wake() -> bool:
    """Delayed contacts whose time has come become ready, and a pump starts for them."""
    board().promote_due()
    return kick()
