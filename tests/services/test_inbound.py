"""Processing stored webhook events: every sample type, idempotence, contacts and conversations."""

import json

import pytest
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Contact, Conversation, Message, WebhookEvent
from tests.helpers import SAMPLES, customer_message, deliver, sample

MESSAGE_SAMPLES = sorted(p.stem for p in SAMPLES.glob("*.json") if not p.stem.startswith("status_"))


def process(payload=None, body: bytes | None = None) -> int:
    event_id = deliver(payload, body=body)[0]
    assert event_id is not None
    return event_id


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("name", MESSAGE_SAMPLES)
def test_every_sample_is_stored(session, name):
    """Each real message body becomes a stored message (edits and revokes amend their target)."""
    payload = sample(name)
    event_id = process(payload)
    event = db.session.get(WebhookEvent, event_id)
    assert event.processed_at is not None
    raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message = db.session.scalar(select(Message).where(Message.wamid == raw["id"]))
    assert message is not None, event.error
    assert message.direction == "in" and message.status == "received"
    assert message.payload["message"] == raw
    contact = message.conversation.contact
    assert contact.wa_id == raw["from"] or not raw["from"].isdigit()  # a placeholder: the contact's wa_id
    assert contact.wa_id.isdigit() and contact.last_inbound_at is not None


def test_text_message_updates_contact_and_conversation(session):
    """A text sets the profile name, opens the window, and bumps the conversation."""
    process(sample("text"))
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == "16505551234"))
    assert contact.profile_name == "Sheena Nelson"
    assert contact.first_inbound_at == contact.last_inbound_at
    conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    assert conversation.unread_count == 1
    assert conversation.last_message_preview == "Does it come in another color?"
    assert conversation.status == "open"


def test_same_message_twice_is_stored_once(session):
    """The same wamid in two different deliveries is stored and counted once."""
    payload = customer_message(text="once", wamid="wamid.SAME1")
    process(payload)
    again = customer_message(text="once", wamid="wamid.SAME1", name="Other name")
    process(again)
    assert count(Message) == 1
    assert db.session.scalar(select(Conversation.unread_count)) == 1


def test_reprocessing_an_event_does_nothing(session):
    """Processing an already processed event changes nothing: it cannot be claimed twice."""
    from flowapp.pipeline import contacts

    event_id = process(customer_message())
    event = db.session.get(WebhookEvent, event_id)
    waiting = contacts.Waiting(event.id, event.body, 0, None, None)
    assert contacts.handle(waiting, "15551230001") == (False, None)
    assert count(Message) == 1
    assert db.session.scalar(select(Conversation.unread_count)) == 1


def test_batch_with_several_entries_and_messages(session):
    """Every entry, change and message of one delivery is processed."""
    first = customer_message(sender="15551230001", text="one")
    second = customer_message(sender="15551230002", text="two")
    third = customer_message(sender="15551230001", text="three")
    first["entry"][0]["changes"][0]["value"]["messages"].append(
        third["entry"][0]["changes"][0]["value"]["messages"][0]
    )
    first["entry"].append(second["entry"][0])
    ids = deliver(first)
    assert len(ids) == 2  # one event per sender: each contact's messages keep their own order
    assert all(db.session.get(WebhookEvent, i).processed_at for i in ids)
    assert count(Contact) == 2
    assert sorted(db.session.scalars(select(Message.text))) == ["one", "three", "two"]


def test_unknown_type_is_stored_as_is(session):
    """A message type nobody knows yet is stored (shown as unsupported), never a crash."""
    payload = customer_message(text="x")
    raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    raw.pop("text")
    raw["type"] = "hologram"
    raw["hologram"] = {"shape": "cube"}
    process(payload)
    message = db.session.scalar(select(Message))
    assert message.type == "hologram" and message.payload["message"]["hologram"] == {"shape": "cube"}


def test_other_fields_and_value_errors_are_noted(session):
    """Changes of other fields are ignored with a note; value-level errors are recorded on the event."""
    payload = sample("errors_value_level")
    payload["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "VERIFIED"}})
    ids = deliver(payload)
    contact_event, bulk_event = (db.session.get(WebhookEvent, i) for i in ids)
    assert "error 131000: Something went wrong" in contact_event.error
    assert "account_update" in bulk_event.error
    assert contact_event.processed_at and bulk_event.processed_at


def test_json_that_is_not_a_webhook_is_marked_failed(session):
    """Signed JSON without Meta's envelope is stored, marked malformed, and not retried."""
    event_id = process(body=json.dumps(["not", "a", "webhook"]).encode())
    event = db.session.get(WebhookEvent, event_id)
    assert event.processed_at is not None and "not a WhatsApp webhook" in event.error


def test_edit_replaces_text_and_revoke_marks_deleted(session):
    """An edit updates its target's text (keeping the original); a revoke marks it deleted."""
    process(customer_message(text="first version", wamid="wamid.ORIG"))
    edit = sample("edit")
    raw = edit["entry"][0]["changes"][0]["value"]["messages"][0]
    raw["edit"]["original_message_id"] = "wamid.ORIG"
    raw["from"] = "15551230001"
    process(edit)
    target = db.session.scalar(select(Message).where(Message.wamid == "wamid.ORIG"))
    assert target.text == "Updated image caption"
    assert target.payload["original_text"] == "first version"
    assert target.edited_at is not None
    revoke = sample("revoke")
    revoke["entry"][0]["changes"][0]["value"]["messages"][0]["revoke"]["original_message_id"] = "wamid.ORIG"
    revoke["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = "15551230001"
    process(revoke)
    assert db.session.scalar(select(Message).where(Message.wamid == "wamid.ORIG")).revoked_at is not None


def test_closed_conversation_reopens(session):
    """A customer writing to a closed conversation reopens it."""
    process(customer_message(text="a"))
    conversation = db.session.scalar(select(Conversation))
    conversation.status = "closed"
    db.session.flush()
    process(customer_message(text="b"))
    assert conversation.status == "open" and conversation.unread_count == 2
