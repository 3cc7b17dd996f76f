"""Delivery statuses: deduplicated, forward-only, and kept until their message appears."""

from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Message, StatusEvent, utcnow
from flowapp.services import delivery
from tests import factories
from tests.helpers import deliver, sample, status_payload


def outbound(conversation, wamid="wamid.OUT1", status="sent") -> Message:
    message = Message(
        conversation=conversation,
        direction="out",
        type="text",
        text="hello",
        status=status,
        wamid=wamid,
        author_type="user",
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def test_statuses_move_forward(session):
    """sent -> delivered -> read, each time recorded."""
    message = outbound(factories.make_conversation())
    deliver(status_payload("wamid.OUT1", "delivered", timestamp=1750000010))
    assert message.status == "delivered" and message.delivered_at is not None
    deliver(status_payload("wamid.OUT1", "read", timestamp=1750000020))
    assert message.status == "read" and message.read_at.timestamp() == 1750000020


def test_late_delivered_never_downgrades_read(session):
    """A delivered that arrives after read leaves the message read (and fills delivered_at)."""
    message = outbound(factories.make_conversation())
    deliver(status_payload("wamid.OUT1", "read", timestamp=1750000020))
    deliver(status_payload("wamid.OUT1", "delivered", timestamp=1750000010))
    assert message.status == "read"
    assert message.delivered_at is not None


def test_read_without_delivered_implies_delivered(session):
    """Meta skips `delivered` when a message is read at once; delivered_at is filled from read."""
    message = outbound(factories.make_conversation())
    deliver(status_payload("wamid.OUT1", "read", timestamp=1750000020))
    assert message.delivered_at == message.read_at


def test_duplicate_status_is_stored_once(session):
    """The same (wamid, status) twice, even in different bodies, is one row."""
    outbound(factories.make_conversation())
    deliver(status_payload("wamid.OUT1", "delivered", timestamp=1750000010))
    deliver(status_payload("wamid.OUT1", "delivered", timestamp=1750000011))
    assert db.session.scalar(select(func.count()).select_from(StatusEvent)) == 1


def test_failed_records_code_title_and_details(session):
    """A failed status keeps Meta's error code, title and details."""
    message = outbound(factories.make_conversation(), wamid="wamid.FAIL")
    errors = [
        {
            "code": 131026,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
        }
    ]
    deliver(status_payload("wamid.FAIL", "failed", errors=errors))
    assert message.status == "failed"
    assert (message.error_code, message.error_title) == (131026, "Message undeliverable")
    assert message.error_details == "Message Undeliverable."


def test_real_failed_sample(session):
    """Meta's own failed-status body is applied to its message."""
    payload = sample("status_failed")
    entry = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    message = outbound(factories.make_conversation(), wamid=entry["id"])
    deliver(payload)
    assert message.status == "failed" and message.error_code == entry["errors"][0]["code"]


def test_status_before_its_message_is_kept_and_applied_later(session):
    """A status for an unknown wamid waits, and is applied when the send records that wamid."""
    deliver(status_payload("wamid.EARLY", "delivered", timestamp=1750000010))
    event = db.session.scalar(select(StatusEvent))
    assert event.applied_at is None
    message = outbound(factories.make_conversation(), wamid=None, status="queued")
    delivery.mark_sent(message, "wamid.EARLY")
    assert message.status == "delivered"
    assert event.applied_at is not None


def test_status_adopts_a_send_whose_worker_died(session):
    """A status naming our message in biz_opaque_callback_data attaches its wamid instead of a resend."""
    message = outbound(factories.make_conversation(), wamid=None, status="queued")
    deliver(status_payload("wamid.ADOPT", "sent", callback=f"flowapp:{message.id}"))
    assert message.wamid == "wamid.ADOPT" and message.status == "sent"
