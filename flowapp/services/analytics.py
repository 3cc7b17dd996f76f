"""What the analytics page and /metrics show, read from the daily counters and a few indexed counts.

The counters are rolled up hourly by maintenance.aggregate_analytics (days are UTC), so the page reads
a few hundred rows whatever the message volume. /metrics counts live, from indexed columns.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from flowapp.extensions import ALL_QUEUES, db, get_redis
from flowapp.models import AnalyticsCounter, Automation, AutomationRun, Message, OutboxEntry, WebhookEvent
from flowapp.services import graph, settings
from flowapp.services.maintenance import AGGREGATED_AT_KEY, RESPONSE_BUCKETS
from flowapp.whatsapp.errors import describe

MAX_RANGE_DAYS = 366
DELIVERED = ("delivered", "read", "played")
SENT = ("sent", *DELIVERED)


def counters(first: date, last: date) -> dict[tuple, dict]:
    """{(metric, automation_id, node_id): {day: value}} for the days from `first` to `last`."""
    rows = db.session.execute(
        select(
            AnalyticsCounter.metric,
            AnalyticsCounter.automation_id,
            AnalyticsCounter.node_id,
            AnalyticsCounter.day,
            AnalyticsCounter.value,
        ).where(AnalyticsCounter.day >= first, AnalyticsCounter.day <= last)
    )
    result: dict[tuple, dict] = defaultdict(dict)
    for metric, automation_id, node_id, day, value in rows:
        result[(metric, automation_id, node_id)][day] = value
    return result


def report(first: date, last: date) -> dict:
    """Everything the page shows for the days from `first` to `last` (inclusive)."""
    data = counters(first, last)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def series(metric: str, *more: str) -> list[int]:
        return [sum(data.get((m, 0, ""), {}).get(day, 0) for m in (metric, *more)) for day in days]

    daily = [
        {
            "day": day,
            "in": series("messages_in")[i],
            "out": series("messages_out")[i],
            "delivered": series(*(f"out_{s}" for s in DELIVERED))[i],
            "read": series("out_read", "out_played")[i],
            "failed": series("out_failed")[i],
        }
        for i, day in enumerate(days)
    ]
    return {
        "first": first,
        "last": last,
        "daily": daily,
        "totals": _totals(data),
        "failures": _failures(data, first, last),
        "responses": {who: _responses(data, who) for who in ("bot", "agent")},
        "automations": _automations(data),
        "keywords": _keywords(data),
        "aggregated_at": settings.get(AGGREGATED_AT_KEY),
    }


def _sum(data: dict, metric: str, automation_id: int = 0, node_id: str = "") -> int:
    return sum(data.get((metric, automation_id, node_id), {}).values())


def _totals(data: dict) -> dict:
    totals = {
        "in": _sum(data, "messages_in"),
        "out": _sum(data, "messages_out"),
        "delivered": sum(_sum(data, f"out_{s}") for s in DELIVERED),
        "read": _sum(data, "out_read") + _sum(data, "out_played"),
        "failed": _sum(data, "out_failed"),
    }
    # Rates are of the messages that left (or failed): queued ones have no outcome yet.
    settled = sum(_sum(data, f"out_{s}") for s in SENT) + totals["failed"]
    totals["settled"] = settled
    for key in ("delivered", "read", "failed"):
        totals[f"{key}_rate"] = totals[key] / settled if settled else None
    return totals


def _failures(data: dict, first: date, last: date) -> list[dict]:
    """Failed messages by Meta error code, with what the code means and Meta's last title for it."""
    counts = {
        metric.split(":", 1)[1]: sum(values.values())
        for (metric, _, _), values in data.items()
        if metric.startswith("failed_code:")
    }
    titles = _recent_titles(first, last) if counts else {}
    rows = []
    for code, count in sorted(counts.items(), key=lambda item: -item[1]):
        number = int(code) if code.isdigit() else None
        rows.append(
            {"code": number, "count": count, "title": titles.get(number), "meaning": describe(number)}
        )
    return rows


def _recent_titles(first: date, last: date) -> dict:
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    rows = db.session.execute(
        select(Message.error_code, func.max(Message.error_title))
        .where(Message.status == "failed", Message.created_at >= start, Message.created_at < end)
        .group_by(Message.error_code)
    )
    return dict(rows.all())


def _responses(data: dict, who: str) -> dict:
    count = _sum(data, f"response_{who}_count")
    seconds = _sum(data, f"response_{who}_seconds")
    buckets = [(b, _sum(data, f"response_{who}_le_{b}")) for b in (*RESPONSE_BUCKETS, "more")]
    return {"count": count, "average_seconds": seconds / count if count else None, "buckets": buckets}


def _automations(data: dict) -> list[dict]:
    ids = {automation_id for (metric, automation_id, _) in data if metric == "runs_started" and automation_id}
    names = dict(
        db.session.execute(select(Automation.id, Automation.name).where(Automation.id.in_(ids))).all()
    )
    rows = []
    for automation_id in ids:
        row = {"id": automation_id, "name": names.get(automation_id, f"deleted automation {automation_id}")}
        for status in ("started", "completed", "failed", "expired", "interrupted", "running", "waiting"):
            row[status] = _sum(data, f"runs_{status}", automation_id)
        row["active"] = row["running"] + row["waiting"]
        row["dropped"] = row["failed"] + row["expired"] + row["interrupted"]
        row["completion_rate"] = row["completed"] / row["started"] if row["started"] else None
        stops = [
            (node or "(start)", sum(values.values()))
            for (metric, aid, node), values in data.items()
            if metric == "dropoff" and aid == automation_id
        ]
        row["dropoff"] = sorted(stops, key=lambda item: -item[1])[:3]
        rows.append(row)
    return sorted(rows, key=lambda row: -row["started"])


def _keywords(data: dict, top: int = 10) -> list[tuple[str, int]]:
    totals: dict[str, int] = defaultdict(int)
    for (metric, _, _), values in data.items():
        if metric.startswith("keyword:"):
            totals[metric.split(":", 1)[1]] += sum(values.values())
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:top]


CSV_HEADER = (
    "day",
    "messages_in",
    "messages_out",
    "delivered",
    "read",
    "failed",
)


def csv_rows(result: dict) -> list[list]:
    """The daily table of a report, as CSV rows (header first)."""
    rows: list[list] = [list(CSV_HEADER)]
    for entry in result["daily"]:
        rows.append(
            [entry["day"].isoformat(), *(entry[key] for key in ("in", "out", "delivered", "read", "failed"))]
        )
    return rows


class MetricsCollector:
    """A prometheus_client collector reading the live state at scrape time."""

    def collect(self):
        yield from self._database()
        yield from self._redis()

    def _database(self):
        received = CounterMetricFamily(
            "flowapp_webhooks_received", "Webhook deliveries from Meta stored (the highest event id)."
        )
        received.add_metric([], db.session.scalar(select(func.max(WebhookEvent.id))) or 0)
        yield received
        pending = GaugeMetricFamily(
            "flowapp_webhook_events_pending", "Stored webhook events not processed yet."
        )
        pending.add_metric([], _count(select(func.count()).where(WebhookEvent.processed_at.is_(None))))
        yield pending
        parked = GaugeMetricFamily(
            "flowapp_webhook_events_parked",
            "Webhook events that failed on every attempt and wait for an admin (Settings > Inbound events).",
        )
        parked.add_metric(
            [],
            _count(
                select(func.count()).where(
                    WebhookEvent.parked_at.is_not(None), WebhookEvent.processed_at.is_(None)
                )
            ),
        )
        yield parked
        sent = CounterMetricFamily("flowapp_messages_sent", "Outbound messages Meta accepted.")
        sent.add_metric(
            [],
            _count(select(func.count()).where(Message.status.in_(SENT), Message.direction == "out"))
            + _count(select(func.count()).where(Message.status == "failed", Message.sent_at.is_not(None))),
        )
        yield sent
        received_messages = CounterMetricFamily("flowapp_messages_received", "Inbound messages stored.")
        received_messages.add_metric([], _count(select(func.count()).where(Message.status == "received")))
        yield received_messages
        failed = CounterMetricFamily(
            "flowapp_messages_failed",
            "Outbound messages that failed for good, by Meta error code.",
            labels=["code"],
        )
        for code, count in db.session.execute(
            select(Message.error_code, func.count())
            .where(Message.status == "failed")
            .group_by(Message.error_code)
        ):
            failed.add_metric([str(code) if code is not None else "none"], count)
        yield failed
        queued = GaugeMetricFamily("flowapp_messages_queued", "Outbound messages waiting to be sent.")
        queued.add_metric([], _count(select(func.count()).where(Message.status == "queued")))
        yield queued
        outbox = GaugeMetricFamily("flowapp_outbox_size", "Rows in the send pipeline's outbox.")
        outbox.add_metric([], _count(select(func.count()).select_from(OutboxEntry)))
        yield outbox
        runs = GaugeMetricFamily("flowapp_runs", "Automation runs by status.", labels=["status"])
        by_status = dict(
            db.session.execute(
                select(AutomationRun.status, func.count()).group_by(AutomationRun.status)
            ).all()
        )
        for status in ("running", "waiting", "completed", "failed", "expired", "interrupted"):
            runs.add_metric([status], by_status.get(status, 0))
        yield runs
        paused = GaugeMetricFamily("flowapp_sending_paused", "1 while sending is paused (token refused).")
        paused.add_metric([], 1 if graph.paused() else 0)
        yield paused

    def _redis(self):
        up = GaugeMetricFamily("flowapp_redis_up", "1 when Redis answers.")
        depth = GaugeMetricFamily("flowapp_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        failed = GaugeMetricFamily(
            "flowapp_queue_failed_jobs", "Jobs in each queue's failed registry.", labels=["queue"]
        )
        workers = GaugeMetricFamily("flowapp_workers", "RQ workers alive.")
        try:
            connection = get_redis()
            for name in ALL_QUEUES:
                queue = Queue(name, connection=connection)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], FailedJobRegistry(queue=queue).count)
            workers.add_metric([], len(Worker.all(connection=connection)))
            up.add_metric([], 1)
        except (RedisError, OSError):
            up.add_metric([], 0)
            yield up
            return
        yield from (up, depth, failed, workers)


def _count(query) -> int:
    return db.session.scalar(query) or 0
