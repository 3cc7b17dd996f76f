"""Analytics in a real browser: the server-drawn chart shows, the range form works, CSV downloads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowapp.extensions import db
from flowapp.models import Message, utcnow
from flowapp.services import maintenance
from tests import factories
from tests.browser_support import screenshot

pytestmark = pytest.mark.browser


def seed(app) -> None:
    """A week of conversations on the live database, rolled up."""
    with app.app_context():
        now = utcnow()
        for day in range(7):
            conversation = factories.make_conversation(factories.make_contact(wa_id=f"155512300{day:02d}"))
            at = now - timedelta(days=day, hours=1)
            for n in range(day + 2):
                db.session.add(
                    Message(
                        conversation=conversation, direction="in", status="received", created_at=at, text="hi"
                    )
                )
                db.session.add(
                    Message(
                        conversation=conversation,
                        direction="out",
                        status="failed" if n == 0 else "read",
                        error_code=131047 if n == 0 else None,
                        author_type="run",
                        created_at=at + timedelta(seconds=20 + n),
                    )
                )
        db.session.commit()
        maintenance.aggregate_analytics(days=8)
        db.session.commit()


def test_analytics_page(logged_in_page, live_stack):
    """The chart has a bar per day and direction; a 7-day range and the CSV export work."""
    seed(live_stack.app)
    page = logged_in_page
    page.goto(f"{live_stack.url}/analytics/")
    assert page.locator("svg.chart rect").count() == 60
    assert int(page.locator("#total-in").inner_text()) == sum(d + 2 for d in range(7))
    page.click("text=7 days")
    page.wait_for_url("**from=*")
    assert page.locator("svg.chart rect").count() == 14
    screenshot(page, "analytics")
    with page.expect_download() as download:
        page.click("text=Export CSV")
    assert download.value.suggested_filename.endswith(".csv")


def test_refresh_now_shows_new_messages_at_once(logged_in_page, live_stack):
    """A message the hourly roll-up has not counted yet shows after "Refresh now", on the same range."""
    with live_stack.app.app_context():
        conversation = factories.make_conversation(factories.make_contact(wa_id="15551239999"))
        db.session.add(Message(conversation=conversation, direction="in", status="received", text="hi"))
        db.session.commit()
    page = logged_in_page
    page.click("nav >> text=Analytics")
    page.click("text=7 days")
    page.wait_for_url("**from=*")
    range_url = page.url
    assert page.locator("#total-in").inner_text() == "0"
    page.get_by_role("button", name="Refresh now").click()
    page.wait_for_selector(".flash >> text=Figures rolled up just now")
    assert page.url == range_url
    assert page.locator("#total-in").inner_text() == "1"
    assert "last at" in page.locator("#rolled-up").inner_text()
