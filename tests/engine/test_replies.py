"""wait_reply's checks: number, email, phone, date, regex."""

from __future__ import annotations

import pytest

from flowapp.engine.nodes.waits import check_reply


@pytest.mark.parametrize(
    "kind,reply,value",
    [
        ("number", "42", 42),
        ("number", " -3 ", -3),
        ("number", "12.5", 12.5),
        ("number", "12,5", 12.5),
        ("number", "1 000", 1000),
        ("email", " ana@example.com ", "ana@example.com"),
        ("phone", "+34 600-11-22-33", "34600112233"),
        ("phone", "(01) 555 1234", "015551234"),
        ("date", "2026-03-05", "2026-03-05"),
        ("date", "05/03/2026", "2026-03-05"),
        ("date", "5.3.2026", "2026-03-05"),
        ("regex", "ABC-12", "ABC-12"),
    ],
)
def test_accepted(kind, reply, value):
    """Accepted replies, and the value saved for each."""
    assert check_reply(kind, reply, r"^[a-z]{3}-\d+$") == (True, value)


@pytest.mark.parametrize(
    "kind,reply",
    [
        ("number", "twelve"),
        ("number", "1e5"),
        ("number", ""),
        ("email", "ana@"),
        ("email", "ana example.com"),
        ("phone", "123"),
        ("phone", "call me at 600112233"),
        ("date", "31/02/2026"),
        ("date", "tomorrow"),
        ("regex", "abc"),
    ],
)
def test_refused(kind, reply):
    """Replies that fail the check."""
    assert check_reply(kind, reply, r"^[a-z]{3}-\d+$")[0] is False


def test_unknown_check():
    """An unknown kind is a programming error."""
    with pytest.raises(ValueError):
        check_reply("colour", "red")
