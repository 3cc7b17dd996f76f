"""Broadcasts: an automation started for an audience (manual, API or a schedule), with progress.

Creating a broadcast counts its audience and commits; a job then starts the runs in batches and
records how many started and how many were skipped (opted out, or already running it).
"""

from __future__ import annotations

import logging

from flowapp import work
from flowapp.extensions import db
from flowapp.models import Automation, Broadcast, User, utcnow
from flowapp.services import audiences

log = logging.getLogger("flowapp.automations")

BATCH = 200


def audience_ids(audience: dict) -> list[int]:
    """The contacts of an audience (see services.audiences: contact_ids, groups, tags, fields; all
    that are given must hold), selected by the database. Opted-out contacts are never in one."""
    return audiences.ids(audience)


def create(automation: Automation, audience: dict, *, user: User | None = None, note: str = "") -> Broadcast:
    """Record a broadcast of `automation` to `audience` and start it once committed (flushed)."""
    ids = audience_ids(audience)
    broadcast = Broadcast(
        automation_id=automation.id,
        audience={**audience, "note": note},
        status="queued",
        total=len(ids),
        created_by_id=user.id if user else None,
    )
    db.session.add(broadcast)
    db.session.flush()
    # Recorded here rather than returned: schedule triggers create broadcasts deep inside their job.
    job = work.Work(
        "run_broadcast", (broadcast.id,), job_id=f"broadcast-{broadcast.id}", options={"job_timeout": 3600}
    )
    work.after_commit(job)
    return broadcast


def run(broadcast_id: int) -> dict:
    """Start the runs of a broadcast (the job's body: it commits per batch so progress is visible)."""
    from flowapp.services import runner

    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.status == "done":
        return {"status": "nothing to do"}
    automation = db.session.get(Automation, broadcast.automation_id)
    broadcast.status = "running"
    db.session.commit()
    try:
        ids = audience_ids(broadcast.audience)
    except audiences.AudienceError as exc:  # a group deleted since: nobody, and the broadcast ends
        log.warning("broadcast %s: audience no longer works: %s", broadcast.id, exc)
        ids = []
    broadcast.total = len(ids)
    for start in range(0, len(ids), BATCH):
        for contact_id in ids[start : start + BATCH]:
            contact = runner.lock_contact(contact_id)
            # Checked again under the lock: the contact may have written STOP since the count.
            run = None
            if contact is not None and not contact.opted_out:
                run = runner.start_run(
                    automation,
                    contact,
                    broadcast_id=broadcast.id,
                    trigger_data={"type": "broadcast", "broadcast_id": broadcast.id},
                )
            if run is None:
                broadcast.skipped += 1
            else:
                broadcast.started += 1
        db.session.commit()
    broadcast.status = "done"
    broadcast.finished_at = utcnow()
    db.session.commit()
    log.info(
        "broadcast %s: %d started, %d skipped of %d",
        broadcast.id,
        broadcast.started,
        broadcast.skipped,
        broadcast.total,
    )
    return {"started": broadcast.started, "skipped": broadcast.skipped, "total": broadcast.total}
