"""Deadlines of waiting runs: the database holds them, rq-scheduler fires them.

A run's `wait_deadline` (and the token in its state) is the truth. Scheduling a job for it is only a
wake-up call: when the scheduler starts it schedules every deadline again from the database, a
periodic sweep fires any that are overdue (Redis flushed, a job lost), and a job whose token no longer
matches the run (it moved on) does nothing. Job ids come from (run, token), so scheduling twice is
harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from redis.exceptions import RedisError
from rq_scheduler import Scheduler
from sqlalchemy import select

from flowapp.extensions import after_commit, db, get_redis
from flowapp.jobs import enqueue
from flowapp.models import AutomationRun, utcnow

log = logging.getLogger("flowapp.automations")

OVERDUE_GRACE = timedelta(seconds=30)


def job_id(run_id: int, token: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(token))
    return f"deadline-{run_id}-{safe}"[:120]


def schedule_after_commit(run_id: int, token: str, deadline: str | datetime) -> None:
    """Ask rq-scheduler to wake the run at its deadline, once this transaction commits."""
    when = deadline if isinstance(deadline, datetime) else datetime.fromisoformat(deadline)
    after_commit(schedule, run_id, token, when)


def after_commit_enqueue(func, *args, queue: str = "default", job_id: str | None = None) -> None:
    """Enqueue a job once this transaction commits."""
    after_commit(lambda: enqueue(queue, func, *args, job_id=job_id))


def schedule(run_id: int, token: str, when: datetime) -> bool:
    """Schedule the wake-up job (idempotent). False when Redis is unavailable (the sweep covers it)."""
    from flowapp.jobs.automations import fire_deadline

    try:
        scheduler = Scheduler(queue_name="default", connection=get_redis())
        scheduler.enqueue_at(when, fire_deadline, run_id, token, job_id=job_id(run_id, token), timeout=300)
    except (RedisError, OSError) as exc:
        log.error(
            "could not schedule the deadline of run %s (%s); the sweep will fire it",
            run_id,
            type(exc).__name__,
        )
        return False
    return True


def rebuild() -> int:
    """Schedule every waiting run's deadline from the database (the scheduler does this at start)."""
    count = 0
    for run in db.session.scalars(
        select(AutomationRun).where(
            AutomationRun.status == "waiting",
            AutomationRun.wait_deadline.is_not(None),
            AutomationRun.paused.is_(False),  # a paused run's deadline is set again on hand-back
        )
    ):
        token = (run.state.get("wait") or {}).get("token")
        if token and schedule(run.id, token, run.wait_deadline):
            count += 1
    log.info("scheduled %d deadlines from the database", count)
    return count


def overdue(limit: int = 500) -> list[tuple[int, str]]:
    """(run id, token) of waiting runs whose deadline passed a while ago without firing."""
    cutoff = utcnow() - OVERDUE_GRACE
    # Paused runs (a person took the conversation over) are left out: they would fill every batch and
    # starve the others; hand-back fires or reschedules their deadlines.
    runs = db.session.scalars(
        select(AutomationRun)
        .where(
            AutomationRun.status == "waiting",
            AutomationRun.wait_deadline.is_not(None),
            AutomationRun.paused.is_(False),
            AutomationRun.wait_deadline < cutoff,
        )
        .order_by(AutomationRun.wait_deadline)
        .limit(limit)
    )
    return [(run.id, (run.state.get("wait") or {}).get("token")) for run in runs]
