"""Settings > Inbound events: parked events listed with their error; retry and dismiss for admins."""

from __future__ import annotations

from flowapp.extensions import db
from flowapp.models import WebhookEvent, utcnow
from flowapp.pipeline import intake
from tests import factories
from tests.helpers import customer_message, encode


def parked_event(text="<b>boom</b>") -> WebhookEvent:
    rows = intake.rows_for(encode(customer_message(text=text)), "meta")
    event = db.session.get(WebhookEvent, intake.receive(rows)[0])
    event.attempts = 5
    event.parked_at = utcnow()
    event.error = "RuntimeError: <script>alert(1)</script>"
    db.session.commit()
    return event


def csrf(client):
    return {"csrf_token": factories.csrf_token(client, "/settings/events")}


def test_parked_events_are_listed_with_their_error_escaped(logged_in):
    """The admin sees each parked event, its error and its body, all escaped."""
    event = parked_event()
    html = logged_in.get("/settings/events").get_data(as_text=True)
    assert f'id="event-{event.id}"' in html
    assert "RuntimeError: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "&lt;b&gt;boom&lt;/b&gt;" in html
    assert '<dd id="events-parked">1</dd>' in html


def test_retry_gives_the_event_fresh_attempts_and_announces_it(logged_in, redis):
    """Retry: no longer parked, attempts reset, and its contact is ready for a worker."""
    event = parked_event()
    response = logged_in.post(f"/settings/events/{event.id}/retry", data=csrf(logged_in))
    assert response.status_code == 302
    db.session.refresh(event)
    assert event.parked_at is None and event.attempts == 0 and event.processed_at is None
    assert redis.zscore("flowapp:inbound:ready:106540352242922", "15551230001") is not None


def test_dismiss_keeps_the_event_and_lets_the_contact_go_on(logged_in, admin):
    """Dismiss: processed, error and body kept, who dismissed it recorded."""
    event = parked_event()
    logged_in.post(f"/settings/events/{event.id}/dismiss", data=csrf(logged_in))
    db.session.refresh(event)
    assert event.processed_at is not None
    assert event.error.startswith(f"dismissed by {admin.email}")
    assert event.body


def test_agents_may_not_see_or_act(client, session):
    """An agent gets 403 on the page and on the actions."""
    event = parked_event()
    agent = factories.make_user(email="agent@example.com", password="correct horse battery", role="agent")
    factories.login(client, agent.email, "correct horse battery")
    assert client.get("/settings/events").status_code == 403
    assert client.post(f"/settings/events/{event.id}/dismiss", data=csrf(client)).status_code == 403
    db.session.refresh(event)
    assert event.processed_at is None


def test_actions_need_the_csrf_token(logged_in):
    """An admin's POST without the CSRF token is refused and changes nothing."""
    event = parked_event()
    assert logged_in.post(f"/settings/events/{event.id}/dismiss").status_code == 400
    assert logged_in.post(f"/settings/events/{event.id}/retry").status_code == 400
    db.session.refresh(event)
    assert event.processed_at is None and event.parked_at is not None


def test_unknown_or_unparked_events_are_404(logged_in):
    """Only a parked, unprocessed event can be retried or dismissed."""
    assert logged_in.post("/settings/events/999999/retry", data=csrf(logged_in)).status_code == 404


def test_metrics_count_parked_events(logged_in):
    """/metrics has a gauge of parked events."""
    parked_event()
    text = logged_in.get("/metrics").get_data(as_text=True)
    assert "flowapp_webhook_events_parked 1.0" in text
