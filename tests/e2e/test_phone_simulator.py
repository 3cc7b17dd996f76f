"""The sandbox's customer side against the live stack (gunicorn with group commit, a real worker, the mock):
the phone simulator and the logged-in test injection each deliver a message that gets processed.

The phone's request waits while the mock posts our own signed webhook; on SQLite a request that kept
its transaction (and so the write lock) across that call deadlocked with the webhook it caused.
"""

import re

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Message
from tests import live

pytestmark = pytest.mark.e2e


def logged_in_session(stack):
    stack.create_admin()
    session = stack.session()
    page = session.get(f"{stack.url}/login", timeout=5).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = session.post(
        f"{stack.url}/login",
        data={"email": "admin@example.com", "password": "correct horse battery", "csrf_token": token},
        timeout=5,
    )
    assert response.url.endswith("/automations/"), response.url
    return session


def page_token(session, url: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', session.get(url, timeout=5).text).group(1)


def wait_for_inbound(stack, text: str) -> Message:
    def stored():
        with stack.app.app_context():
            return db.session.scalar(select(Message).where(Message.direction == "in", Message.text == text))

    return live.wait_for(stored, 30, f"the inbound message {text!r} to be processed")


def test_phone_simulator_delivers_through_the_signed_webhook(live_stack):
    session = logged_in_session(live_stack)
    phone = f"{live_stack.url}/sandbox/phone"
    token = page_token(session, phone)
    response = session.post(
        f"{phone}/send",
        data={"kind": "text", "text": "hi from the phone", "wa_id": "15557770042", "name": "Pia"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
        timeout=30,
    )
    assert response.status_code == 200
    assert "does not answer" not in response.text  # the mock's webhook was answered, not timed out
    message = wait_for_inbound(live_stack, "hi from the phone")
    with live_stack.app.app_context():
        assert db.session.get(Message, message.id).conversation.contact.wa_id == "15557770042"
    # The phone's thread (which it polls every second) now shows what the customer sent.
    thread = session.get(f"{phone}/thread", params={"wa_id": "15557770042", "name": "Pia"}, timeout=5)
    assert "hi from the phone" in thread.text


def test_logged_in_injection_is_stored_and_processed(live_stack):
    session = logged_in_session(live_stack)
    response = session.post(
        f"{live_stack.url}/webhooks/whatsapp/test",
        json={"from": "15557770043", "name": "Teo", "text": "injected by hand"},
        headers={"X-CSRFToken": page_token(session, f"{live_stack.url}/inbox/")},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    wait_for_inbound(live_stack, "injected by hand")
