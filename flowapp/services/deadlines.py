"""Deadlines of waiting runs: the database holds them, rq-scheduler fires them.

A run's `wait_deadline` (and the token in its state) is the truth. Scheduling a job for it is only a
wake-up call: when the scheduler starts it schedules every deadline again from the database, a
periodic sweep fires any that are overdue (Redis flushed, a job lost), and a job whose token no longer
matches the run (it moved on) does nothing. Job ids come from (run, token), so scheduling twice is
harmless. This module only describes the wake-ups (`flowapp.work.Work`); the jobs layer schedules them
once the transaction that decided them commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AutomationRun, utcnow
from flowapp.work import Work

OVERDUE_GRACE = timedelta(seconds=30)


def job_id(run_id: int, token: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(token))
    return f"deadline-{run_id}-{safe}"[:120]


def wake_up(run_id: int, token: str, deadline: str | datetime) -> Work:
    """The job that wakes the run at its deadline, through rq-scheduler (idempotent by its id)."""
    when = deadline if isinstance(deadline, datetime) else datetime.fromisoformat(deadline)
    return Work(
        "fire_deadline",
        (run_id, token),
        job_id=job_id(run_id, token),
        at=when,
        scheduler=True,
        options={"timeout": 300},
    )


def wake_up_now(run_id: int, token: str) -> Work:
    """The job that fires a deadline that passed while nothing could fire it (the run was paused)."""
    return Work("fire_deadline", (run_id, token), job_id=f"resume-{job_id(run_id, token)}")


def wake_ups() -> list[Work]:
    """Every waiting run's wake-up, from the database (the scheduler submits them when it starts)."""
    runs = db.session.scalars(
        select(AutomationRun).where(
            AutomationRun.status == "waiting",
            AutomationRun.wait_deadline.is_not(None),
            AutomationRun.paused.is_(False),  # a paused run's deadline is set again on hand-back
        )
    )
    return [
        wake_up(run.id, token, run.wait_deadline)
        for run in runs
        if (token := (run.state.get("wait") or {}).get("token"))
    ]


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
