"""Groups and segments in a real browser: build "tag is vip and last inbound within 30 days" in the
segment editor and watch the live count follow each change, then save it and open its contacts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from flowapp.models import utcnow
from flowapp.services import groups
from tests import factories
from tests.browser_support import docs_screenshot, settled

pytestmark = pytest.mark.browser


def seed(stack) -> None:
    """Three VIPs (two wrote this month) and two other customers."""
    now = utcnow()
    with stack.app.app_context():
        factories.make_contact("351910000001", profile_name="Ana VIP", tags=["vip"], last_inbound_at=now)
        factories.make_contact(
            "351910000002", profile_name="Bea VIP", tags=["vip"], last_inbound_at=now - timedelta(days=5)
        )
        factories.make_contact(
            "351910000003", profile_name="Cid VIP", tags=["vip"], last_inbound_at=now - timedelta(days=90)
        )
        factories.make_contact("351910000004", profile_name="Dora", tags=[], last_inbound_at=now)
        factories.make_contact("351910000005", profile_name="Edu", tags=["shop"])
        db.session.commit()


def test_build_a_segment_with_a_live_count(logged_in_page, live_stack):
    """Each change to the conditions updates the count; saving lists the segment with its count."""
    seed(live_stack)
    page = logged_in_page
    page.goto(f"{live_stack.url}/contacts/")
    page.click("text=Groups and segments")
    page.click("text=New segment")
    page.wait_for_url("**/contacts/groups/segments/new")
    count = page.locator("#segment-count [data-count]")

    page.fill("#segment-name", "Recent VIPs")
    page.fill("#c-0-value", "vip")
    expect(count).to_have_text("3")
    expect(page.locator("#segment-count .sample-name")).to_have_count(3)

    page.click("button.add-condition")
    expect(page.locator(".segment-row")).to_have_count(2)
    settled(page)
    page.select_option("#c-1-kind", "last_inbound")
    expect(page.locator("#c-1-op option")).to_have_count(3)
    settled(page)
    page.fill("#c-1-value", "30")
    expect(count).to_have_text("2")
    expect(page.locator("#segment-count")).to_contain_text("Ana VIP")
    expect(page.locator("#segment-count")).not_to_contain_text("Cid VIP")
    page.fill("#c-1-value", "3")
    expect(count).to_have_text("1")
    page.fill("#c-1-value", "30")
    expect(count).to_have_text("2")
    docs_screenshot(page, "pages", "segment-editor")

    page.click("button:text('Save segment')")
    page.wait_for_url("**/contacts/groups")
    row = page.locator("tr", has_text="Recent VIPs")
    expect(row.locator(".count")).to_have_text("2")
    row.locator("a", has_text="Recent VIPs").click()
    expect(page).to_have_url(re.compile(r".*/contacts/\?group=\d+"))
    expect(page.locator("#contact-list tbody tr[data-contact-id]")).to_have_count(2)


def test_delete_asks_first_and_refuses_a_group_in_use(logged_in_page, live_stack):
    """Deleting asks for confirmation; a group a segment uses stays, with why."""
    with live_stack.app.app_context():
        fair = groups.create_static("Fair")
        groups.create_segment("In fair", {"conditions": [{"kind": "group", "op": "in", "value": fair.id}]})
        db.session.commit()
    page = logged_in_page
    page.goto(f"{live_stack.url}/contacts/groups")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="Fair").first.locator("button", has_text="Delete").click()
    expect(page.locator(".notice.error")).to_contain_text("The segment “In fair” refers to it")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="In fair").locator("button", has_text="Delete").click()
    expect(page.locator("tr", has_text="In fair")).to_have_count(0)
    expect(page.locator("tr[data-group-id]")).to_have_count(1)
