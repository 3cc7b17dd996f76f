"""Upkeep: expiring old runs, rolling up analytics counters, deleting logs past their retention."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, func, select

from flowapp.extensions import db
from flowapp.models import (
    ACTIVE_RUN_STATUSES,
    AnalyticsCounter,
    AutomationLog,
    AutomationRun,
    Message,
    WebhookEvent,
    utcnow,
)
from flowapp.services.upsert import insert_or_ignore

log = logging.getLogger("flowapp.maintenance")


def expire_old_runs(max_age_days: int) -> int:
    """End active runs older than `max_age_days` (status expired). Returns how many."""
    from flowapp.services import runner

    cutoff = utcnow() - timedelta(days=max_age_days)
    runs = db.session.scalars(
        select(AutomationRun).where(
            AutomationRun.status.in_(ACTIVE_RUN_STATUSES), AutomationRun.started_at < cutoff
        )
    ).all()
    for run in runs:
        runner.lock_contact(run.contact_id)
        runner.end_run(run, "expired", f"older than {max_age_days} days")
    return len(runs)


def aggregate_analytics(days: int = 2) -> int:
    """Recompute the daily counters of the last `days` days (idempotent: it overwrites them)."""
    since = datetime.combine((utcnow() - timedelta(days=days - 1)).date(), time.min, tzinfo=UTC)
    day = func.date(Message.created_at)  # the UTC day, on SQLite and PostgreSQL alike
    rows = db.session.execute(
        select(day, Message.direction, Message.status, func.count())
        .where(Message.created_at >= since)
        .group_by(day, Message.direction, Message.status)
    ).all()
    counters: dict[tuple, int] = {}
    for when, direction, status, count in rows:
        when = when if not isinstance(when, str) else when[:10]
        metric = "messages_in" if direction == "in" else "messages_out"
        counters[(str(when), metric)] = counters.get((str(when), metric), 0) + count
        if direction == "out":
            counters[(str(when), f"out_{status}")] = counters.get((str(when), f"out_{status}"), 0) + count
    for (when, metric), value in counters.items():
        _put_counter(when, metric, value)
    return len(counters)


def _put_counter(day: str, metric: str, value: int, automation_id: int = 0, node_id: str = "") -> None:
    from datetime import date

    key = {
        "day": date.fromisoformat(day),
        "metric": metric,
        "automation_id": automation_id,
        "node_id": node_id,
    }
    if insert_or_ignore(AnalyticsCounter, {**key, "value": value}, list(key)) is None:
        row = db.session.scalar(select(AnalyticsCounter).filter_by(**key))
        row.value = value


def cleanup(retention_days: int) -> int:
    """Delete automation logs of ended runs and processed webhook bodies older than the retention.
    Messages are never deleted here."""
    cutoff = utcnow() - timedelta(days=retention_days)
    ended = select(AutomationRun.id).where(AutomationRun.status.not_in(ACTIVE_RUN_STATUSES))
    logs = db.session.execute(
        delete(AutomationLog).where(AutomationLog.created_at < cutoff, AutomationLog.run_id.in_(ended))
    ).rowcount
    events = db.session.execute(
        delete(WebhookEvent).where(
            WebhookEvent.processed_at.is_not(None),
            WebhookEvent.processed_at < cutoff,
            WebhookEvent.error.is_(None),
        )
    ).rowcount
    log.info(
        "cleanup: %d automation log lines and %d webhook bodies older than %d days",
        logs,
        events,
        retention_days,
    )
    return logs + events
