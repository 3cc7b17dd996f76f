"""The cron syntax check used by schedule triggers."""

from __future__ import annotations

import pytest

from flowapp.engine.cron import cron_error


@pytest.mark.parametrize(
    "expression",
    ["0 9 * * 1", "*/15 8-18 * * mon-fri", "0 0 1 jan,jul *", "30 6 1-7 * 0", "@daily", "0 9 * * 7"],
)
def test_valid(expression):
    """Five fields with values, ranges, lists, steps and names; or a macro."""
    assert cron_error(expression) is None


@pytest.mark.parametrize(
    "expression,fragment",
    [
        ("0 9 * *", "5 fields"),
        ("60 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * * 8", "day of week"),
        ("5-1 * * * *", "backwards"),
        ("*/0 * * * *", "step"),
        ("@sometimes", "macro"),
        ("", "required"),
        ("a b c d e", "minute"),
    ],
)
def test_invalid(expression, fragment):
    """The message names the field that is wrong."""
    assert fragment in cron_error(expression)
