"""The send pipeline's jobs."""

from __future__ import annotations

from flowapp.extensions import db
from flowapp.services import delivery, graph, outbox, templates


def drain_outbox(slot: int | None = None) -> dict:
    """Send what the outbox holds (many messages per job, within the shared rate limit)."""
    report = delivery.drain(slot)
    db.session.commit()
    return report.__dict__


def kick_outbox() -> bool:
    """Periodic and on retry deadlines: start a drain if one is due."""
    if outbox.due_count() == 0:
        outbox.schedule_wakeup()
        return False
    return outbox.kick()


def probe_token() -> bool:
    """Periodic: while sending is paused (token refused), check whether the token works again."""
    running = graph.probe()
    db.session.commit()
    if running:
        outbox.kick()
    return running


def sync_templates() -> dict:
    """Daily and on demand: fetch the business account's message templates."""
    counts = templates.sync(graph.client())
    db.session.commit()
    return counts
