"""The webhook fast path: signed deliveries stored and answered below Flask, everything else by Flask."""

import functools

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import WebhookEvent
from flowapp.services import credentials
from tests import factories, live
from tests.helpers import customer_message, encode, post_webhook


@pytest.fixture
def live_app(make_app, live_database_url, redis):
    """Group commit on, on a database of its own (the writer commits outside any test rollback):
    a SQLite file, or a fresh PostgreSQL database when the suite runs on PostgreSQL. The stored
    credentials were read a moment ago, as in a process that has served requests."""
    app = make_app(DATABASE_URL=live_database_url, INTAKE_GROUP_COMMIT=True)
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        credentials.apply(app, force=True)
    return app


@pytest.fixture
def flask_view_calls(live_app):
    """Count the requests that reached Flask's webhook view (the fall-through path)."""
    calls = []
    view = live_app.view_functions["webhooks.receive"]

    @functools.wraps(view)  # keeps the view's public mark
    def counted(*args, **kwargs):
        calls.append(1)
        return view(*args, **kwargs)

    live_app.view_functions["webhooks.receive"] = counted
    return calls


def stored_bodies(app) -> list[bytes]:
    with app.app_context():
        return list(db.session.scalars(select(WebhookEvent.body).order_by(WebhookEvent.id)))


def test_signed_delivery_is_stored_without_flask(live_app, flask_view_calls, redis):
    """A signed body is committed byte for byte and answered 200 by the fast path, with the request id
    and security headers every response carries; the processor is started."""
    raw = encode(customer_message(text="olá 👋"))
    response = post_webhook(live_app.test_client(), None, body=raw)
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "received",
        "event_id": response.get_json()["event_id"],
        "duplicate": False,
        "pending": True,
    }
    assert flask_view_calls == []
    assert stored_bodies(live_app) == [raw]
    assert response.headers["X-Request-ID"] and response.headers["X-Content-Type-Options"] == "nosniff"
    # The writer starts the processor right after waking the request: wait for it.
    live.wait_for(lambda: redis.llen("rq:queue:webhooks") == 1, 5, "the processor job")


def test_redelivery_is_a_duplicate(live_app, flask_view_calls):
    """Meta redelivering the same bytes: 200, marked duplicate, stored once."""
    client = live_app.test_client()
    raw = encode(customer_message())
    first = post_webhook(client, None, body=raw).get_json()
    second = post_webhook(client, None, body=raw).get_json()
    assert first["duplicate"] is False and second == {
        "status": "received",
        "event_id": None,
        "duplicate": True,
        "pending": False,
    }
    assert stored_bodies(live_app) == [raw] and flask_view_calls == []


def test_signed_body_that_is_not_json_is_stored_as_failed(live_app):
    """Not JSON but signed: 200 (Meta must not retry it for a week), stored with its error."""
    response = post_webhook(live_app.test_client(), None, body=b"{not json")
    assert response.status_code == 200 and response.get_json()["pending"] is False
    with live_app.app_context():
        event = db.session.scalar(select(WebhookEvent))
        assert event.body == b"{not json" and event.error.startswith("body is not JSON")


def test_refusals_fall_through_to_flask(live_app, flask_view_calls):
    """Missing or wrong signatures and oversized bodies get Flask's answers; nothing is stored."""
    client = live_app.test_client()
    raw = encode(customer_message())
    missing = client.post("/webhooks/whatsapp", data=raw, content_type="application/json")
    wrong = post_webhook(client, None, secret="not-the-secret", body=raw)
    big = b'{"x": "' + b"a" * (3 * 1024 * 1024) + b'"}'
    too_big = post_webhook(client, None, body=big)
    assert missing.status_code == 401 and missing.get_json()["error"]["code"] == "signature_missing"
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "signature_invalid"
    assert too_big.status_code == 413 and "error" in too_big.get_json()
    assert flask_view_calls == [1, 1, 1]  # each one answered by Flask's view
    assert stored_bodies(live_app) == []


def test_credentials_refresh_goes_through_flask(live_app, flask_view_calls):
    """When the stored credentials are due to be re-read, the delivery takes Flask's path, whose hook
    reads them: an app secret changed in Settings applies to the fast path too."""
    live_app.extensions["flowapp_credentials"]["checked"] = float("-inf")
    raw = encode(customer_message())
    response = post_webhook(live_app.test_client(), None, body=raw)
    assert response.status_code == 200 and flask_view_calls == [1]
    assert not credentials.refresh_due(live_app)  # read again, so the next one is fast
    post_webhook(live_app.test_client(), None, body=encode(customer_message(text="again")))
    assert flask_view_calls == [1] and len(stored_bodies(live_app)) == 2


def test_storage_failure_answers_500_so_meta_retries(live_app):
    """The database refuses the insert: the fast path hands over to Flask, which tries once more and
    answers 500 in the error shape (Meta redelivers); no trace or SQL reaches the client."""
    with live_app.app_context(), db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE webhook_events")
    response = post_webhook(live_app.test_client(), None, body=encode(customer_message()))
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "internal_error" and "webhook_events" not in error["message"]


def test_other_routes_are_untouched(live_app):
    """GET on the webhook (Meta's verification) and other paths never enter the fast path."""
    client = live_app.test_client()
    verify = client.get(
        "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=42&hub.verify_token=test-verify-token"
    )
    assert verify.status_code == 200 and verify.get_data(as_text=True) == "42"
    assert client.get("/healthz").status_code in (200, 503)
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


def test_logged_in_injection_with_group_commit(live_app, redis):
    """`make run`'s setting (group commit on SQLite): a logged-in injection answers at once. The request
    already holds a transaction (loading the user), so its event is stored in that transaction rather
    than handed to the writer thread, which would wait on SQLite's write lock that very request holds."""
    with live_app.app_context():
        factories.make_user("agent@example.com", "correct horse battery")
        db.session.commit()
    client = live_app.test_client()
    factories.login(client, "agent@example.com", "correct horse battery")
    token = factories.csrf_token(client, "/settings/")
    response = client.post(
        "/webhooks/whatsapp/test",
        json={"from": "15551230009", "text": "typed in the simulator"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["pending"] is True
    assert b"typed in the simulator" in stored_bodies(live_app)[0]
    live.wait_for(lambda: redis.llen("rq:queue:webhooks") == 1, 5, "the processor job")
