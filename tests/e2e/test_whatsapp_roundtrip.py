"""End to end: Meta's webhook in, a reply out through a real worker, statuses back to `read`."""

import pytest
import requests
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Contact, Message, WebhookEvent
from flowapp.services.inbound import upsert_conversation
from flowapp.services.outbound import queue_message
from flowapp.whatsapp.signature import sign
from tests import live
from tests.helpers import customer_message, encode

pytestmark = pytest.mark.e2e
SECRET = "test-app-secret-abcdef"


def test_inbound_reply_and_statuses(live_stack):
    """A signed inbound webhook is stored and processed; the reply is sent once and reaches `read`."""
    raw = encode(customer_message(sender="15557770001", text="Hola!", name="Lucía"))
    response = requests.post(
        f"{live_stack.url}/webhooks/whatsapp",
        data=raw,
        timeout=5,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, SECRET)},
    )
    assert response.status_code == 200

    app = live_stack.app

    def inbound_stored():
        with app.app_context():
            return db.session.scalar(
                select(Message).where(Message.direction == "in", Message.text == "Hola!")
            )

    live.wait_for(inbound_stored, 30, "the worker to process the inbound webhook")
    with app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.wa_id == "15557770001"))
        assert contact.profile_name == "Lucía" and contact.last_inbound_at is not None
        reply = queue_message(upsert_conversation(contact), {"type": "text", "text": "¡Hola Lucía!"})
        db.session.commit()  # wakes the send pipeline
        reply_id = reply.id

    def reply_status():
        with app.app_context():
            return db.session.get(Message, reply_id).status

    live.wait_for(lambda: reply_status() == "read", 30, "the reply to be sent, delivered and read")
    with app.app_context():
        message = db.session.get(Message, reply_id)
        assert message.wamid and message.sent_at and message.delivered_at and message.read_at
        assert (
            db.session.scalar(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.processed_at.is_(None))
            )
            == 0
        )
    sent = requests.get(
        f"{live_stack.mock.url}/_mock/messages", params={"to": "15557770001"}, timeout=5
    ).json()
    assert [m["body"]["text"]["body"] for m in sent["messages"]] == ["¡Hola Lucía!"]  # exactly once
