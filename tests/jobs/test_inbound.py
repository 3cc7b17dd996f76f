"""The ordered webhook processor job and the sweep."""

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.jobs.inbound import process_webhook_events, sweep_webhook_events
from flowapp.models import Message, WebhookEvent
from flowapp.services import inbound, intake
from tests.helpers import customer_message, encode


def store(payload) -> int:
    event_id, _ = intake.receive(intake.row_values(encode(payload), "meta"))
    db.session.commit()
    return event_id


def test_processes_every_pending_event_in_arrival_order(session, redis):
    """One run of the processor handles all pending events, oldest first."""
    ids = [store(customer_message(text=f"m{n}", wamid=f"wamid.ORD{n}")) for n in range(5)]
    assert process_webhook_events() == 5
    texts = db.session.scalars(select(Message.text).order_by(Message.id)).all()
    assert texts == ["m0", "m1", "m2", "m3", "m4"]
    assert all(db.session.get(WebhookEvent, i).processed_at for i in ids)
    assert redis.get(intake.SLOT_KEY) is None  # the slot is free again


def test_a_failing_event_is_kept_and_does_not_block_the_others(session, redis, monkeypatch):
    """An event whose processing raises is rolled back, recorded with its error, retried later."""
    bad = store(customer_message(text="boom", wamid="wamid.BAD"))
    good = store(customer_message(text="fine", wamid="wamid.GOOD"))
    real = inbound.process_event

    def process(event_id):  # stands in for a bug in processing one particular event
        if event_id == bad:
            raise RuntimeError("bug while processing")
        return real(event_id)

    monkeypatch.setattr(inbound, "process_event", process)
    assert process_webhook_events() == 2
    failed = db.session.get(WebhookEvent, bad)
    assert failed.processed_at is None and failed.attempts == 1
    assert "bug while processing" in failed.error and failed.next_attempt_at is not None
    assert db.session.get(WebhookEvent, good).processed_at is not None
    assert intake.next_pending() is None  # not due again until its backoff passes


def test_sweep_starts_the_processor_for_waiting_events(session, redis):
    """Events stored while Redis was down are picked up by the sweep."""
    store(customer_message(text="waiting"))
    assert sweep_webhook_events() is True
    assert redis.llen("rq:queue:webhooks") == 1
    assert sweep_webhook_events() is True  # the slot is taken: no second job
    assert redis.llen("rq:queue:webhooks") == 1


def test_sweep_with_nothing_waiting_does_nothing(session, redis):
    """No pending event: no job."""
    assert sweep_webhook_events() is False
    assert redis.llen("rq:queue:webhooks") == 0
