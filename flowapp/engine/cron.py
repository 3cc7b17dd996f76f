"""A syntax check for the five-field cron expressions of schedule triggers.

The scheduler (a service) computes the next times with croniter; the engine only has to say, while
the user is typing, whether an expression is valid and which field is wrong.
"""

from __future__ import annotations

import re

MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names for the values from `lowest` on)
FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("day of week", 0, 7, DAYS),
)
_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


def _value(token: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if token in names:
        return names.index(token) + low
    if token.isdigit() and low <= int(token) <= high:
        return int(token)
    return None


def _field_error(text: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            return f"{item!r} is not a value, a range or a step"
        span, step = match.groups()
        if step is not None and int(step) == 0:
            return "a step cannot be 0"
        if span == "*":
            continue
        bounds = [_value(token, low, high, names) for token in span.split("-")]
        if None in bounds:
            return f"{span!r} is outside {low}-{high}"
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            return f"the range {span!r} runs backwards"
    return None


def cron_error(expression: object) -> str | None:
    """Why `expression` is not a valid cron expression ("m h dom mon dow" or a macro), or None."""
    if not isinstance(expression, str) or not expression.strip():
        return "a cron expression is required"
    text = expression.strip().lower()
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {text!r}"
    parts = text.split()
    if len(parts) != 5:
        return f"a cron expression has 5 fields (minute hour day month weekday), not {len(parts)}"
    for part, (name, low, high, names) in zip(parts, FIELDS, strict=True):
        problem = _field_error(part, low, high, names)
        if problem:
            return f"{name}: {problem}"
    return None
