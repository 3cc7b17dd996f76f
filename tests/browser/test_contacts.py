"""The contacts page in a real browser against the live stack: search, filter, page by cursor, select
a page and tag it, with HTMX swapping the list and the address bar following."""

import re

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from tests import factories
from tests.browser_support import docs_screenshot, settled

pytestmark = pytest.mark.browser


def seed(stack) -> None:
    """55 customers tagged "shop" (more than a page) and Ana, a VIP from Porto."""
    with stack.app.app_context():
        for n in range(55):
            factories.make_contact(f"4477009{n:05d}", profile_name=f"Shopper {n}", tags=["shop"])
        factories.make_contact(
            "351912345678", profile_name="Ana Lima", tags=["vip"], fields={"city": "Porto"}
        )
        db.session.commit()


def test_search_filter_page_select_and_tag(logged_in_page, live_stack):
    """Search by a formatted number, filter by tag, go to the next page, select it all and tag it."""
    seed(live_stack)
    page = logged_in_page
    page.click("nav >> text=Contacts")
    page.wait_for_url("**/contacts/")
    rows = page.locator("#contact-list tbody tr[data-contact-id]")
    expect(rows).to_have_count(50)

    page.fill("#contact-search", "+351 912 345 678")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".number")).to_have_text("+351 912 345 678")
    page.fill("#contact-search", "porto")
    expect(rows.first.locator(".name")).to_have_text("Ana Lima")

    page.fill("#contact-search", "")
    page.select_option("#filter-tag", "shop")
    expect(page).to_have_url(re.compile(r".*tag=shop"))
    expect(rows).to_have_count(50)
    page.click("#contact-list a.next")
    expect(page).to_have_url(re.compile(r".*tag=shop.*after=\d+"))
    expect(rows).to_have_count(5)
    settled(page)

    page.check("#contact-list .select-page")
    expect(page.locator('#contact-list input[name="ids"]:checked')).to_have_count(5)
    page.fill("#bulk-tag", "spring")
    page.click("#contact-list button:text('Add tag')")
    expect(page.locator("#contact-list .notice")).to_have_text("5 contacts tagged.")
    expect(rows).to_have_count(5)  # still the second page of the "shop" filter
    expect(page.locator("#contact-list .label", has_text="spring")).to_have_count(5)
    docs_screenshot(page, "pages", "contacts")

    page.click("#contact-list a.first")
    expect(rows).to_have_count(50)
    expect(page.locator("#contact-list .label", has_text="spring")).to_have_count(0)

    # Every page of the filter: tick the page, then "Select all that match"; a row unticked goes back.
    page.check("#contact-list .select-page")
    banner = page.locator("#contact-list .select-all")
    expect(banner).to_be_visible()
    banner.get_by_role("button", name="Select all that match these filters").click()
    expect(banner).to_contain_text("All 55 contacts that match these filters are selected.")
    page.fill("#bulk-tag", "autumn")
    page.click("#contact-list button:text('Add tag')")
    expect(page.locator("#contact-list .notice")).to_have_text("55 contacts tagged.")
    page.click("#contact-list a.next")
    expect(page.locator("#contact-list .label", has_text="autumn")).to_have_count(5)
    settled(page)
    page.check("#contact-list .select-page")
    page.locator("#contact-list .select-all button").click()
    expect(page.locator('#contact-list input[name="all_matching"]')).to_have_count(1)
    page.locator('#contact-list input[name="ids"]').first.uncheck()
    expect(page.locator('#contact-list input[name="all_matching"]')).to_have_count(0)
    expect(banner).to_be_hidden()
