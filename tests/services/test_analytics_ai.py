"""AI calls in analytics: per UTC day and per automation, failures and unpriced calls counted apart,
the range's edges respected, on SQLite and PostgreSQL; and the analytics page shows them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flowapp.extensions import db
from flowapp.models import AICall
from flowapp.services import analytics_ai, automations


def call(at, automation_id=None, status="ok", tokens=(10, 5), cost=1500, latency=200):
    db.session.add(
        AICall(
            automation_id=automation_id,
            node_id="triage",
            model="fake-model",
            tokens_in=tokens[0],
            tokens_out=tokens[1],
            cost_micros=cost,
            latency_ms=latency,
            status=status,
            created_at=at,
        )
    )


def test_calls_are_summed_per_day_and_per_automation(session):
    triage = automations.create("Triage")
    faq = automations.create("FAQ")
    db.session.flush()
    call(datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC), triage.id)
    call(datetime(2026, 12, 1, 23, 59, 59, tzinfo=UTC), triage.id, latency=400)
    call(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), faq.id, cost=None)  # a model with no price
    call(datetime(2026, 12, 2, 12, 5, tzinfo=UTC), faq.id, status="error", tokens=(0, 0), cost=None)
    call(datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC), triage.id)  # before the range
    call(datetime(2026, 12, 3, 0, 0, 0, tzinfo=UTC), triage.id)  # after it
    db.session.commit()

    result = analytics_ai.report(date(2026, 12, 1), date(2026, 12, 2))
    assert [(d["day"], d["calls"], d["failed"], d["tokens"], d["cost_micros"]) for d in result["daily"]] == [
        (date(2026, 12, 1), 2, 0, 30, 3000),
        (date(2026, 12, 2), 2, 1, 15, 0),
    ]
    assert result["daily"][0]["latency_ms"] == 300 and result["daily"][1]["unpriced"] == 1
    assert [(a["name"], a["calls"], a["tokens"]) for a in result["automations"]] == [
        ("Triage", 2, 30),
        ("FAQ", 2, 15),
    ]
    assert (result["totals"]["calls"], result["totals"]["failed"], result["totals"]["cost_micros"]) == (
        4,
        1,
        3000,
    )


def test_the_analytics_page_shows_ai_calls(logged_in):
    call(datetime.now(UTC))
    db.session.commit()
    html = logged_in.get("/analytics/").get_data(as_text=True)
    assert '<section class="panel" id="ai-calls">' in html and "1 calls (0 failed" in html
    assert "0.0015" in html  # 1,500 micro-units
