"""A sending rate limit shared by every worker, in Redis: at most N sends in any 1-second window.

A sliding log (a sorted set of grant times, trimmed on each call) rather than a token bucket: a bucket
allows a burst of N at the end of one second and N more at the start of the next, 2N inside one
window. The script reads Redis's own clock, so workers on machines with skewed clocks agree.
"""

from __future__ import annotations

import time
import uuid

from redis import Redis

WINDOW_MS = 1000
# Grants are spread a little wider than one second: a request granted at the very end of a window
# reaches Meta a few milliseconds later, and arrival times are what Meta counts. Senders take a
# grant right before each request, so the gap is one request's latency.
MARGIN_MS = 25

_ACQUIRE = """
redis.replicate_commands()
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local grant = math.min(want, limit - used)
if grant > 0 then
  for i = 1, grant do
    redis.call('ZADD', KEYS[1], now, ARGV[4] .. ':' .. i)
  end
  redis.call('PEXPIRE', KEYS[1], window * 2)
end
local wait = 0
if grant < want then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if oldest[2] then wait = tonumber(oldest[2]) + window - now end
end
return {math.max(grant, 0), wait}
"""


class RateLimiter:
    """At most `rate` grants in any window of one second, for one key (a phone number)."""

    def __init__(self, redis: Redis, key: str, rate: int):
        if rate < 1:
            raise ValueError("rate must be at least 1 per second")
        self.redis = redis
        self.key = f"flowapp:ratelimit:{key}"
        self.rate = rate
        self._script = redis.register_script(_ACQUIRE)

    def try_acquire(self, count: int) -> tuple[int, float]:
        """Take up to `count` grants now. Returns (granted, seconds until more are free)."""
        granted, wait_ms = self._script(
            keys=[self.key], args=[WINDOW_MS + MARGIN_MS, self.rate, count, uuid.uuid4().hex]
        )
        return int(granted), max(0, int(wait_ms)) / 1000

    def acquire(self, count: int, timeout: float = 30.0) -> int:
        """Take between 1 and `count` grants, waiting for the window to free up. 0 after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            granted, wait = self.try_acquire(count)
            if granted:
                return granted
            if time.monotonic() + wait > deadline:
                return 0
            time.sleep(max(wait, 0.001))
