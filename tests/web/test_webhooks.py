"""GET and POST /webhooks/whatsapp, and the logged-in test injection."""

import json

from sqlalchemy import func, select

from flowapp import extensions
from flowapp.extensions import db
from flowapp.models import WebhookEvent
from flowapp.whatsapp.signature import sign
from tests import factories
from tests.helpers import customer_message, encode, post_webhook

SECRET = "test-app-secret-abcdef"


def count_events() -> int:
    return db.session.scalar(select(func.count()).select_from(WebhookEvent))


def test_verification_echoes_challenge(client):
    """The right verify token gets the challenge back as text/plain 200."""
    response = client.get(
        "/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=test-verify-token"
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "1158201444"
    assert response.mimetype == "text/plain"


def test_verification_refuses_wrong_token_or_mode(client):
    """A wrong token or mode answers 403."""
    assert (
        client.get("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=x").status_code
        == 403
    )
    assert (
        client.get(
            "/webhooks/whatsapp?hub.mode=other&hub.challenge=1&hub.verify_token=test-verify-token"
        ).status_code
        == 403
    )
    assert client.get("/webhooks/whatsapp").status_code == 403


def test_signed_body_is_stored_and_acknowledged(client, redis):
    """A correctly signed body is committed byte for byte, answered 200 and queued for processing."""
    raw = encode(customer_message())
    response = post_webhook(client, None, body=raw)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "received" and body["pending"] is True
    assert db.session.get(WebhookEvent, body["event_id"]).body == raw
    assert redis.llen("rq:queue:webhooks") == 1


def test_missing_signature_is_401_and_stores_nothing(client):
    """No X-Hub-Signature-256: 401, nothing stored."""
    response = client.post(
        "/webhooks/whatsapp", data=encode(customer_message()), content_type="application/json"
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "signature_missing"
    assert count_events() == 0


def test_wrong_signature_is_403_and_stores_nothing(client):
    """A signature made with another secret, or a tampered byte: 403, nothing stored."""
    raw = encode(customer_message())
    assert post_webhook(client, None, secret="another-secret", body=raw).status_code == 403
    tampered = raw.replace(b'"hi"', b'"hI"')
    response = client.post(
        "/webhooks/whatsapp",
        data=tampered,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(raw, SECRET)},
    )
    assert response.status_code == 403
    assert count_events() == 0


def test_unicode_body_signed_as_meta_signs_it(client):
    """Meta signs the escaped-unicode bytes it sends; those exact bytes verify."""
    raw = encode(customer_message(text="Olá, çà va? 你好 👋"))
    assert b"\\u00e1" in raw and b"\\ud83d" in raw
    assert post_webhook(client, None, body=raw).status_code == 200
    utf8 = json.dumps(customer_message(text="Olá"), ensure_ascii=False).encode()
    wrong = client.post(
        "/webhooks/whatsapp",
        data=utf8,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(encode(json.loads(utf8)), SECRET)},
    )
    assert wrong.status_code == 403


def test_oversized_body_is_413(client):
    """A body over 3 MB is refused with 413 before anything is stored."""
    raw = b"{" + b" " * (3 * 1024 * 1024 + 10) + b"}"
    response = client.post(
        "/webhooks/whatsapp",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(raw, SECRET)},
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"]
    assert count_events() == 0


def test_signed_garbage_is_stored_as_failed_and_answered_200(client, redis):
    """A correctly signed body that is not JSON is kept as a failed event and acknowledged."""
    response = post_webhook(client, None, body=b"this is not json")
    assert response.status_code == 200
    event = db.session.get(WebhookEvent, response.get_json()["event_id"])
    assert event.processed_at is not None and "not JSON" in event.error
    assert response.get_json()["pending"] is False
    assert redis.llen("rq:queue:webhooks") == 0


def test_redelivered_body_is_stored_once(client):
    """Meta redelivering the same bytes stores one event and answers 200 both times."""
    raw = encode(customer_message())
    first = post_webhook(client, None, body=raw)
    second = post_webhook(client, None, body=raw)
    assert first.status_code == second.status_code == 200
    assert second.get_json()["duplicate"] is True
    assert count_events() == 1


def test_redis_down_still_answers_200(app, client, monkeypatch):
    """With Redis unreachable the event is stored, Meta gets 200, and the sweep will enqueue it."""
    from redis import Redis

    monkeypatch.setitem(
        app.extensions, "flowapp_redis", Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    )
    monkeypatch.setattr(extensions, "_redis_down_until", 0.0)
    response = post_webhook(client, customer_message())
    assert response.status_code == 200
    assert response.get_json()["pending"] is True
    event = db.session.get(WebhookEvent, response.get_json()["event_id"])
    assert event.processed_at is None
    assert extensions._redis_down_until > 0  # it tried, and backs off instead of slowing every webhook


def test_injection_needs_login(client):
    """POST /webhooks/whatsapp/test is refused without a session."""
    response = client.post("/webhooks/whatsapp/test", json={"from": "15551230001", "text": "hi"})
    assert response.status_code == 401
    assert count_events() == 0


def test_injection_needs_csrf(logged_in):
    """A logged-in injection without the CSRF token is refused."""
    response = logged_in.post("/webhooks/whatsapp/test", json={"from": "15551230001", "text": "hi"})
    assert response.status_code == 400
    assert count_events() == 0


def test_logged_in_injection_goes_through_the_same_path(logged_in, redis):
    """A logged-in user's simulated message is stored as an event and queued like Meta's."""
    token = factories.csrf_token(logged_in, "/settings/")
    response = logged_in.post(
        "/webhooks/whatsapp/test",
        json={"from": "+1 555 123 0001", "text": "hi there"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 202
    event = db.session.get(WebhookEvent, response.get_json()["event_id"])
    assert event.source == "test"
    message = json.loads(event.body)["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["from"] == "15551230001" and message["text"]["body"] == "hi there"
    assert redis.llen("rq:queue:webhooks") == 1
    bad = logged_in.post(
        "/webhooks/whatsapp/test", json={"from": "12", "text": "x"}, headers={"X-CSRFToken": token}
    )
    assert bad.status_code == 422
