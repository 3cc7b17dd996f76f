"""What waits to be processed, in Redis: contacts per business number, the bulk lane, pump slots.

The database holds every event; Redis only says which contacts have work, so that workers find it
without polling. Losing Redis loses no event: the sweep re-derives all of this from the rows.

Keys (PREFIX = "flowapp:inbound:"):
- numbers: a list of business numbers with contacts waiting, rotated on every pop, so that one
  number flooded with messages takes turns with the others instead of starving them;
- ready:<number>: a sorted set of the contacts waiting on that number (member: wa_id, score: the
  id of their first waiting event), each contact once however many events it has;
- delayed: contacts to come back later ("<number>\\n<wa_id>", score: when), after a failure or
  while another worker holds the contact;
- bulk: a counter raised when statuses or other unordered events wait;
- slot:<n>: the pumps (processing jobs) that may run at once, each owned by a token; no more than
  the workers serving the inbound queue, and one fewer while replies are being sent, so that a
  worker is free for them;
- bell: rung on every announcement, so that a pump waiting for work wakes at once.

Every change is one Lua script, so "announce work" and "release a slot" cannot interleave in a way
that leaves work with nobody to do it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from redis import Redis

PREFIX = "flowapp:inbound:"
NO_NUMBER = "-"
SLOT_TTL_MS = 60_000

# Shared by the scripts below: take the first free pump slot for ARGV[2] (token); -1 if none. The
# slots in use are at most the workers serving the inbound queue (RQ's registry of them, WORKERS),
# one fewer while the send pipeline runs (any of its drain slots, SENDERS, taken): a pump with no
# worker to run it would only wait in the queue, and with every worker pumping, replies would wait
# for one to finish. Each script names where these keys start in its KEYS (watch).
_CLAIM = """
local WORKERS, SENDERS = nil, {}
local function watch(first)
  WORKERS = KEYS[first]
  SENDERS = {unpack(KEYS, first + 1)}
end
local function usable(slots)
  if WORKERS then
    local workers = redis.call('scard', WORKERS)
    -- While replies are being sent (a drain holds a slot), one worker stays free for them.
    if workers > 1 and #SENDERS > 0 and redis.call('exists', unpack(SENDERS)) > 0 then
      workers = workers - 1
    end
    if workers < slots then slots = math.max(1, workers) end
  end
  return slots
end
local function claim(prefix, token, slots, ttl)
  slots = usable(slots)
  for i = 0, slots - 1 do
    if redis.call('set', prefix .. 'slot:' .. i, token, 'NX', 'PX', ttl) then return i end
  end
  return -1
end
local function listed(prefix, number)
  if not redis.call('lpos', prefix .. 'numbers', number) then
    redis.call('rpush', prefix .. 'numbers', number)
  end
end
local function ring(prefix, slots)
  redis.call('rpush', prefix .. 'bell', 1)
  redis.call('ltrim', prefix .. 'bell', -usable(slots), -1)
end
"""

# KEYS: [workers]. ARGV: prefix, token, slots, ttl, bulk (0/1), then (number, contact, score) triples.
ANNOUNCE = (
    _CLAIM
    + """
watch(1)
local p = ARGV[1]
for i = 6, #ARGV, 3 do
  redis.call('zadd', p .. 'ready:' .. ARGV[i], 'NX', ARGV[i + 2], ARGV[i + 1])
  listed(p, ARGV[i])
end
if ARGV[5] == '1' then redis.call('incr', p .. 'bulk') end
ring(p, tonumber(ARGV[3]))
return claim(p, ARGV[2], tonumber(ARGV[3]), ARGV[4])
"""
)

# KEYS: [workers]. ARGV: prefix, token, slots, ttl. Returns {number, contact, sibling slot or -1}
# or nil.
POP = (
    _CLAIM
    + """
watch(1)
local p = ARGV[1]
local count = redis.call('llen', p .. 'numbers')
for _ = 1, count do
  local number = redis.call('lmove', p .. 'numbers', p .. 'numbers', 'LEFT', 'RIGHT')
  local popped = redis.call('zpopmin', p .. 'ready:' .. number)
  if redis.call('zcard', p .. 'ready:' .. number) == 0 then
    redis.call('lrem', p .. 'numbers', 0, number)
  end
  if #popped > 0 then
    local sibling = -1
    if redis.call('llen', p .. 'numbers') > 0 then sibling = claim(p, ARGV[2], tonumber(ARGV[3]), ARGV[4]) end
    return {number, popped[1], sibling}
  end
end
return nil
"""
)

# ARGV: prefix, now (seconds). Moves due delayed contacts to the front of their number's queue.
PROMOTE = (
    _CLAIM
    + """
local p = ARGV[1]
local due = redis.call('zrangebyscore', p .. 'delayed', '-inf', ARGV[2], 'LIMIT', 0, 500)
for _, member in ipairs(due) do
  local cut = string.find(member, '\\n', 1, true)
  local number = string.sub(member, 1, cut - 1)
  redis.call('zadd', p .. 'ready:' .. number, 'NX', 0, string.sub(member, cut + 1))
  listed(p, number)
  redis.call('zrem', p .. 'delayed', member)
end
return #due
"""
)

# KEYS: slot[, workers]. ARGV: prefix, old token, new token, slots, ttl. Frees the slot if still ours, then,
# if work is left (it may have come after our last look), claims a slot for a new pump.
RELEASE = (
    _CLAIM
    + """
watch(2)
local p = ARGV[1]
if redis.call('get', KEYS[1]) == ARGV[2] then redis.call('del', KEYS[1]) end
if redis.call('llen', p .. 'numbers') > 0 or redis.call('exists', p .. 'bulk') == 1 then
  return claim(p, ARGV[3], tonumber(ARGV[4]), ARGV[5])
end
return -1
"""
)

# KEYS: slot[, workers, senders...]. ARGV: token, ttl, slot number, slots. Extends a pump's slot
# for its owner, unless the slot is no longer one of the usable ones (replies started meanwhile).
RENEW = (
    _CLAIM
    + """
watch(2)
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) >= usable(tonumber(ARGV[4])) then return 0 end
return redis.call('pexpire', KEYS[1], ARGV[2])
"""
)

# KEYS: bulk. ARGV: the value read before an empty claim. Clears the signal unless it moved since.
SETTLE_BULK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Slot:
    """A pump's right to run: slot number and the token that proves it is this pump's."""

    number: int
    token: str


def new_token() -> str:
    return secrets.token_hex(8)


class Board:
    """The Redis side of the pipeline for one connection (scripts registered once per client)."""

    def __init__(
        self, connection: Redis, slots: int, workers_key: str | None = None, sender_keys: tuple = ()
    ):
        self.redis = connection
        self.slots = slots
        # RQ's set of the workers serving the inbound queue, and the send pipeline's drain slots:
        # pumps are capped at the workers, less one while replies are being sent.
        self.workers = [workers_key, *sender_keys] if workers_key else []
        self._announce = connection.register_script(ANNOUNCE)
        self._pop = connection.register_script(POP)
        self._promote = connection.register_script(PROMOTE)
        self._release = connection.register_script(RELEASE)
        self._renew = connection.register_script(RENEW)
        self._settle = connection.register_script(SETTLE_BULK)

    def announce(self, contacts: list[tuple[str | None, str, int]], bulk: bool) -> Slot | None:
        """Mark contacts (number, wa_id, first event id) and the bulk lane as waiting. Returns a
        slot when one was free, for a new pump (the caller enqueues it)."""
        token = new_token()
        args = [PREFIX, token, self.slots, SLOT_TTL_MS, "1" if bulk else "0"]
        for number, contact, score in contacts:
            args += [number or NO_NUMBER, contact, score]
        return self._slot(self._announce(keys=self.workers, args=args), token)

    def pop(self) -> tuple[str, str, Slot | None] | None:
        """The next contact with work, taking business numbers in turn: (number, wa_id, a slot for a
        sibling pump when more contacts wait and a slot is free), or None."""
        token = new_token()
        found = self._pop(keys=self.workers, args=[PREFIX, token, self.slots, SLOT_TTL_MS])
        if not found:
            return None
        number, contact, sibling = found
        return _text(number), _text(contact), self._slot(sibling, token)

    def delay(self, number: str | None, contact: str, at: float) -> None:
        """Come back to this contact at `at` (epoch seconds)."""
        self.redis.zadd(f"{PREFIX}delayed", {f"{number or NO_NUMBER}\n{contact}": at})

    def wait_for_work(self, timeout: float) -> bool:
        """Block until work is announced (the bell rings) or `timeout` seconds pass."""
        return self.redis.blpop([f"{PREFIX}bell"], timeout=timeout) is not None

    def promote_due(self, now: float | None = None) -> int:
        """Make delayed contacts whose time has come ready again. Returns how many."""
        return int(self._promote(args=[PREFIX, now if now is not None else time.time()]))

    def next_delayed(self) -> float | None:
        """When the earliest delayed contact is due (epoch seconds), or None."""
        first = self.redis.zrange(f"{PREFIX}delayed", 0, 0, withscores=True)
        return first[0][1] if first else None

    def bulk_signal(self) -> bytes | None:
        """The bulk lane's signal (None: nothing announced since it was last found empty)."""
        return self.redis.get(f"{PREFIX}bulk")

    def settle_bulk(self, seen: bytes) -> None:
        """The bulk lane was found empty after reading `seen`: clear the signal unless it moved."""
        self._settle(keys=[f"{PREFIX}bulk"], args=[seen])

    def renew(self, slot: Slot) -> bool:
        """Keep our slot; False when it expired and went to another pump, or a worker is needed for
        replies (we should stop)."""
        keys = [_slot_key(slot.number), *self.workers]
        return bool(self._renew(keys=keys, args=[slot.token, SLOT_TTL_MS, slot.number, self.slots]))

    def release(self, slot: Slot) -> Slot | None:
        """Give the slot back. Returns a slot for a new pump when work is left."""
        token = new_token()
        found = self._release(
            keys=[_slot_key(slot.number), *self.workers],
            args=[PREFIX, slot.token, token, self.slots, SLOT_TTL_MS],
        )
        return self._slot(found, token)

    def claim_if_waiting(self) -> Slot | None:
        """A slot for a new pump, if work waits and a slot is free."""
        return self.release(Slot(-1, ""))  # slot -1 never exists: only the "work left?" half runs

    def owns(self, slot: Slot) -> bool:
        return _text(self.redis.get(_slot_key(slot.number)) or b"") == slot.token

    def waiting(self) -> dict:
        """Counts for /metrics and the operations page."""
        numbers = [_text(n) for n in self.redis.lrange(f"{PREFIX}numbers", 0, -1)]
        return {
            "numbers": len(numbers),
            "contacts": sum(self.redis.zcard(f"{PREFIX}ready:{n}") for n in numbers),
            "delayed": self.redis.zcard(f"{PREFIX}delayed"),
        }

    @staticmethod
    def _slot(found, token: str) -> Slot | None:
        number = int(found)
        return Slot(number, token) if number >= 0 else None


def _slot_key(number: int) -> str:
    return f"{PREFIX}slot:{number}"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
