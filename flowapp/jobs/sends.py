"""The send pipeline's jobs."""

from __future__ import annotations

from flowapp import work
from flowapp.extensions import db
from flowapp.jobs import start_drain
from flowapp.services import delivery, graph, outbox, templates


def drain_outbox(slot: int | None = None) -> dict:
    """Send what the outbox holds (many messages per job, within the shared rate limit)."""
    report = delivery.drain(slot)
    db.session.commit()
    return report.__dict__


def kick_outbox() -> bool:
    """Periodic and on retry deadlines: start a drain if one is due."""
    if outbox.due_count() == 0:
        wakeup = outbox.wakeup()
        if wakeup is not None:
            work.submit([wakeup])
        return False
    return start_drain()


def probe_token() -> bool:
    """Periodic: while sending is paused (token refused), check whether the token works again."""
    running = graph.probe()
    db.session.commit()
    if running:
        start_drain()
    return running


def sync_templates() -> dict:
    """Daily and on demand: fetch the business account's message templates."""
    counts = templates.sync(graph.client())
    db.session.commit()
    return counts
