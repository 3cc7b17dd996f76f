"""One contact's events: in arrival order, one worker at a time; a failure blocks only that contact."""

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Message, WebhookEvent
from flowapp.pipeline import contacts, intake, pumps, recovery
from flowapp.pipeline.lease import ContactLease
from flowapp.pipeline.ready import Board
from flowapp.services import inbound
from tests.helpers import customer_message, encode

ANA, BEN = "15551230001", "15551230002"


def store(sender=ANA, text="hi", wamid=None) -> int:
    """Store a body as intake does (committed, announced), without processing it."""
    extra = {"wamid": wamid} if wamid else {}
    rows = intake.rows_for(encode(customer_message(sender=sender, text=text, **extra)), "meta")
    ids = intake.receive(rows)
    db.session.commit()
    intake.announce(intake.stored(rows, ids))
    return ids[0]


def texts(sender=ANA) -> list[str]:
    return list(
        db.session.scalars(
            select(Message.text)
            .join(Message.conversation)
            .where(Message.direction == "in")
            .where(Message.conversation.has(contact_id=_contact_id(sender)))
            .order_by(Message.id)
        )
    )


def _contact_id(sender):
    from flowapp.models import Contact

    return db.session.scalar(select(Contact.id).where(Contact.wa_id == sender))


@pytest.fixture
def ready(app, redis):
    return pumps.board(app)


@pytest.fixture
def failing(monkeypatch):
    """Make processing fail for chosen message texts (stands in for a bug in one event)."""
    bad: set[str] = set()
    real = inbound.receive

    def receive(message):
        if message.text in bad:
            raise RuntimeError(f"bug while processing {message.text!r}")
        return real(message)

    monkeypatch.setattr(inbound, "receive", receive)
    return bad


def test_drain_handles_every_waiting_event_in_arrival_order(session, ready):
    """A contact's events are processed oldest first, all in one drain."""
    ids = [store(text=f"m{n}") for n in range(5)]
    assert contacts.drain("106540352242922", ANA, ready) == "done"
    assert texts() == ["m0", "m1", "m2", "m3", "m4"]
    assert all(db.session.get(WebhookEvent, i).processed_at for i in ids)
    assert not db.session.get(WebhookEvent, ids[0]).error


def test_a_busy_contact_is_left_to_its_holder_and_revisited(session, ready, redis):
    """A worker that finds the contact held does nothing with it, marks it for the holder, and
    comes back when the holder's lease would end."""
    store(text="waiting")
    holder = ContactLease(redis, ANA, 30).acquire()
    assert contacts.drain("106540352242922", ANA, ready) == "busy"
    assert texts() == []
    assert redis.exists("flowapp:inbound:dirty:" + ANA)
    assert 25 < ready.next_delayed() - __import__("time").time() <= 31
    holder.release(force=True)


def test_a_failure_blocks_only_its_own_contact(session, ready, failing):
    """Ana's failing message stops Ana's later messages; Ben's go through meanwhile."""
    failing.add("boom")
    store(ANA, "boom")
    store(ANA, "after")
    store(BEN, "hello")
    assert contacts.drain("106540352242922", ANA, ready) == "waiting"
    assert contacts.drain("106540352242922", BEN, ready) == "done"
    assert texts(BEN) == ["hello"]
    assert texts(ANA) == []  # "after" waits behind "boom"
    failed = db.session.scalar(select(WebhookEvent).where(WebhookEvent.attempts == 1))
    assert "bug while processing 'boom'" in failed.error and failed.next_attempt_at is not None
    assert failed.parked_at is None


def test_a_retry_that_succeeds_releases_the_contacts_later_events_in_order(session, ready, failing):
    """Once the failing event goes through (retried after its delay), the events behind it follow."""
    failing.add("boom")
    first = store(ANA, "boom")
    store(ANA, "after")
    contacts.drain("106540352242922", ANA, ready)
    failing.clear()
    db.session.execute(  # its delay is over
        WebhookEvent.__table__.update().where(WebhookEvent.id == first).values(next_attempt_at=None)
    )
    db.session.commit()
    assert contacts.drain("106540352242922", ANA, ready) == "done"
    assert texts(ANA) == ["boom", "after"]


def test_the_last_failure_parks_the_event_and_the_contact_waits(session, ready, failing):
    """After MAX_ATTEMPTS the event is parked with its error; the contact's later events wait until
    someone retries or dismisses it."""
    failing.add("boom")
    parked_id = store(ANA, "boom")
    later = store(ANA, "after")
    for _ in range(recovery.MAX_ATTEMPTS):
        db.session.execute(
            WebhookEvent.__table__.update().where(WebhookEvent.id == parked_id).values(next_attempt_at=None)
        )
        db.session.commit()
        outcome = contacts.drain("106540352242922", ANA, ready)
    assert outcome == "parked"
    event = db.session.get(WebhookEvent, parked_id)
    assert event.parked_at is not None and event.attempts == recovery.MAX_ATTEMPTS
    assert [e.id for e in recovery.parked()] == [parked_id] and recovery.parked_count() == 1
    assert contacts.drain("106540352242922", ANA, ready) == "parked"  # still blocked
    assert db.session.get(WebhookEvent, later).processed_at is None
    assert recovery.waiting_work() == []  # a blocked contact is not announced by the sweep


def test_dismissing_a_parked_event_lets_the_contact_go_on(session, ready, failing):
    """Dismissed: the event counts as processed (its body and error kept), the next one runs."""
    failing.add("boom")
    parked_id = store(ANA, "boom")
    store(ANA, "after")
    _park(parked_id, ready)
    assert recovery.dismiss(parked_id, by="admin@example.com") is not None
    db.session.commit()
    assert contacts.drain("106540352242922", ANA, ready) == "done"
    assert texts(ANA) == ["after"]
    event = db.session.get(WebhookEvent, parked_id)
    assert event.processed_at is not None and event.error.startswith("dismissed by admin@example.com")


def test_retrying_a_parked_event_processes_it_first(session, ready, failing):
    """Retried (the bug fixed): the parked event runs with fresh attempts, then the later ones."""
    failing.add("boom")
    parked_id = store(ANA, "boom")
    store(ANA, "after")
    _park(parked_id, ready)
    failing.clear()
    assert recovery.retry(parked_id) is not None
    db.session.commit()
    assert contacts.drain("106540352242922", ANA, ready) == "done"
    assert texts(ANA) == ["boom", "after"]


def test_an_event_processed_elsewhere_is_not_processed_again(session, ready):
    """If another worker already claimed the event (our lease lapsed), handling it changes nothing."""
    event_id = store(ANA, "once")
    event = db.session.get(WebhookEvent, event_id)
    waiting = contacts.Waiting(event.id, event.body, 0, None, None)
    assert contacts.handle(waiting, ANA) == (False, None)
    assert contacts.handle(waiting, ANA) == (False, None)
    assert texts(ANA) == ["once"]


def _park(event_id: int, ready: Board) -> None:
    for _ in range(recovery.MAX_ATTEMPTS):
        db.session.execute(
            WebhookEvent.__table__.update().where(WebhookEvent.id == event_id).values(next_attempt_at=None)
        )
        db.session.commit()
        contacts.drain("106540352242922", ANA, ready)
    assert db.session.get(WebhookEvent, event_id).parked_at is not None
