"""The send pipeline against the sandbox's mock Graph API: order, retries, backoff, pause, no duplicates."""

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update

from flowapp.extensions import db
from flowapp.models import Message, OutboxEntry, utcnow
from flowapp.services import delivery, graph, outbox
from flowapp.services.outbound import queue_message
from tests import factories


def fault(graph_mock, **rule):
    requests.post(f"{graph_mock.url}/_mock/faults", json=rule, timeout=5).raise_for_status()


def sent_to(graph_mock, wa_id=None) -> list[dict]:
    params = {"to": wa_id} if wa_id else {}
    return requests.get(f"{graph_mock.url}/_mock/messages", params=params, timeout=5).json()["messages"]


def contact_conversation(wa_id):
    contact = factories.make_contact(wa_id=wa_id, last_inbound_at=utcnow() - timedelta(minutes=5))
    return factories.make_conversation(contact)


def queue_texts(conversation, *texts) -> list[Message]:
    messages = [queue_message(conversation, {"type": "text", "text": t}) for t in texts]
    db.session.commit()
    return messages


def make_due():
    """Skip the backoff clock: every waiting entry is due now."""
    db.session.execute(update(OutboxEntry).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_messages_are_sent_and_marked(graph_mock, session, redis):
    """Queued messages reach the Graph API; each gets its wamid and status sent; the outbox empties."""
    alice, bob = contact_conversation("15551230001"), contact_conversation("15551230002")
    messages = queue_texts(alice, "a1", "a2") + queue_texts(bob, "b1")
    report = delivery.drain()
    assert report.sent == 3 and report.failed == 0
    for message in messages:
        db.session.refresh(message)
        assert message.status == "sent" and message.wamid.startswith("wamid.") and message.send_attempts == 1
    assert [m["body"]["text"]["body"] for m in sent_to(graph_mock, "15551230001")] == ["a1", "a2"]
    bob_body = sent_to(graph_mock, "15551230002")[0]["body"]
    assert bob_body["biz_opaque_callback_data"] == f"flowapp:{messages[2].id}"
    assert db.session.scalar(select(OutboxEntry)) is None


def test_retry_keeps_one_contacts_order(graph_mock, session, redis):
    """A retried message holds back that contact's later ones; other contacts are not held up."""
    alice, bob = contact_conversation("15551230001"), contact_conversation("15551230002")
    first, second = queue_texts(alice, "first", "second")
    queue_texts(bob, "bob")
    fault(graph_mock, code=131000, to="15551230001", count=1)
    report = delivery.drain()
    assert report.retried == 1 and report.sent == 1
    assert [m["to"] for m in sent_to(graph_mock)] == ["15551230002"]
    db.session.refresh(first)
    assert first.status == "queued" and first.send_attempts == 1
    make_due()
    delivery.drain()
    assert [m["body"]["text"]["body"] for m in sent_to(graph_mock, "15551230001")] == ["first", "second"]


def test_retry_after_is_honoured(graph_mock, session, redis):
    """A Retry-After from Meta pushes the next attempt at least that far."""
    (message,) = queue_texts(contact_conversation("15551230001"), "hi")
    fault(graph_mock, code=4, http_status=429, retry_after=120, count=1)
    delivery.drain()
    entry = db.session.get(OutboxEntry, message.id)
    assert entry.next_attempt_at >= utcnow() + timedelta(seconds=115)


def test_pair_rate_limit_backs_off_that_recipient_only(graph_mock, session, redis):
    """131056 delays only that recipient, by 4**n seconds, and counts the backoffs."""
    alice, bob = contact_conversation("15551230001"), contact_conversation("15551230002")
    (message,) = queue_texts(alice, "a")
    queue_texts(bob, "b")
    fault(graph_mock, code=131056, to="15551230001", count=2)
    delivery.drain()
    entry = db.session.get(OutboxEntry, message.id)
    assert entry.pair_backoffs == 1 and entry.next_attempt_at > utcnow()
    assert [m["to"] for m in sent_to(graph_mock)] == ["15551230002"]
    make_due()
    delivery.drain()
    db.session.refresh(entry)
    assert entry.pair_backoffs == 2 and entry.next_attempt_at - utcnow() >= timedelta(seconds=3)
    make_due()
    delivery.drain()
    assert db.session.get(Message, message.id).status == "sent"


@pytest.mark.parametrize("code", [131047, 131026, 131051, 132000, 132001, 100, 368, 131031])
def test_permanent_errors_fail_with_a_reason(graph_mock, session, redis, code):
    """Codes that cannot succeed fail the message at once, with Meta's code and a readable reason."""
    message, after = queue_texts(contact_conversation("15551230001"), "doomed", "next")
    fault(graph_mock, code=code, count=1)
    delivery.drain()
    db.session.refresh(message)
    assert message.status == "failed" and message.error_code == code and message.error_details
    assert message.send_attempts == 1
    assert db.session.get(Message, after.id).status == "sent"  # the line moves on


def test_last_retry_fails_the_message(graph_mock, session, redis):
    """After the last attempt a retryable error fails the message with its error."""
    (message,) = queue_texts(contact_conversation("15551230001"), "x")
    fault(graph_mock, code=131016, http_status=500, count=delivery.MAX_ATTEMPTS)
    for _ in range(delivery.MAX_ATTEMPTS):
        delivery.drain()
        make_due()
    db.session.refresh(message)
    assert message.status == "failed" and message.error_code == 131016
    assert message.send_attempts == delivery.MAX_ATTEMPTS


def test_network_error_is_retried(app, graph_mock, session, redis):
    """Meta unreachable: the message stays queued for a retry."""
    app.config["GRAPH_API_URL"] = "http://127.0.0.1:9"
    app.extensions.pop("flowapp_graph", None)
    (message,) = queue_texts(contact_conversation("15551230001"), "x")
    report = delivery.drain()
    assert report.retried == 1
    assert db.session.get(OutboxEntry, message.id).next_attempt_at is not None


def test_expired_token_pauses_everything_and_loses_nothing(graph_mock, session, redis):
    """190 pauses sending (an alert), the message stays queued untouched, and resumes when the token works."""
    (message,) = queue_texts(contact_conversation("15551230001"), "x")
    fault(graph_mock, code=190, count=2)  # one for the send, one for the first probe
    report = delivery.drain()
    assert report.paused and graph.paused()["code"] == 190
    db.session.refresh(message)
    assert message.status == "queued" and message.send_attempts == 0
    assert delivery.drain().sent == 0  # paused: nothing goes out
    assert graph.probe() is False  # the token is still refused
    assert graph.probe() is True
    db.session.commit()
    assert delivery.drain().sent == 1


def test_already_sent_message_is_never_sent_again(graph_mock, session, redis):
    """A lease that expired after Meta accepted the send (the marker is there) is not re-sent."""
    (message,) = queue_texts(contact_conversation("15551230001"), "once")
    redis.set(delivery.MARKER_KEY.format(message.id), "wamid.FROMEARLIER")
    report = delivery.drain()
    assert report.sent == 0 and sent_to(graph_mock) == []
    db.session.refresh(message)
    assert message.wamid == "wamid.FROMEARLIER" and message.status == "sent"


def test_window_closed_before_sending(graph_mock, session, redis):
    """If the 24-hour window closed while the message waited, it fails without calling Meta."""
    conversation = contact_conversation("15551230001")
    (message,) = queue_texts(conversation, "late")
    conversation.contact.last_inbound_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    delivery.drain()
    db.session.refresh(message)
    assert message.status == "failed" and message.error_code == 131047
    assert sent_to(graph_mock) == []


def test_leased_rows_are_not_claimed_twice(graph_mock, session, redis):
    """Two drainers never claim the same head."""
    queue_texts(contact_conversation("15551230001"), "a")
    queue_texts(contact_conversation("15551230002"), "b")
    first = outbox.claim("owner-1", 10)
    second = outbox.claim("owner-2", 10)
    assert len(first) == 2 and second == []
