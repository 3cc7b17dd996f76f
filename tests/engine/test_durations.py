"""parse_duration: seconds, or text with s/m/h/d/w units."""

from __future__ import annotations

import pytest

from flowapp.engine import parse_duration
from flowapp.engine.durations import describe


@pytest.mark.parametrize(
    "value,seconds",
    [
        (90, 90),
        (1, 1),
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


@pytest.mark.parametrize("value", [0, "0", "0s", "00m", "0h0m", " 0 "])
def test_zero_is_refused_however_it_is_written(value):
    """One rule for every way of writing a duration: at least one second."""
    with pytest.raises(ValueError, match="must be at least 1 second"):
        parse_duration(value)


def test_the_validator_says_the_same_for_0_and_0s():
    """A wait's timeout of 0 and of "0s" get the same error from the validator."""
    from flowapp.engine import validate

    messages = []
    for timeout in (0, "0s"):
        graph = {
            "spec_version": 2,
            "nodes": [
                {"id": "start", "type": "start", "config": {}},
                {"id": "ask", "type": "wait_reply", "config": {"variable": "answer", "timeout": timeout}},
            ],
            "edges": [{"from": "start", "port": "next", "to": "ask"}],
        }
        found = [i for i in validate(graph) if i.node == "ask" and i.field == "timeout"]
        assert len(found) == 1, found
        messages.append(found[0].message.split(" (got")[0])
    assert messages[0] == messages[1] == "must be at least 1 second"


def test_describe():
    """A short human form, used in validator messages."""
    assert [describe(s) for s in (0, 90, 86400, 93784, 1209600)] == ["0s", "1m30s", "1d", "1d2h3m4s", "2w"]
