"""The per-contact lease: one owner at a time, only the owner extends or frees it, it expires."""

import time

import pytest

from flowapp.pipeline.lease import AGAIN, LOST, RELEASED, Busy, ContactLease


def lease(redis, contact="15551230001", seconds=30.0) -> ContactLease:
    return ContactLease(redis, contact, seconds)


def test_one_holder_at_a_time(redis):
    """A second worker finds the contact busy and learns how long the lease has left."""
    first = lease(redis).acquire()
    with pytest.raises(Busy) as busy:
        lease(redis).acquire()
    assert 0 < busy.value.retry_in <= 30
    assert first.release() == AGAIN  # the second worker marked it: the holder reads once more
    assert first.release() == RELEASED
    lease(redis).acquire()  # free again


def test_a_stale_holder_cannot_release_or_extend_another_owners_lease(redis):
    """After its lease expired and another worker took the contact, the old holder can neither free
    nor extend the lock (compare-and-delete, compare-and-expire)."""
    stale = lease(redis, seconds=0.05).acquire()
    deadline = time.monotonic() + 5
    while redis.exists("flowapp:inbound:lock:15551230001") and time.monotonic() < deadline:
        time.sleep(0.01)
    current = lease(redis).acquire()
    stale.renewed_at = 0  # due for renewal
    assert stale.keep() is False
    assert stale.release() == LOST
    assert stale.release(force=True) == LOST
    assert redis.get("flowapp:inbound:lock:15551230001").decode() == current.token
    assert redis.pttl("flowapp:inbound:lock:15551230001") > 20_000  # untouched by the stale holder


def test_the_owner_extends_its_lease(redis):
    """keep() pushes the expiry out for the owner once a third of the lease has passed."""
    held = lease(redis, seconds=3).acquire()
    redis.pexpire("flowapp:inbound:lock:15551230001", 500)  # as if most of the lease had passed
    held.renewed_at = 0
    assert held.keep() is True
    assert redis.pttl("flowapp:inbound:lock:15551230001") > 2000


def test_a_lease_expires_when_its_holder_dies(redis):
    """Nobody releases a killed worker's lock: it expires and another worker takes the contact."""
    lease(redis, seconds=0.05).acquire()  # never released
    deadline = time.monotonic() + 5
    while True:
        try:
            lease(redis).acquire()
            break
        except Busy:
            assert time.monotonic() < deadline, "the lease never expired"
            time.sleep(0.01)


def test_forced_release_drops_the_dirty_mark(redis):
    """A holder that stops early (the contact is blocked) frees the lock even when marked."""
    held = lease(redis).acquire()
    with pytest.raises(Busy):
        lease(redis).acquire()
    assert held.release(force=True) == RELEASED
    assert not redis.exists("flowapp:inbound:dirty:15551230001")
    assert lease(redis).acquire().release() == RELEASED
