"""Typed custom contact fields: how a value is read for a declared type (text, number, date, choice).

Pure, so one set of rules serves every writer: the services hold the API, forms and CSV imports to
it, and the Update contact node checks literal values when a graph is validated and rendered values
while it runs. The host passes declarations as {key: {"type": ..., "choices": [...]}}; a key that is
not declared keeps the old untyped rules (as RapidPro flows create fields on the fly).

Decisions, for people and for the code below:
- An empty value (None, or only spaces) means "no value": it clears the field.
- A number is an integer or a decimal with a dot ("1.5"). A comma is refused, not guessed: "1,500"
  is a thousand and five hundred in one country and one and a half in another. At most 15 digits,
  so the value survives JSON readers that use doubles. Stored as a JSON number.
- A date is written YYYY-MM-DD and stored as that text.
- A choice matches one of the declared choices ignoring case and surrounding spaces, and is stored
  spelt as declared.
- A text is at most 1000 characters; a number given for a text field is stored as its text.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

FIELD_TYPES = ("text", "number", "date", "choice")
MAX_TEXT = 1000
MAX_DIGITS = 15
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def coerce(spec: dict, value: object) -> str | int | float | None:
    """The value to store for a field declared as `spec`, or None for an empty one (clear the field).

    Raises ValueError whose message says, for people, why the value does not fit.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = spec.get("type")
    if kind not in _READERS:
        raise ValueError(f"unknown field type {kind!r}")
    return _READERS[kind](value, spec)


def fits(spec: dict, value: object) -> bool:
    """Whether `value` can be stored in a field declared as `spec`."""
    try:
        coerce(spec, value)
    except ValueError:
        return False
    return True


def is_literal(value: str) -> bool:
    """Whether a setting is plain text (the same at every run), not a template to render."""
    return not any(mark in value for mark in ("{{", "{%", "{#"))


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def _text(value: object, spec: dict) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be text")
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"at most {MAX_TEXT} characters")
    return text


def _number(value: object, spec: dict) -> int | float:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        number = _parse_number(value.strip())
    else:
        raise ValueError("must be a number")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("must be a finite number")
    if abs(number) >= 10**MAX_DIGITS:
        raise ValueError(f"at most {MAX_DIGITS} digits before the decimal point")
    return number


def _parse_number(text: str) -> int | float:
    if "," in text and _NUMBER.fullmatch(text.replace(",", "")):
        raise ValueError(f"{_shown(text)}: write decimals with a dot (1.5) and no thousands separators")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{_shown(text)} is not a number (like 42 or -1.5)")
    if sum(c.isdigit() for c in text) > MAX_DIGITS + 6:
        raise ValueError(f"{_shown(text)} has too many digits")
    return float(text) if "." in text else int(text)


def _date(value: object, spec: dict) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else ""
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(f"{_shown(text)} is not a day of the calendar") from None
    raise ValueError(f"{_shown(value)} is not a date: write it as YYYY-MM-DD (like 2026-12-07)")


def _choice(value: object, spec: dict) -> str:
    choices = list(spec.get("choices") or [])
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"must be one of: {_listed(choices)}")
    wanted = str(value).strip().casefold()
    for choice in choices:
        if choice.strip().casefold() == wanted:
            return choice
    raise ValueError(f"{_shown(str(value).strip())} is not one of the choices: {_listed(choices)}")


def _listed(choices: list[str]) -> str:
    shown = ", ".join(choices[:10])
    return shown + (f" (and {len(choices) - 10} more)" if len(choices) > 10 else "")


_READERS = {"text": _text, "number": _number, "date": _date, "choice": _choice}
