"""The messages API: sending (limits and the 24-hour rule enforced), listing, filters, marking read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue

from flowapp.models import Conversation, ConversationRead, Message, OutboxEntry, utcnow
from tests import factories
from tests.web.test_api import api  # noqa: F401  (fixture)


@pytest.fixture
def talking(session):
    """A contact who wrote five minutes ago (the 24-hour window is open) and their conversation."""
    contact = factories.make_contact(wa_id="15551230001", last_inbound_at=utcnow() - timedelta(minutes=5))
    conversation = factories.make_conversation(contact)
    return contact, conversation


def inbound(conversation, text="hi", wamid="wamid.IN1", **fields) -> Message:
    from flowapp.extensions import db

    message = Message(
        conversation=conversation,
        direction="in",
        type="text",
        text=text,
        status="received",
        wamid=wamid,
        **fields,
    )
    db.session.add(message)
    db.session.flush()
    conversation.last_inbound_message_id = message.id
    conversation.unread_count = (conversation.unread_count or 0) + 1
    db.session.flush()
    return message


def test_send_text_queues_the_message(api, talking):  # noqa: F811
    """A text inside the window is queued: 202, the message, an outbox row, author "api"."""
    response = api.post(
        "/api/messages/send", json={"to": "+1 555-123-0001", "message": {"type": "text", "text": "Hi"}}
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued" and body["direction"] == "out" and body["author_type"] == "api"
    assert response.headers["Location"].endswith(f"/api/messages/{body['id']}")
    from flowapp.extensions import db

    assert db.session.get(OutboxEntry, body["id"]) is not None
    assert api.get(response.headers["Location"]).get_json()["text"] == "Hi"


def test_send_outside_the_window_is_refused(api, session):  # noqa: F811
    """Free-form text to a number that never wrote is refused with 422 and the reason."""
    response = api.post(
        "/api/messages/send", json={"to": "15559990000", "message": {"type": "text", "text": "Hi"}}
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "send_refused" and "template" in error["message"]


def test_send_checks_whatsapps_limits(api, talking):  # noqa: F811
    """Four buttons (WhatsApp allows three) are refused naming the field."""
    buttons = [{"id": f"b{i}", "title": f"B{i}"} for i in range(4)]
    response = api.post(
        "/api/messages/send",
        json={
            "contact_id": talking[0].id,
            "message": {"type": "buttons", "body": "Pick", "buttons": buttons},
        },
    )
    assert response.status_code == 422
    assert "buttons" in response.get_json()["error"]["field"]


def test_send_unknown_template_is_refused(api, session):  # noqa: F811
    """A template that is not approved in the business account is refused before anything is queued."""
    response = api.post(
        "/api/messages/send",
        json={"to": "15559990000", "message": {"type": "template", "name": "nope", "language": "en_US"}},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "template.name"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"to": "12", "message": {"type": "text", "text": "x"}}, 422),
        ({"message": {"type": "text", "text": "x"}}, 400),
        ({"to": "15551230001"}, 400),
        ({"contact_id": 999999, "message": {"type": "text", "text": "x"}}, 404),
        ({"contact_id": "1", "message": {"type": "text", "text": "x"}}, 400),
    ],
)
def test_send_refuses_bad_requests(api, body, status):  # noqa: F811
    """A bad number, no recipient, no message or an unknown contact each get their status."""
    response = api.post("/api/messages/send", json=body)
    assert response.status_code == status
    assert "error" in response.get_json()


def test_send_needs_json(api):  # noqa: F811
    """A body that is not a JSON object is 400 invalid_json."""
    response = api.post("/api/messages/send", data="to=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


def test_list_messages_filters(api, talking):  # noqa: F811
    """Filters by direction, status, conversation, number and time narrow the list."""
    contact, conversation = talking
    first = inbound(conversation, wamid="wamid.A")
    api.post("/api/messages/send", json={"contact_id": contact.id, "message": {"type": "text", "text": "Re"}})
    other = factories.make_conversation(factories.make_contact(wa_id="15557778888"))
    inbound(other, wamid="wamid.B")

    def ids(query):
        response = api.get("/api/messages?" + query)
        assert response.status_code == 200, response.get_json()
        return [m["id"] for m in response.get_json()["data"]]

    assert len(ids("")) == 3
    assert ids("direction=in&wa_id=%2B1%20555%20123%200001") == [first.id]
    assert len(ids(f"conversation_id={conversation.id}")) == 2
    assert len(ids("status=queued")) == 1
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert ids("since=" + future.replace("+", "%2B")) == []
    assert len(ids("until=" + future.replace("+", "%2B"))) == 3


def test_conversations_and_their_messages(api, talking):  # noqa: F811
    """Conversations list with their contact; a conversation's messages are its own only."""
    contact, conversation = talking
    inbound(conversation)
    body = api.get("/api/conversations").get_json()
    assert body["data"][0]["contact"]["wa_id"] == contact.wa_id
    messages = api.get(f"/api/conversations/{conversation.id}/messages").get_json()["data"]
    assert [m["conversation_id"] for m in messages] == [conversation.id]
    assert api.get("/api/conversations/999999/messages").status_code == 404
    assert api.get("/api/conversations?status=closed").get_json()["data"] == []


def test_mark_read_clears_unread_and_enqueues_a_receipt(api, talking, redis):  # noqa: F811
    """PUT status read: the conversation is read up to it and a read receipt job is queued."""
    _, conversation = talking
    message = inbound(conversation, wamid="wamid.READ")
    response = api.put(f"/api/messages/{message.id}/status", json={"status": "read"})
    assert response.status_code == 200, response.get_json()
    from flowapp.extensions import db

    assert db.session.get(Conversation, conversation.id).unread_count == 0
    assert db.session.scalar(db.select(ConversationRead.last_read_message_id)) == message.id
    job = Queue("default", connection=redis).fetch_job(f"read-receipt-{message.id}")
    assert job is not None and job.args == (message.id,)


@pytest.mark.parametrize("status", [{"status": "delivered"}, {}, {"status": ["read"]}])
def test_mark_read_refuses_other_statuses(api, talking, status):  # noqa: F811
    """Only "read" can be set: anything else is a 400 naming the field, as the document says."""
    message = inbound(talking[1])
    response = api.put(f"/api/messages/{message.id}/status", json=status)
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid_request" and error["field"] == "status"


def test_mark_read_refuses_outbound(api, talking):  # noqa: F811
    """An outbound message cannot be marked read by a client (Meta reports that)."""
    sent = api.post(
        "/api/messages/send", json={"contact_id": talking[0].id, "message": {"type": "text", "text": "x"}}
    )
    response = api.put(f"/api/messages/{sent.get_json()['id']}/status", json={"status": "read"})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "not_inbound"
