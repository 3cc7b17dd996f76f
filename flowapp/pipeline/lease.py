"""A lease-owned lock per contact: one worker at a time handles a contact's events.

The lock is a Redis key holding its owner's random token, with an expiry (the lease). Only the
owner can extend or release it (compare-and-set in Lua), so a worker that stalled past its lease
and woke up again cannot free or extend the lock a newer owner now holds. A worker killed outright
leaves the key to expire; another worker then takes the contact (the pump comes back to contacts
it found busy when their lease runs out).

A worker that finds the contact busy does not wait: it marks the contact "dirty" and moves on.
The holder, before releasing, sees the mark and reads the contact's events once more. The two
scripts are atomic, so an event stored after the holder's last read is always picked up, by the
holder (dirty) or by the next worker (lock free).

The database guards exactly-once on its own (an event is claimed with UPDATE ... WHERE
processed_at IS NULL as the first statement of its transaction), so even two holders at once, after
Redis lost the key, could neither process an event twice nor out of order.
"""

from __future__ import annotations

import secrets
import time

from redis import Redis

LOCK = "flowapp:inbound:lock:{}"
DIRTY = "flowapp:inbound:dirty:{}"

# KEYS: lock, dirty. ARGV: token, lease ms. 1 = ours (and the dirty mark, if any, is moot: we are
# about to read everything); else the holder's remaining lease in ms, after marking dirty.
ACQUIRE = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('del', KEYS[2])
  return -1
end
redis.call('set', KEYS[2], '1', 'PX', ARGV[2])
local left = redis.call('pttl', KEYS[1])
if left < 0 then left = 0 end
return left
"""

# KEYS: lock. ARGV: token, lease ms.
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: lock, dirty. ARGV: token, force (1: release even if dirty). 1 released, 0 dirty: read
# again (the lock stays ours), -1 not ours any more.
RELEASE = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if ARGV[2] ~= '1' and redis.call('del', KEYS[2]) == 1 then return 0 end
redis.call('del', KEYS[1], KEYS[2])
return 1
"""

RELEASED, AGAIN, LOST = 1, 0, -1


class Busy(Exception):
    """Another worker holds the contact; `retry_in` seconds is what is left of its lease."""

    def __init__(self, retry_in: float):
        super().__init__(f"contact busy for up to {retry_in:.1f}s")
        self.retry_in = retry_in


class ContactLease:
    """The lock on one contact, held by this worker."""

    def __init__(self, connection: Redis, contact: str, seconds: float):
        self.redis = connection
        self.contact = contact
        self.ms = max(1, int(seconds * 1000))
        self.token = secrets.token_hex(12)
        self.keys = [LOCK.format(contact), DIRTY.format(contact)]
        self.renewed_at = 0.0
        self.held = False
        # Registering is local (a SHA-1 of the text); Redis loads each script once, on first use.
        self._acquire, self._renew, self._release = (
            connection.register_script(script) for script in (ACQUIRE, RENEW, RELEASE)
        )

    def acquire(self) -> ContactLease:
        """Take the lock, or raise Busy (having marked the contact dirty for its holder)."""
        left = int(self._acquire(keys=self.keys, args=[self.token, self.ms]))
        if left >= 0:
            raise Busy(left / 1000)
        self.renewed_at = time.monotonic()
        self.held = True
        return self

    def keep(self) -> bool:
        """Extend the lease when a third of it has passed. False when it is not ours any more."""
        if time.monotonic() - self.renewed_at < self.ms / 3000:
            return True
        if not int(self._renew(keys=self.keys[:1], args=[self.token, self.ms])):
            return False
        self.renewed_at = time.monotonic()
        return True

    def release(self, force: bool = False) -> int:
        """RELEASED; AGAIN when someone marked the contact meanwhile (read its events once more,
        the lock is still ours); LOST when the lease had expired. `force` releases regardless."""
        outcome = int(self._release(keys=self.keys, args=[self.token, "1" if force else "0"]))
        self.held = outcome == AGAIN
        return outcome
