"""Analytics: the hourly roll-up into daily counters, and the report the page reads from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flowapp.extensions import db
from flowapp.models import AnalyticsCounter, Automation, AutomationRun, AutomationVersion, Message, utcnow
from flowapp.services import analytics, maintenance
from flowapp.whatsapp.errors import describe
from tests import factories

NOW = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
if NOW > utcnow():  # before noon UTC: use yesterday's noon so every time below is in the past
    NOW -= timedelta(days=1)


def message(conversation, direction, at, *, author="contact", status=None, code=None, title=None, text="hi"):
    row = Message(
        conversation=conversation,
        direction=direction,
        type="text",
        text=text,
        status=status or ("received" if direction == "in" else "delivered"),
        author_type=author,
        error_code=code,
        error_title=title,
        created_at=at,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def traffic(session):
    """Two conversations: a bot that answers in 30 s, an agent who answers in 10 min, some failures."""
    first = factories.make_conversation(factories.make_contact(wa_id="15551230001"))
    second = factories.make_conversation(factories.make_contact(wa_id="15551230002"))
    t = NOW - timedelta(hours=2)
    message(first, "in", t)
    message(first, "in", t + timedelta(seconds=10))  # same turn: the clock runs from the first
    message(first, "out", t + timedelta(seconds=30), author="run", status="read")
    message(
        first,
        "out",
        t + timedelta(seconds=40),
        author="run",
        status="failed",
        code=131047,
        title="Re-engagement",
    )
    message(second, "in", t)
    message(second, "out", t + timedelta(minutes=10), author="user", status="delivered")
    message(
        second,
        "out",
        t + timedelta(minutes=11),
        author="user",
        status="failed",
        code=131026,
        title="Undeliverable",
    )
    message(second, "out", t + timedelta(minutes=12), author="api", status="queued")
    return first, second


_numbers = iter(range(10_000))


def runs(session, statuses, trigger=None):
    automation = Automation(name="Menu", trigger={"type": "keyword"}, draft={}, status="active")
    db.session.add(automation)
    db.session.flush()
    version = AutomationVersion(automation=automation, number=1, graph={}, trigger={}, spec_version=2)
    db.session.add(version)
    db.session.flush()
    for status, node in statuses:
        contact = factories.make_contact(wa_id=f"1555999{next(_numbers):04d}")
        db.session.add(
            AutomationRun(
                automation=automation,
                version=version,
                contact=contact,
                status=status,
                current_node=node,
                trigger=trigger or {},
                started_at=NOW - timedelta(hours=1),
            )
        )
    db.session.flush()
    return automation


def test_rollup_counts_messages_rates_and_failures(traffic):
    """Messages in/out per day, delivery outcomes and failure codes become counters."""
    maintenance.aggregate_analytics()
    report = analytics.report(NOW.date(), NOW.date())
    day = report["daily"][0]
    assert (day["in"], day["out"], day["delivered"], day["read"], day["failed"]) == (3, 5, 2, 1, 2)
    totals = report["totals"]
    assert totals["settled"] == 4  # the queued one has no outcome yet
    assert totals["delivered_rate"] == pytest.approx(0.5) and totals["failed_rate"] == pytest.approx(0.5)
    failures = {f["code"]: f for f in report["failures"]}
    assert failures[131047]["count"] == 1 and failures[131047]["title"] == "Re-engagement"
    assert failures[131047]["meaning"] == describe(131047)


def test_first_response_times_of_bot_and_agents(traffic):
    """The bot answered its turn in 30 s, the agent in 10 minutes; later messages are not answers."""
    maintenance.aggregate_analytics()
    responses = analytics.report(NOW.date(), NOW.date())["responses"]
    assert responses["bot"]["count"] == 1 and responses["bot"]["average_seconds"] == 30
    assert responses["agent"]["count"] == 1 and responses["agent"]["average_seconds"] == 600
    assert dict(responses["bot"]["buckets"])[60] == 1
    assert dict(responses["agent"]["buckets"])[3600] == 1


def test_rollup_is_idempotent_and_replaces_stale_counters(traffic):
    """Running twice gives the same counters; a status that moved on leaves no stale counter."""
    maintenance.aggregate_analytics()
    first = db.session.scalar(db.select(db.func.count()).select_from(AnalyticsCounter))
    maintenance.aggregate_analytics()
    assert db.session.scalar(db.select(db.func.count()).select_from(AnalyticsCounter)) == first
    queued = db.session.scalar(db.select(Message).where(Message.status == "queued"))
    queued.status = "sent"
    maintenance.aggregate_analytics()
    metrics = set(db.session.scalars(db.select(AnalyticsCounter.metric)))
    assert "out_queued" not in metrics and "out_sent" in metrics


def test_other_counters_in_the_table_are_left_alone(traffic):
    """Counters the roll-up does not own (say, per-node ones) survive it."""
    db.session.add(
        AnalyticsCounter(day=NOW.date(), metric="node_entered", automation_id=1, node_id="n1", value=7)
    )
    maintenance.aggregate_analytics()
    assert (
        db.session.scalar(db.select(AnalyticsCounter.value).where(AnalyticsCounter.metric == "node_entered"))
        == 7
    )


def test_runs_completion_and_dropoff(session):
    """Runs by outcome per automation, and the nodes where unfinished runs stopped."""
    automation = runs(
        session,
        [
            ("completed", "end"),
            ("completed", "end"),
            ("expired", "ask"),
            ("failed", "call"),
            ("waiting", "ask"),
        ],
    )
    maintenance.aggregate_analytics()
    rows = analytics.report(NOW.date(), NOW.date())["automations"]
    row = next(r for r in rows if r["id"] == automation.id)
    assert (row["started"], row["completed"], row["dropped"], row["active"]) == (5, 2, 2, 1)
    assert row["completion_rate"] == pytest.approx(0.4)
    assert dict(row["dropoff"]) == {"ask": 1, "call": 1}


def test_top_keywords_from_keyword_runs(session):
    """Keyword-triggered runs count the first word of the message, normalized."""
    runs(session, [("completed", "end")] * 3, trigger={"type": "keyword", "message": {"text": "MENU please"}})
    runs(session, [("completed", "end")], trigger={"type": "keyword", "message": {"text": "¡Hola!"}})
    runs(session, [("completed", "end")], trigger={"type": "new_contact", "message": {"text": "menu"}})
    maintenance.aggregate_analytics()
    assert analytics.report(NOW.date(), NOW.date())["keywords"] == [("menu", 3), ("hola", 1)]


def test_csv_rows_have_a_header_and_one_row_per_day(traffic):
    """The export is a header plus one line per day of the range."""
    maintenance.aggregate_analytics()
    first = NOW.date() - timedelta(days=2)
    rows = analytics.csv_rows(analytics.report(first, NOW.date()))
    assert rows[0][:3] == ["day", "messages_in", "messages_out"]
    assert len(rows) == 4 and rows[-1][:3] == [NOW.date().isoformat(), 3, 5]


def test_first_word():
    """The first word, case-folded, punctuation dropped."""
    assert maintenance.first_word("  ¡MENÚ! por favor") == "menú"
    assert maintenance.first_word("...") == ""


def test_days_before_the_rolled_up_range_keep_their_counters(traffic):
    """Old days are not recomputed (their messages may be gone from the window) and stay as they were."""
    old = datetime(2020, 1, 1, tzinfo=UTC).date()
    db.session.add(AnalyticsCounter(day=old, metric="messages_in", automation_id=0, node_id="", value=42))
    maintenance.aggregate_analytics()
    assert analytics.report(old, old)["totals"]["in"] == 42
