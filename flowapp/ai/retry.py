"""When to try a model call again, and how long to wait first."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

BACKOFF_BASE = 0.5  # seconds before the second attempt; doubled for each one after
BACKOFF_CAP = 8.0


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds asked for by a Retry-After header: a number of seconds or an HTTP date; None if absent
    or unreadable. A date in the past means 0."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff(attempt: int, retry_after: float | None, base: float = BACKOFF_BASE) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based): exponential, or the
    provider's Retry-After when it asks for longer."""
    delay = min(BACKOFF_CAP, base * 2 ** (attempt - 1))
    return max(delay, retry_after) if retry_after is not None else delay
