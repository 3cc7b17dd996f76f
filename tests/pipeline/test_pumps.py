"""Pumps: both lanes, slots handed on, fairness between business numbers."""

from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Message, WebhookEvent
from flowapp.pipeline import contacts, intake, pumps
from flowapp.pipeline.ready import Slot
from tests.helpers import customer_message, encode, status_payload
from tests.whatsapp_numbers import message_to


def store(payload) -> list[int]:
    rows = intake.rows_for(encode(payload), "meta")
    ids = intake.receive(rows)
    db.session.commit()
    intake.announce(intake.stored(rows, ids))
    return ids


def slot_for_a_pump(app) -> Slot:
    """Take the slot the announcements claimed (their pump job sits in the queue; we run it here)."""
    board = pumps.board(app)
    for number in range(app.config["INBOUND_PARALLEL"]):
        token = board.redis.get(f"flowapp:inbound:slot:{number}")
        if token:
            return Slot(number, token.decode())
    raise AssertionError("no slot was claimed")


def test_a_pump_processes_both_lanes_and_frees_its_slot(app, session, redis):
    """Messages of two contacts and a status: all processed by one pump, whose slot is then free."""
    store(customer_message(sender="15551230001", text="a"))
    store(customer_message(sender="15551230002", text="b"))
    store(status_payload("wamid.UNKNOWN", "delivered"))
    slot = slot_for_a_pump(app)
    done = pumps.run(slot, time_budget=30)
    assert done == {"done": 2, "bulk": 1}
    assert db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None))) == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == 2
    assert not pumps.board(app).owns(slot)


def test_a_pump_whose_slot_went_to_another_does_nothing(app, session, redis):
    """A pump that waited in the queue past its slot's expiry finds the slot taken and leaves."""
    store(customer_message(text="a"))
    stale = Slot(0, "not-the-owner")
    assert pumps.run(stale) == {"stale": 1}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def serving_workers(redis, count: int) -> None:
    """As RQ records workers that serve the inbound queue when they start (its registry set)."""
    redis.sadd(pumps.INBOUND_WORKERS, *[f"rq:worker:test-{n}" for n in range(count)])


def test_pumps_are_capped_at_the_workers_that_could_run_them(app, session, redis):
    """One worker serving the inbound queue: one pump at a time, however much waits; three: three,
    and two while a drain of the send pipeline runs (a worker stays free for the replies)."""
    serving_workers(redis, 1)
    for n in range(4):
        store(customer_message(sender=f"1555123000{n}", text="hi"))
    taken = [n for n in range(8) if redis.exists(f"flowapp:inbound:slot:{n}")]
    assert taken == [0]
    serving_workers(redis, 3)
    store(customer_message(sender="15551230009", text="hi"))
    store(customer_message(sender="15551230008", text="hi"))
    assert [n for n in range(8) if redis.exists(f"flowapp:inbound:slot:{n}")] == [0, 1, 2]
    redis.set("flowapp:outbox:slot:0", "running")  # a drain sends replies
    board = pumps.board(app)
    third = Slot(2, redis.get("flowapp:inbound:slot:2").decode())
    assert board.renew(Slot(0, redis.get("flowapp:inbound:slot:0").decode()))
    assert not board.renew(third)  # the third pump ends and gives its worker to the replies
    board.release(third)
    store(customer_message(sender="15551230007", text="hi"))
    assert [n for n in range(8) if redis.exists(f"flowapp:inbound:slot:{n}")] == [0, 1]


def test_while_contacts_wait_a_pump_starts_a_sibling(app, session, redis):
    """Several contacts announced together take one slot; the pump that takes the first hands a
    free slot to a sibling job (for another worker) since more wait."""
    serving_workers(redis, 3)
    rows = []
    for n in range(3):
        stored = intake.rows_for(encode(customer_message(sender=f"1555123000{n}", text="hi")), "meta")
        rows += intake.stored(stored, intake.receive(stored))
    db.session.commit()
    intake.announce(rows)
    queued = redis.llen("rq:queue:webhooks")
    assert queued == 1
    pumps.run(slot_for_a_pump(app), time_budget=30)
    assert redis.llen("rq:queue:webhooks") > queued


def test_a_flooded_number_does_not_starve_another(app, session, redis, monkeypatch):
    """300 customers of one number wait; then one customer of a second number writes. The bound:
    with N numbers waiting, a contact is taken within N contacts of the moment it was announced,
    whatever the backlog (here: within the next two)."""
    for n in range(300):
        store(message_to("111111111111111", sender=str(15550000000 + n)))
    order = []
    real = contacts.drain

    def drain(number, contact, board):
        order.append(number)
        if len(order) == 5:
            store(message_to("222222222222222", sender="15559999999"))
        return real(number, contact, board)

    monkeypatch.setattr(contacts, "drain", drain)
    pumps.run(slot_for_a_pump(app), time_budget=60)
    assert len(order) == 301
    assert order.index("222222222222222") <= 6  # announced during the 5th, taken by the 7th at most
