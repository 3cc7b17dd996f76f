"""GET /metrics: Prometheus text for admins or a METRICS_TOKEN bearer, with the documented metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from flowapp.extensions import db
from flowapp.models import Message, utcnow
from flowapp.services import graph
from flowapp.whatsapp.errors import GraphError
from tests import factories
from tests.helpers import customer_message, post_webhook


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} of a metrics page."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_anonymous_and_agents_are_refused(client, user):
    """No session and no token: 401; an agent: 403."""
    assert client.get("/metrics").status_code == 401
    factories.login(client, user.email, "correct horse battery")
    assert client.get("/metrics").status_code == 403


def test_metrics_token(client, app, monkeypatch):
    """With METRICS_TOKEN set, a Prometheus scraper reads the metrics with that bearer token only."""
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-me-0123456789")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    monkeypatch.setitem(app.config, "METRICS_TOKEN", None)
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me-0123456789"}).status_code == 401


def test_metrics_count_what_happened(logged_in, session):
    """Webhooks received, messages sent and failed by code, queue depths, runs, outbox, paused."""
    post_webhook(logged_in, customer_message())
    conversation = factories.make_conversation(factories.make_contact(wa_id="15557770000"))
    for status, code, sent_at in (
        ("delivered", None, utcnow()),
        ("failed", 131047, None),
        ("failed", 131047, utcnow()),
    ):
        db.session.add(
            Message(
                conversation=conversation, direction="out", status=status, error_code=code, sent_at=sent_at
            )
        )
    db.session.flush()
    graph.pause(GraphError(190, "token expired"))
    values = samples(logged_in.get("/metrics").get_data(as_text=True))
    assert values[("flowapp_webhooks_received_total", frozenset())] >= 1
    assert values[("flowapp_messages_sent_total", frozenset())] == 2  # delivered + failed after leaving
    assert values[("flowapp_messages_failed_total", frozenset({("code", "131047")}))] == 2
    assert values[("flowapp_sending_paused", frozenset())] == 1
    assert values[("flowapp_redis_up", frozenset())] == 1
    assert ("flowapp_queue_depth", frozenset({("queue", "sends")})) in values
    assert values[("flowapp_runs", frozenset({("status", "waiting")}))] == 0
    assert ("flowapp_outbox_size", frozenset()) in values


def test_redis_down_is_a_metric_not_an_error(logged_in, app, monkeypatch):
    """With Redis down the page still answers, saying so."""
    from redis import Redis

    monkeypatch.setitem(app.extensions, "flowapp_redis", Redis.from_url("redis://127.0.0.1:1/0"))
    response = logged_in.get("/metrics")
    assert response.status_code == 200
    assert samples(response.get_data(as_text=True))[("flowapp_redis_up", frozenset())] == 0
