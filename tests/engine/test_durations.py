"""parse_duration: seconds, or text with s/m/h/d/w units."""

from __future__ import annotations

import pytest

from flowapp.engine import parse_duration
from flowapp.engine.durations import describe


@pytest.mark.parametrize(
    "value,seconds",
    [
        (90, 90),
        (0, 0),
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("2h", 7200),
        ("3d", 259200),
        ("1w", 604800),
        ("1h30m", 5400),
        (" 1d 12h ", 129600),
    ],
)
def test_durations(value, seconds):
    """Integers are seconds; text combines units."""
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "5y", "1.5h", "-5m", -1, True, None, 1.5, "h"])
def test_bad_durations(value):
    """Anything else is a ValueError."""
    with pytest.raises(ValueError):
        parse_duration(value)


def test_describe():
    """A short human form, used in validator messages."""
    assert [describe(s) for s in (0, 90, 86400, 93784, 1209600)] == ["0s", "1m30s", "1d", "1d2h3m4s", "2w"]
