"""Processing what Meta delivered: the pipeline's jobs (flowapp/pipeline)."""

from __future__ import annotations

from flowapp.extensions import db, redis_answered
from flowapp.pipeline import intake, pumps, recovery
from flowapp.pipeline.ready import Slot
from flowapp.services import statuses


def pump_inbound(slot: int, token: str) -> dict:
    """Process waiting events (contacts in order, statuses in batches) for a while. Returns counts."""
    return pumps.run(Slot(slot, token))


def wake_inbound() -> bool:
    """Contacts whose retry or busy-wait is over become ready again."""
    return pumps.wake()


def sweep_inbound() -> int:
    """Periodic: announce every event that waits in the database (Redis was down or flushed, a
    worker died). Returns how many contacts and lanes were announced."""
    redis_answered()  # the sweep runs in a worker, so Redis answered moments ago
    statuses.apply_overtaken()
    intake.route_stored()  # events stored before routing existed (waiting across an upgrade)
    work = recovery.waiting_work()
    db.session.commit()  # events routed by the sweep are committed before they are announced
    if work:
        intake.announce(work)
    pumps.kick()
    return len(work)
