"""Processing what Meta delivered: one ordered stream of stored webhook events."""

from __future__ import annotations

import logging
import time

from flowapp.extensions import db
from flowapp.services import inbound, intake

log = logging.getLogger("flowapp.jobs.inbound")

# Short, so that a worker serving every queue also sends the replies while webhooks keep coming.
TIME_BUDGET = 2.0


def process_webhook_events(time_budget: float = TIME_BUDGET) -> int:
    """Process stored events oldest first until none is due (or the budget is spent). Returns count.

    Each event is its own transaction: one that fails is rolled back, recorded with its error and
    retried later, and the events behind it carry on.
    """
    deadline = time.monotonic() + time_budget
    done = 0
    try:
        while time.monotonic() < deadline:
            intake.hold_slot()
            batch = intake.pending()
            if not batch:
                break
            for event_id in batch:
                _process_one(event_id)
                done += 1
                if time.monotonic() >= deadline:
                    break
    finally:
        db.session.rollback()
        intake.release_slot()
    # An event stored after the last look found nothing, but before the slot was released, found
    # the slot taken and started nobody: look once more now that the slot is free.
    if intake.next_pending() is not None:
        intake.kick()
    return done


def _process_one(event_id: int) -> None:
    try:
        inbound.process_event(event_id)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("webhook event %s failed", event_id)
        intake.record_failure(event_id, exc)
        db.session.commit()


def sweep_webhook_events() -> bool:
    """Periodic: start the processor for events nobody processed (Redis was down, a worker died)."""
    return intake.sweep()
