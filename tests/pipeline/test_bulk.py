"""The bulk lane: statuses in batches, one statement per batch on PostgreSQL, a bad body isolated."""

from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Message, StatusEvent, WebhookEvent, utcnow
from flowapp.pipeline import bulk, intake
from tests import factories
from tests.helpers import encode, status_payload
from tests.pipeline.statements import counting


def outbound(conversation, wamid: str) -> Message:
    message = Message(
        conversation=conversation,
        direction="out",
        type="text",
        text="hello",
        status="sent",
        wamid=wamid,
        author_type="run",
        created_at=utcnow(),
    )
    db.session.add(message)
    return message


def store(payload=None, body=None) -> int:
    rows = intake.rows_for(body if body is not None else encode(payload), "meta")
    event_id = intake.receive(rows)[0]
    db.session.commit()
    return event_id


def test_a_batch_of_statuses_is_applied_forward_only(session):
    """200 messages, each with delivered and read in one batch (read first): all end read, with
    both times set, and every event marked processed."""
    conversation = factories.make_conversation()
    messages = [outbound(conversation, f"wamid.B{n}") for n in range(200)]
    db.session.commit()
    ids = []
    for n in range(200):
        ids.append(store(status_payload(f"wamid.B{n}", "read", timestamp=1750000020)))
        ids.append(store(status_payload(f"wamid.B{n}", "delivered", timestamp=1750000010)))
    assert bulk.process_batch(limit=400) == 400
    for message in messages:
        db.session.refresh(message)
        assert message.status == "read"
        assert message.delivered_at.timestamp() == 1750000010 and message.read_at.timestamp() == 1750000020
    assert db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(StatusEvent)) == 400


def test_statuses_cost_a_fixed_number_of_statements_per_batch(session):
    """Applying a batch costs the same number of statements for 5 statuses as for 150: one to claim
    the batch and one to apply it on PostgreSQL; a handful on SQLite."""
    conversation = factories.make_conversation()
    for n in range(155):
        outbound(conversation, f"wamid.S{n}")
    db.session.commit()
    costs = []
    for first, size in ((0, 5), (5, 150)):
        for n in range(first, first + size):
            store(status_payload(f"wamid.S{n}", "read"))
        with counting() as statements:
            assert bulk.process_batch() == size
        costs.append(len(statements))
    assert costs[0] == costs[1], "\n".join(s[:90] for s in statements)
    if db.session.get_bind().dialect.name == "postgresql":
        assert costs[0] == 2, statements
    else:  # claim, insert, read the messages, update them, mark the statuses and the events
        assert costs[0] == 6, statements


def test_a_status_for_an_unknown_message_waits_for_it(session):
    """A status that arrives before its message has a wamid is kept unapplied and applied later."""
    from flowapp.services import delivery

    store(status_payload("wamid.LATE", "delivered"))
    assert bulk.process_batch() == 1
    kept = db.session.scalar(select(StatusEvent).where(StatusEvent.wamid == "wamid.LATE"))
    assert kept.applied_at is None
    message = outbound(factories.make_conversation(), None)
    message.status = "queued"
    db.session.flush()
    delivery.mark_sent(message, "wamid.LATE")
    assert message.status == "delivered"


def test_a_bad_body_is_set_apart_and_the_rest_of_its_batch_goes_through(session, monkeypatch):
    """One event whose processing raises is retried later on its own; the others are applied."""
    from flowapp.services import statuses

    conversation = factories.make_conversation()
    good = outbound(conversation, "wamid.GOOD")
    db.session.commit()
    bad_id = store(status_payload("wamid.BAD", "delivered"))
    store(status_payload("wamid.GOOD", "delivered"))
    real = statuses.apply_batch

    def apply_batch(updates, event_ids):
        if any(u.wamid == "wamid.BAD" for u in updates):
            raise RuntimeError("bug in one body")
        return real(updates, event_ids)

    monkeypatch.setattr(statuses, "apply_batch", apply_batch)
    assert bulk.process_batch() == 2
    db.session.refresh(good)
    assert good.status == "delivered"
    bad = db.session.get(WebhookEvent, bad_id)
    assert bad.processed_at is None and bad.attempts == 1 and "bug in one body" in bad.error
    assert bulk.process_batch() == 0  # not due again until its retry time


def test_bodies_that_are_not_webhooks_are_recorded_as_such(session):
    """JSON without Meta's envelope: processed, with a note saying why nothing came of it."""
    event_id = store(body=b'["not", "a", "webhook"]')
    assert bulk.process_batch() == 1
    event = db.session.get(WebhookEvent, event_id)
    assert event.processed_at is not None and "not a WhatsApp webhook" in event.error


def test_a_status_that_overtook_its_send_is_left_to_the_sender(session):
    """The status of a message whose sender holds its lease (Meta answered, the sender has not
    committed yet) is kept for the sender, not adopted under its feet."""
    from datetime import timedelta

    from flowapp.models import OutboxEntry
    from flowapp.services import statuses

    message = outbound(factories.make_conversation(), None)
    message.status = "queued"
    db.session.flush()
    db.session.add(
        OutboxEntry(
            message_id=message.id,
            conversation_id=message.conversation_id,
            lease_owner="sender-1",
            lease_until=utcnow() + timedelta(seconds=60),
        )
    )
    db.session.commit()
    store(status_payload("wamid.RACE", "sent", callback=statuses.callback_data(message.id)))
    assert bulk.process_batch() == 1
    db.session.refresh(message)
    assert message.wamid is None and message.status == "queued"  # left to the sender
    message.wamid = "wamid.RACE"  # the sender records it, after the status batch looked
    db.session.commit()
    assert statuses.apply_overtaken() == 1  # the sweep settles what passed each other
    assert message.status == "sent"


def test_an_orphans_status_adopts_the_wamid_when_its_sender_is_gone(session):
    """No live lease: the sender died after Meta accepted; the status attaches the wamid."""
    from flowapp.services import statuses

    message = outbound(factories.make_conversation(), None)
    message.status = "queued"
    db.session.commit()
    store(status_payload("wamid.ORPHAN", "delivered", callback=statuses.callback_data(message.id)))
    assert bulk.process_batch() == 1
    db.session.refresh(message)
    assert message.wamid == "wamid.ORPHAN" and message.status == "delivered"
