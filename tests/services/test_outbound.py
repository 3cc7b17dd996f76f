"""Queueing outbound messages: limits, the 24-hour rule and templates are checked before queueing."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import MessageTemplate, OutboxEntry, utcnow
from flowapp.services.outbound import SendRefused, queue_message
from tests import factories


@pytest.fixture
def conversation(session):
    contact = factories.make_contact(wa_id="15551230001", last_inbound_at=utcnow() - timedelta(hours=1))
    return factories.make_conversation(contact)


@pytest.fixture
def templates(session):
    rows = [
        MessageTemplate(
            name="order_update",
            language="en_US",
            status="APPROVED",
            category="UTILITY",
            components=[{"type": "BODY", "text": "Order {{1}} is {{2}}."}],
            parameters={"body": 2},
        ),
        MessageTemplate(
            name="welcome_offer",
            language="en_US",
            status="PENDING",
            category="MARKETING",
            components=[],
            parameters={},
        ),
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def body_params(*values):
    return [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}]


def test_text_is_queued_with_its_request(conversation):
    """A text inside the window becomes a queued message and an outbox row."""
    message = queue_message(conversation, {"type": "text", "text": "Hello!"})
    assert message.status == "queued" and message.direction == "out" and message.text == "Hello!"
    request = message.payload["request"]
    assert request["to"] == "+15551230001" and request["text"]["body"] == "Hello!"
    assert db.session.get(OutboxEntry, message.id).conversation_id == conversation.id
    assert conversation.last_message_preview == "Hello!"


def test_free_form_outside_window_is_refused(conversation):
    """After 24 hours without a customer message, free-form text is refused with advice."""
    conversation.contact.last_inbound_at = utcnow() - timedelta(hours=24, minutes=1)
    with pytest.raises(SendRefused) as excinfo:
        queue_message(conversation, {"type": "text", "text": "Hello"})
    assert "template" in excinfo.value.reason
    assert db.session.scalar(select(OutboxEntry)) is None


def test_contact_who_never_wrote_needs_a_template(session):
    """A contact with no inbound message can only get a template."""
    contact = factories.make_contact(wa_id="15551239999")
    with pytest.raises(SendRefused, match="never written"):
        queue_message(contact, {"type": "text", "text": "Hi"})


def test_approved_template_outside_window(conversation, templates):
    """An approved template with the right parameters is queued outside the window, with a preview."""
    conversation.contact.last_inbound_at = None
    message = queue_message(
        conversation,
        {
            "type": "template",
            "name": "order_update",
            "language": "en_US",
            "components": body_params("A-17", "shipped"),
        },
    )
    assert message.text == "Order A-17 is shipped."
    assert message.payload["request"]["template"]["name"] == "order_update"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"name": "nope", "language": "en_US"}, "No template 'nope'"),
        ({"name": "order_update", "language": "pt_BR"}, "it exists in en_US"),
        ({"name": "welcome_offer", "language": "en_US"}, "pending, not approved"),
        ({"name": "order_update", "language": "en_US", "components": body_params("A-17")}, "body"),
    ],
)
def test_template_mismatch_is_refused(conversation, templates, content, message):
    """Unknown name or language, an unapproved template, or the wrong parameter count is refused."""
    with pytest.raises(SendRefused) as excinfo:
        queue_message(conversation, {"type": "template", **content})
    assert message in excinfo.value.reason


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ({"type": "text", "text": "x" * 4097}, "text.body"),
        ({"type": "text", "text": ""}, "text.body"),
        (
            {
                "type": "buttons",
                "body": "Pick",
                "buttons": [{"id": str(i), "title": f"B{i}"} for i in range(4)],
            },
            "buttons",
        ),
        (
            {"type": "buttons", "body": "Pick", "buttons": [{"id": "a", "title": "x" * 21}]},
            "buttons[0].title",
        ),
        (
            {
                "type": "list",
                "body": "Pick",
                "button": "Open",
                "sections": [{"title": "S", "rows": [{"id": str(i), "title": f"R{i}"} for i in range(11)]}],
            },
            "sections",
        ),
        ({"type": "hologram"}, "type"),
    ],
)
def test_limits_name_the_field(conversation, content, field):
    """WhatsApp's limits are checked before queueing, and the error names the field."""
    with pytest.raises(SendRefused) as excinfo:
        queue_message(conversation, content)
    assert excinfo.value.field.startswith(field)


def test_opted_out_contact_still_gets_replies_in_the_open_window(conversation):
    """An opt-out stops marketing, not service: a reply while the window is open goes, from anyone."""
    conversation.contact.opted_out = True
    for author in ("run", "system", "user"):
        message = queue_message(conversation, {"type": "text", "text": "Hi"}, author_type=author)
        assert message.status == "queued"


def test_opted_out_contact_gets_no_marketing_template(conversation, templates):
    """A MARKETING template to an opted-out contact is refused with a clear reason, whoever sends it;
    a UTILITY template goes."""
    templates[1].status = "APPROVED"
    conversation.contact.opted_out = True
    offer = {"type": "template", "name": "welcome_offer", "language": "en_US"}
    for author in ("user", "run", "api"):
        with pytest.raises(SendRefused, match="opted out of marketing") as excinfo:
            queue_message(conversation, offer, author_type=author)
        assert excinfo.value.field == "contact" and "MARKETING" in excinfo.value.reason
    update = {
        "type": "template",
        "name": "order_update",
        "language": "en_US",
        "components": body_params("7", "sent"),
    }
    assert queue_message(conversation, update, author_type="run").status == "queued"
    conversation.contact.opted_out = False
    assert queue_message(conversation, offer).status == "queued"


def test_commit_wakes_the_send_pipeline(conversation, redis):
    """Committing a queued message enqueues a drain job (and not before the commit)."""
    queue_message(conversation, {"type": "text", "text": "Hi"})
    assert redis.llen("rq:queue:sends") == 0
    db.session.commit()
    assert redis.llen("rq:queue:sends") == 1
