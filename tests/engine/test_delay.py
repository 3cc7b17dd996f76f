"""Delays until a local time of day, across daylight-saving changes (zoneinfo)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from flowapp.engine import start
from flowapp.engine.nodes.flow import next_local_time
from tests.engine.helpers import context, graph, node

MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "now,hhmm,zone,expected",
    [
        # Later today, and exactly now (strictly after: tomorrow).
        ("2026-01-10T07:00", "09:00", MADRID, "2026-01-10T08:00"),
        ("2026-01-10T08:00", "09:00", MADRID, "2026-01-11T08:00"),
        # Madrid springs forward on 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC after.
        ("2026-03-28T09:00", "09:00", MADRID, "2026-03-29T07:00"),
        # 02:30 does not exist that night: the wall clock jumps from 02:00 to 03:00.
        ("2026-03-28T12:00", "02:30", MADRID, "2026-03-29T01:30"),
        # Madrid falls back on 25 October 2026: 09:00 is 07:00 UTC before, 08:00 UTC after.
        ("2026-10-24T09:00", "09:00", MADRID, "2026-10-25T08:00"),
        # 02:30 happens twice that night: the first one (still summer time) is taken.
        ("2026-10-24T12:00", "02:30", MADRID, "2026-10-25T00:30"),
        # New York springs forward on 8 March 2026.
        ("2026-03-07T20:00", "09:00", NEW_YORK, "2026-03-08T13:00"),
        ("2026-03-06T20:00", "09:00", NEW_YORK, "2026-03-07T14:00"),
    ],
)
def test_next_local_time(now, hhmm, zone, expected):
    """The next moment the local clock shows hh:mm, in UTC."""
    assert next_local_time(utc(now), hhmm, zone) == utc(expected)


def deadline(config: dict, **ctx) -> str:
    document = graph([node("d", "delay", **config)], [["start", "next", "d"]])
    result = start(document, context(**ctx), utc("2026-03-28T09:00"))
    assert result.status == "waiting"
    return result.state.wait["deadline"]


def test_the_account_time_zone_is_the_default():
    """Without timezone, until uses the account's zone."""
    assert deadline({"until": "09:00"}) == "2026-03-29T07:00:00+00:00"


def test_the_contact_time_zone():
    """timezone contact uses the contact's zone (America/Lima is UTC-5, no DST)."""
    assert deadline({"until": "09:00", "timezone": "contact"}) == "2026-03-28T14:00:00+00:00"


def test_a_bad_contact_zone_falls_back_to_the_account():
    """An unknown contact zone falls back to the account's, then to UTC."""
    assert deadline({"until": "09:00", "timezone": "contact"}, contact={"timezone": "Mars/Base"}) == (
        "2026-03-29T07:00:00+00:00"
    )
    assert deadline(
        {"until": "09:00", "timezone": "contact"}, contact={"timezone": None}, account_timezone=None
    ) == ("2026-03-29T09:00:00+00:00")


def test_a_duration_ignores_the_clock_change():
    """A duration is elapsed time: 24h from Saturday 09:00 UTC is Sunday 09:00 UTC, DST or not."""
    assert deadline({"seconds": "1d"}) == "2026-03-29T09:00:00+00:00"
