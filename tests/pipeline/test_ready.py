"""Redis's view of the work: contacts per number taken in turn, pump slots, delays, the bulk signal."""

import time

from flowapp.pipeline.ready import Board


def board(redis, slots=2) -> Board:
    return Board(redis, slots)


def test_announce_claims_a_slot_until_all_are_taken(redis):
    """Each announcement starts a pump while a slot is free; then the running pumps do the work."""
    ready = board(redis, slots=2)
    first = ready.announce([("n1", "111111", 1)], bulk=False)
    second = ready.announce([("n1", "222222", 2)], bulk=False)
    assert (first.number, second.number) == (0, 1)
    assert ready.announce([("n1", "333333", 3)], bulk=False) is None
    assert ready.owns(first) and ready.owns(second)


def test_a_contact_waits_once_however_many_events_it_has(redis):
    """Three events of one contact: it is ready once, at the place of its first event."""
    ready = board(redis)
    ready.announce([("n1", "111111", 1), ("n1", "222222", 2), ("n1", "111111", 3)], bulk=False)
    assert [ready.pop()[1] for _ in range(2)] == ["111111", "222222"]
    assert ready.pop() is None


def test_numbers_take_turns(redis):
    """A number with a thousand contacts waiting does not make another number's contact wait: the
    next pop after it was announced takes it (the bound: one pop per number with work)."""
    ready = board(redis, slots=1)
    ready.announce([("flooded", str(100000 + i), i) for i in range(1000)], bulk=False)
    ready.pop()
    ready.announce([("quiet", "555555", 2000)], bulk=False)
    taken = [ready.pop()[:2] for _ in range(3)]
    assert ("quiet", "555555") in taken[:2]
    assert [number for number, _ in taken].count("flooded") == 2


def test_pop_offers_a_sibling_slot_while_contacts_wait(redis):
    """While more contacts wait, a pop hands back a free slot so another pump can start."""
    ready = board(redis, slots=2)
    mine = ready.announce([("n1", "111111", 1), ("n1", "222222", 2)], bulk=False)
    number, contact, sibling = ready.pop()
    assert sibling is not None and sibling.number != mine.number
    _, _, none_left = ready.pop()
    assert none_left is None  # nothing waits any more: no sibling


def test_release_hands_work_that_came_late_to_a_new_pump(redis):
    """Work announced while the last slot was taken is not stranded: releasing the slot claims it
    again for a new pump."""
    ready = board(redis, slots=1)
    slot = ready.announce([("n1", "111111", 1)], bulk=False)
    ready.pop()
    assert ready.announce([("n1", "222222", 2)], bulk=False) is None  # no slot free
    successor = ready.release(slot)
    assert successor is not None and ready.owns(successor)
    assert ready.pop()[1] == "222222"
    assert ready.release(successor) is None  # nothing waits any more


def test_a_stale_pump_cannot_release_or_renew_a_slot_it_lost(redis):
    """A slot that expired and went to another pump stays with that pump."""
    ready = board(redis, slots=1)
    old = ready.announce([("n1", "111111", 1)], bulk=False)
    redis.delete("flowapp:inbound:slot:0")
    new = ready.announce([("n1", "222222", 2)], bulk=False)
    assert not ready.renew(old)
    ready.release(old)
    assert ready.owns(new)


def test_delayed_contacts_come_back_when_due(redis):
    """A contact delayed (retry, busy) is ready again once its time has come, not before."""
    ready = board(redis)
    ready.delay("n1", "111111", time.time() + 60)
    ready.delay("n2", "222222", time.time() - 1)
    assert ready.promote_due() == 1
    assert ready.pop()[:2] == ("n2", "222222")
    assert ready.pop() is None
    assert ready.next_delayed() > time.time()


def test_bulk_signal_is_cleared_only_if_nothing_came_since(redis):
    """Statuses announced while a pump found the lane empty keep the signal up."""
    ready = board(redis)
    ready.announce([], bulk=True)
    seen = ready.bulk_signal()
    ready.announce([], bulk=True)  # more statuses arrive meanwhile
    ready.settle_bulk(seen)
    assert ready.bulk_signal() is not None
    ready.settle_bulk(ready.bulk_signal())
    assert ready.bulk_signal() is None
