"""Durations in node settings: integer seconds, or text like "90s", "15m", "2h", "3d", "1w", "1h30m"."""

from __future__ import annotations

import re

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PATTERN = r"^\s*(?:\d+\s*[smhdw]\s*)+$|^\s*\d+\s*$"
_PART = re.compile(r"(\d+)\s*([smhdw])")
_WHOLE = re.compile(PATTERN)
DAY = UNITS["d"]
MINIMUM = 1


def parse_duration(value: int | str) -> int:
    """Seconds in `value`: an integer, "90" (seconds), or units s/m/h/d/w, combinable ("1h30m").

    The one rule for every duration a graph holds, whichever way it is written: at least one
    second (0, "0" and "0s" alike are refused). Raises ValueError for anything else, including
    booleans.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a duration (use seconds or text like 15m, 2h, 3d)")
    if isinstance(value, str) and not _WHOLE.match(value):
        raise ValueError(f"{value!r} is not a duration (use seconds or text like 15m, 2h, 3d)")
    if isinstance(value, int):
        seconds = value
    elif value.strip().isdigit():
        seconds = int(value)
    else:
        seconds = sum(int(amount) * UNITS[unit] for amount, unit in _PART.findall(value))
    if seconds < MINIMUM:
        raise ValueError(f"must be at least {MINIMUM} second (got {value!r})")
    return seconds


def seconds_or_none(value: object) -> int | None:
    """parse_duration, or None when `value` is missing or not a duration (for the validator's passes)."""
    if value is None:
        return None
    try:
        return parse_duration(value)  # type: ignore[arg-type]
    except ValueError:
        return None


def describe(seconds: int) -> str:
    """A short human form of a duration: 90 -> "1m30s", 86400 -> "1d"."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        amount, seconds = divmod(seconds, UNITS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)
