"""Login throttling: growing waits after failed logins, per account and per client address.

An account gets five free attempts, then waits 1, 2, 4 ... seconds between attempts, at most a
minute; an address gets twenty, then waits up to five minutes. While a wait runs, every attempt
is refused before the password is checked, the right one included, so guessing gets no faster by
trying harder. A real user is never locked out for longer than a minute by someone guessing their
password from elsewhere, and a successful login clears the account's count. Failures are
forgotten fifteen minutes after the last one.

Only public client addresses are counted: behind a reverse proxy every request seems to come from
the proxy's private address, and counting that would let one guesser slow everyone down (the
per-account limit still applies). Counts live in Redis (the quick client). Without Redis logins
are not throttled rather than refused: an outage must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging

from redis.exceptions import RedisError

from flowapp.extensions import redis_failed, redis_quick, redis_usable

log = logging.getLogger("flowapp.auth")

PREFIX = "flowapp:login:"
FORGET_AFTER = 15 * 60
# (free attempts, longest wait in seconds)
ACCOUNT = (5, 60)
ADDRESS = (20, 300)

# KEYS: count, wait. ARGV: free attempts, longest wait, forget after. Counts a failure and starts
# the wait it earns; returns the wait in seconds.
_FAILED = """
local count = redis.call('incr', KEYS[1])
redis.call('expire', KEYS[1], ARGV[3])
local over = count - tonumber(ARGV[1])
if over <= 0 then return 0 end
local wait = math.min(tonumber(ARGV[2]), 2 ^ (over - 1))
redis.call('set', KEYS[2], '1', 'PX', math.floor(wait * 1000))
return wait
"""


def wait_seconds(email: str, address: str | None) -> int:
    """Seconds before this account may try again from this address (0: now)."""
    if not redis_usable():
        return 0
    try:
        left = [redis_quick().pttl(_keys(kind, key)[1]) for kind, key in _subjects(email, address)]
    except (RedisError, OSError):
        redis_failed()
        return 0
    return max((-(-ms // 1000) for ms in left if ms > 0), default=0)


def failed(email: str, address: str | None) -> int:
    """Record a failed login; returns the wait it started (0 while attempts are free)."""
    if not redis_usable():
        return 0
    waits = []
    try:
        script = redis_quick().register_script(_FAILED)
        for kind, key in _subjects(email, address):
            free, longest = ACCOUNT if kind == "account" else ADDRESS
            waits.append(int(script(keys=list(_keys(kind, key)), args=[free, longest, FORGET_AFTER])))
    except (RedisError, OSError):
        redis_failed()
        return 0
    return max(waits, default=0)


def succeeded(email: str) -> None:
    """A successful login clears the account's failures (not the address's: an attacker could
    otherwise log in to an account of their own to reset it)."""
    try:
        redis_quick().delete(*_keys("account", _account(email)))
    except (RedisError, OSError):
        redis_failed()


def _subjects(email: str, address: str | None):
    yield "account", _account(email)
    if address and _public(address):
        yield "address", address


def _public(address: str) -> bool:
    """Whether an address names one client. Behind a proxy every request comes from the proxy's
    (private or loopback) address: counting it would let one guesser slow everyone down."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_global


def _account(email: str) -> str:
    # Hashed: the key names no one's address, in Redis or in its logs.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _keys(kind: str, key: str) -> tuple[str, str]:
    return f"{PREFIX}{kind}:{key}:count", f"{PREFIX}{kind}:{key}:wait"
