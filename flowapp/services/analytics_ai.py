"""AI calls in analytics: calls, failures, tokens and cost per day and per automation.

Read straight from `ai_calls` (one row per model call, indexed by time), grouped by the database:
calls are few next to messages, so they need no hourly roll-up and the figures are never late.
Cost is in micro-units of the prices' currency; a call to a model with no price adds no cost and
is counted apart, so an unknown price never looks free.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from flowapp.extensions import db
from flowapp.models import AICall, Automation


def report(first: date, last: date) -> dict:
    """{"daily": [...], "automations": [...], "totals": {...}} for the UTC days first..last."""
    start = datetime.combine(first, time(), UTC)
    end = datetime.combine(last + timedelta(days=1), time(), UTC)
    in_range = (AICall.created_at >= start, AICall.created_at < end)
    day = func.date(AICall.created_at)  # the UTC day, on SQLite and PostgreSQL alike
    daily = [
        {"day": _day(row[0]), **_figures(row[1:])}
        for row in db.session.execute(select(day, *_measures()).where(*in_range).group_by(day).order_by(day))
    ]
    per_automation = [
        {"automation_id": row[0], "name": row[1] or "(deleted or the simulator)", **_figures(row[2:])}
        for row in db.session.execute(
            select(AICall.automation_id, Automation.name, *_measures())
            .outerjoin(Automation, Automation.id == AICall.automation_id)
            .where(*in_range)
            .group_by(AICall.automation_id, Automation.name)
            .order_by(func.sum(AICall.tokens_in + AICall.tokens_out).desc())
        )
    ]
    totals = _figures(db.session.execute(select(*_measures()).where(*in_range)).one())
    return {"daily": daily, "automations": per_automation, "totals": totals}


def _measures():
    return (
        func.count(),
        func.sum(case((AICall.status != "ok", 1), else_=0)),
        func.coalesce(func.sum(AICall.tokens_in + AICall.tokens_out), 0),
        func.coalesce(func.sum(AICall.cost_micros), 0),
        func.sum(case((AICall.cost_micros.is_(None) & (AICall.status == "ok"), 1), else_=0)),
        func.avg(case((AICall.status == "ok", AICall.latency_ms))),
    )


def _figures(row) -> dict:
    calls, failed, tokens, cost, unpriced, latency = row
    return {
        "calls": calls or 0,
        "failed": failed or 0,
        "tokens": int(tokens or 0),
        "cost_micros": int(cost or 0),
        "unpriced": unpriced or 0,
        "latency_ms": round(float(latency)) if latency is not None else None,
    }


def _day(value) -> date:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value
