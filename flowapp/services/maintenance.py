"""Upkeep: expiring old runs, rolling up analytics counters, deleting logs past their retention."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func, or_, select

from flowapp.extensions import db
from flowapp.models import (
    ACTIVE_RUN_STATUSES,
    AnalyticsCounter,
    AutomationLog,
    AutomationRun,
    Message,
    Setting,
    WebhookEvent,
    utcnow,
)
from flowapp.services import settings

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


# Run outcomes keep changing for a while after the run starts (a wait ends, a run expires), so
# run counters are recomputed over a longer stretch than message counters.
RUN_DAYS = 7
# First-response buckets (seconds): under a minute, five minutes, an hour, a day; the rest is "more".
RESPONSE_BUCKETS = (60, 300, 3600, 86400)
# Messages older than the aggregated days are read for context: a customer turn may begin before it.
TURN_LOOKBACK = timedelta(days=1)
_ANSWERING = {"run": "bot", "user": "agent"}
# Messages that change earlier ones or come from WhatsApp itself: they neither open nor answer a turn.
NOT_A_TURN = ("reaction", "edit", "revoke", "system")
AGGREGATED_AT_KEY = "analytics_aggregated_at"
DROPPED_RUN_STATUSES = ("failed", "expired", "interrupted")
# Metric names (a trailing % is a prefix) that aggregate_analytics owns.
MESSAGE_FAMILIES = ("messages_in", "messages_out", "out_%", "failed_code:%", "response_%")
RUN_FAMILIES = ("runs_%", "dropoff", "keyword:%")


def aggregate_analytics(days: int = 2) -> int:
    """Recompute the daily counters of the last `days` days (idempotent: it replaces them).

    Days are UTC. Counters (metric names; automation_id and node_id are 0 and "" unless said):
    - messages_in, messages_out, out_<status> (outbound by current status), failed_code:<code>;
    - response_<bot|agent>_count, _seconds (sum), _le_<bucket> (first responses, see below);
    - runs_started and runs_<status> per automation_id, by the day the run started;
    - dropoff per automation_id and node_id: runs that ended without completing, by the node where
      they stopped; keyword:<first word> per automation_id: runs started by a keyword trigger.

    A first response is the first outbound message after a customer's turn begins (an inbound
    message after an outbound one, or the first ever): by an automation run (bot) or a person (agent).
    """
    today = utcnow().date()
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)
    runs_since = datetime.combine(today - timedelta(days=max(days, RUN_DAYS) - 1), time.min, tzinfo=UTC)
    counters: dict[tuple, int] = {}
    _message_counters(since, counters)
    _response_counters(since, counters)
    _run_counters(runs_since, counters)
    # Replace only the families computed here (other counters may share the table).
    run_families = _families(RUN_FAMILIES)
    db.session.execute(
        delete(AnalyticsCounter).where(AnalyticsCounter.day >= runs_since.date(), run_families)
    )
    db.session.execute(
        delete(AnalyticsCounter).where(AnalyticsCounter.day >= since.date(), _families(MESSAGE_FAMILIES))
    )
    for (day, metric, automation_id, node_id), value in counters.items():
        db.session.add(
            AnalyticsCounter(
                day=day, metric=metric[:64], automation_id=automation_id, node_id=node_id[:140], value=value
            )
        )
    db.session.flush()
    settings.put(AGGREGATED_AT_KEY, utcnow().isoformat())
    return len(counters)


def _families(names: tuple[str, ...]):
    return or_(
        *[AnalyticsCounter.metric.like(n) if n.endswith("%") else AnalyticsCounter.metric == n for n in names]
    )


def _add(counters: dict, day, metric: str, value: int = 1, automation_id: int = 0, node_id: str = "") -> None:
    day = date.fromisoformat(day[:10]) if isinstance(day, str) else day
    key = (day, metric, automation_id, node_id or "")
    counters[key] = counters.get(key, 0) + value


def _message_counters(since: datetime, counters: dict) -> None:
    day = func.date(Message.created_at)  # the UTC day, on SQLite and PostgreSQL alike
    rows = db.session.execute(
        select(day, Message.direction, Message.status, Message.error_code, func.count())
        .where(Message.created_at >= since)
        .group_by(day, Message.direction, Message.status, Message.error_code)
    ).all()
    for when, direction, status, code, count in rows:
        _add(counters, when, "messages_in" if direction == "in" else "messages_out", count)
        if direction == "out":
            _add(counters, when, f"out_{status}", count)
            if status == "failed":
                _add(counters, when, f"failed_code:{code if code is not None else 'none'}", count)


def _response_counters(since: datetime, counters: dict) -> None:
    """Walk each conversation's messages in time order and time the first answer to each turn."""
    rows = db.session.execute(
        select(Message.conversation_id, Message.direction, Message.author_type, Message.created_at)
        .where(Message.created_at >= since - TURN_LOOKBACK, Message.type.not_in(NOT_A_TURN))
        .order_by(Message.conversation_id, Message.created_at, Message.id)
        .execution_options(yield_per=5000)
    )
    conversation, waiting_since = None, None
    for conversation_id, direction, author_type, created_at in rows:
        if conversation_id != conversation:
            conversation, waiting_since = conversation_id, None
        if direction == "in":
            waiting_since = waiting_since or created_at
            continue
        if waiting_since is not None and created_at >= since and author_type in _ANSWERING:
            who = _ANSWERING[author_type]
            seconds = max(0, int((created_at - waiting_since).total_seconds()))
            _add(counters, created_at.date(), f"response_{who}_count")
            _add(counters, created_at.date(), f"response_{who}_seconds", seconds)
            bucket = next((b for b in RESPONSE_BUCKETS if seconds < b), "more")
            _add(counters, created_at.date(), f"response_{who}_le_{bucket}")
        waiting_since = None  # any outbound message ends the customer's turn


def _run_counters(since: datetime, counters: dict) -> None:
    day = func.date(AutomationRun.started_at)
    rows = db.session.execute(
        select(
            day, AutomationRun.automation_id, AutomationRun.status, AutomationRun.current_node, func.count()
        )
        .where(AutomationRun.started_at >= since)
        .group_by(day, AutomationRun.automation_id, AutomationRun.status, AutomationRun.current_node)
    ).all()
    for when, automation_id, status, node, count in rows:
        _add(counters, when, "runs_started", count, automation_id)
        _add(counters, when, f"runs_{status}", count, automation_id)
        if status in DROPPED_RUN_STATUSES:
            _add(counters, when, "dropoff", count, automation_id, node or "")
    keyword_runs = db.session.execute(
        select(AutomationRun.started_at, AutomationRun.automation_id, AutomationRun.trigger).where(
            AutomationRun.started_at >= since
        )
    )
    for started_at, automation_id, trigger in keyword_runs:
        if (trigger or {}).get("type") == "keyword":
            word = first_word(((trigger.get("message") or {}).get("text")) or "")
            if word:
                _add(counters, started_at.date(), f"keyword:{word}", 1, automation_id)


def first_word(text: str) -> str:
    """The first word of a message, lower-cased, without accents' case or punctuation (at most 40)."""
    words = re.findall(r"\w+", text.casefold())
    return words[0][:40] if words else ""


def cleanup(retention_days: int) -> int:
    """Delete automation logs of ended runs and processed webhook bodies older than the retention.
    Messages are never deleted here.

    `retention_days` is the configuration's (LOG_RETENTION_DAYS); a value stored in Settings
    ("log_retention_days") overrides it.
    """
    stored = db.session.get(Setting, "log_retention_days")
    if stored is not None and isinstance(stored.value, int) and stored.value >= 1:
        retention_days = stored.value
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
