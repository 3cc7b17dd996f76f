"""The database is the source of truth: what Redis forgets, the sweep finds again."""

import time

from redis import Redis
from sqlalchemy import func, select

from flowapp import extensions
from flowapp.extensions import db
from flowapp.jobs.inbound import sweep_inbound, wake_inbound
from flowapp.models import Contact, Message, WebhookEvent
from flowapp.pipeline import contacts, intake, pumps
from flowapp.pipeline.lease import ContactLease
from flowapp.pipeline.ready import Slot
from tests.helpers import customer_message, encode, status_payload


def store(payload, announce=True) -> list[int]:
    rows = intake.rows_for(encode(payload), "meta")
    ids = intake.receive(rows)
    db.session.commit()
    if announce:
        intake.announce(intake.stored(rows, ids))
    return ids


def run_pumps(app) -> None:
    """Run every pump whose slot is taken, until none is (as workers would)."""
    board = pumps.board(app)
    for _ in range(20):
        slots = [
            Slot(n, token.decode())
            for n in range(app.config["INBOUND_PARALLEL"])
            if (token := board.redis.get(f"flowapp:inbound:slot:{n}"))
        ]
        if not slots:
            return
        for slot in slots:
            pumps.run(slot, time_budget=30)


def unprocessed() -> int:
    return db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None)))


def test_a_flushed_redis_loses_nothing(app, session, redis):
    """Events announced, then Redis flushed: the sweep announces them again and all are processed."""
    for n in range(3):
        store(customer_message(sender=f"1555123000{n}", text=f"m{n}"))
    store(status_payload("wamid.X", "delivered"))
    redis.flushdb()
    run_pumps(app)
    assert unprocessed() == 4  # nobody knows about them any more...
    assert sweep_inbound() == 4  # ...until the sweep: three contacts and the bulk lane
    run_pumps(app)
    assert unprocessed() == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == 3


def test_events_stored_while_redis_was_down_are_swept(app, session, redis, monkeypatch):
    """Intake cannot announce (Redis down); the events wait in the database for the sweep."""
    monkeypatch.setitem(
        app.extensions, "flowapp_redis", Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    )
    monkeypatch.setattr(extensions, "_redis_down_until", 0.0)
    store(customer_message(text="while down"))
    assert extensions._redis_down_until > 0
    monkeypatch.setitem(app.extensions, "flowapp_redis", redis)
    assert sweep_inbound() == 1
    run_pumps(app)
    assert unprocessed() == 0


def test_events_stored_before_routing_existed_are_routed(app, session, redis):
    """Rows from before the upgrade (no lane) are routed by the sweep: a body with two senders
    becomes two events, each processed in its contact's order."""
    first = customer_message(sender="15551230001", text="one")
    second = customer_message(sender="15551230002", text="two")
    first["entry"].append(second["entry"][0])
    event_id = store(first, announce=False)[0]
    db.session.execute(
        WebhookEvent.__table__.delete().where(WebhookEvent.id != event_id)
    )  # as the old intake stored it: one row...
    db.session.execute(
        WebhookEvent.__table__.update()
        .where(WebhookEvent.id == event_id)
        .values(lane=None, contact_key=None, phone_number_id=None)
    )  # ...without a lane
    db.session.commit()
    assert sweep_inbound() == 2
    run_pumps(app)
    assert unprocessed() == 0
    assert sorted(db.session.scalars(select(Message.text))) == ["one", "two"]
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 2


def test_a_dead_workers_contact_passes_on_when_its_lease_ends(app, session, redis):
    """A worker died holding a contact (its lease never released): the next worker finds it busy,
    comes back when the lease has run out, and processes the event once."""
    store(customer_message(text="left behind"))
    ContactLease(redis, "15551230001", 0.3).acquire()  # the dead worker's lease
    board = pumps.board(app)
    assert contacts.drain("106540352242922", "15551230001", board) == "busy"
    assert unprocessed() == 1
    deadline = time.monotonic() + 10
    while unprocessed() and time.monotonic() < deadline:
        wake_inbound()  # what the scheduled wake-up job does when the delay is over
        run_pumps(app)
        time.sleep(0.02)
    assert unprocessed() == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1
