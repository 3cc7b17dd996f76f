"""The tests a condition node's cases apply: equals, contains any word, number compare, has tag..."""

from __future__ import annotations

import operator
import re
from datetime import date, datetime

from flowapp.engine.text import compile_regex, normalize, word_list, words

OPERATORS = (
    "equals",
    "not_equals",
    "contains_any",
    "starts_with",
    "regex",
    "lt",
    "lte",
    "gt",
    "gte",
    "between",
    "empty",
    "not_empty",
    "in_list",
    "has_tag",
)
WITHOUT_VALUE = frozenset({"empty", "not_empty"})
WITHOUT_LEFT = frozenset({"has_tag"})
WITH_VALUE2 = frozenset({"between"})
_NUMERIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_COMPARE = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}


def as_number(value: object) -> float | None:
    """A number from an int, a float or a numeric text ("12", "12,5"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMERIC.match(value.strip()):
        return float(value.strip().replace(",", "."))
    return None


def as_date(value: object) -> date | None:
    """A date from a date, a datetime (its date) or an ISO text; None otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _comparable(left: object, right: object) -> tuple | None:
    numbers = as_number(left), as_number(right)
    if None not in numbers:
        return numbers
    dates = as_date(left), as_date(right)
    return dates if None not in dates else None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return " ".join(_text(item) for item in value)
    return str(value)


def is_empty(value: object) -> bool:
    """None, blank text and empty lists or objects are empty; 0 and False are values."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list | tuple | dict | set):
        return not value
    return False


def _equals(left: object, value: object) -> bool:
    numbers = as_number(left), as_number(value)
    if None not in numbers:  # "12" equals 12 and "12.0"
        return numbers[0] == numbers[1]
    return normalize(_text(left)) == normalize(_text(value))


def matches(
    op: str, left: object, value: object = None, value2: object = None, tags: list | None = None
) -> bool:
    """Whether `left` passes `op` against `value` (and `value2` for between); text is compared
    case- and accent-insensitively. Raises re.error for a bad regex and ValueError for an unknown op."""
    if op == "empty":
        return is_empty(left)
    if op == "not_empty":
        return not is_empty(left)
    if op == "equals":
        return _equals(left, value)
    if op == "not_equals":
        return not _equals(left, value)
    if op == "contains_any":
        return bool(set(word_list(value)) & set(words(_text(left))))
    if op == "starts_with":
        prefix = normalize(_text(value))
        return bool(prefix) and normalize(_text(left)).startswith(prefix)
    if op == "regex":
        return compile_regex(_text(value)).search(normalize(_text(left))) is not None
    if op in _COMPARE:
        pair = _comparable(left, value)
        return pair is not None and _COMPARE[op](*pair)
    if op == "between":
        low, high = _comparable(left, value), _comparable(left, value2)
        return low is not None and high is not None and low[1] <= low[0] <= high[1]
    if op == "in_list":
        options = value if isinstance(value, list) else _text(value).split(",")
        return normalize(_text(left)) in {normalize(_text(option)) for option in options}
    if op == "has_tag":
        wanted = normalize(_text(value))
        return any(normalize(tag) == wanted for tag in tags or ())
    raise ValueError(f"unknown condition operator {op!r}")
