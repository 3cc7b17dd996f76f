"""Processing what Meta delivered."""

from __future__ import annotations

import logging

from flowapp.extensions import db
from flowapp.services import inbound

log = logging.getLogger("flowapp.jobs.inbound")


def process_webhook_event(event_id: int) -> str:
    """Parse a stored webhook event and apply it (messages, statuses). Idempotent."""
    try:
        outcome = inbound.process_event(event_id)
        db.session.commit()
        return outcome
    except Exception as exc:
        db.session.rollback()
        inbound.record_failure(event_id, exc)
        db.session.commit()
        raise  # RQ retries it; after the last retry the sweep tries again later


def sweep_webhook_events() -> int:
    """Periodic: enqueue stored events that were never processed."""
    from flowapp.services import intake

    return intake.sweep()
