"""Processing what Meta delivered: one ordered stream of stored webhook events."""

from __future__ import annotations

import logging
import time

from flowapp.extensions import db
from flowapp.services import inbound, intake

log = logging.getLogger("flowapp.jobs.inbound")

TIME_BUDGET = 20.0


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
            event_id = intake.next_pending()
            if event_id is None:
                break
            try:
                inbound.process_event(event_id)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                log.exception("webhook event %s failed", event_id)
                intake.record_failure(event_id, exc)
                db.session.commit()
            done += 1
    finally:
        db.session.rollback()
        intake.release_slot()
    # An event stored after the last look found nothing, but before the slot was released, found
    # the slot taken and started nobody: look once more now that the slot is free.
    if intake.next_pending() is not None:
        intake.kick()
    return done


def sweep_webhook_events() -> bool:
    """Periodic: start the processor for events nobody processed (Redis was down, a worker died)."""
    return intake.sweep()
