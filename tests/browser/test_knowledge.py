"""Knowledge in a real browser: create a base, paste a text, try a question and see the passage
with its score; a question the base cannot answer says the step would take its unknown port."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_support import docs_screenshot, settled

pytestmark = pytest.mark.browser

SHIPPING = (
    "We ship to Portugal and Spain. Shipping costs 5 euros and takes two working days.\n\n"
    "Orders placed before 14:00 leave the warehouse the same day."
)


def test_paste_a_text_and_try_a_question(logged_in_page, live_stack):
    """A pasted text is searchable at once; the passage shows with its source and score."""
    page = logged_in_page
    page.goto(f"{live_stack.url}/automations/")
    page.click("nav.sidebar >> text=Knowledge")
    page.fill("#kb-name", "Support FAQ")
    page.fill("#kb-description", "What customers ask before buying")
    page.click("text=Add knowledge base")
    expect(page.locator("h1")).to_have_text("Support FAQ")

    page.fill("#kb-title", "Shipping")
    page.fill("#kb-text", SHIPPING)
    page.click("#kb-add-text button[type=submit]")
    expect(page.locator(".flash").first).to_contain_text("Added “Shipping”: 1 passage(s).")
    expect(page.locator("#kb-sources tbody tr")).to_have_count(1)
    expect(page.locator("#kb-sources .kb-status")).to_have_text("ready")

    page.fill("#kb-question", "How much does shipping to Spain cost?")
    page.click("#kb-try button[type=submit]")
    expect(page.locator("#kb-passages .kb-score")).to_have_text("1.00")
    expect(page.locator("#kb-passages blockquote")).to_contain_text("Shipping costs 5 euros")
    settled(page)
    docs_screenshot(page, "pages", "knowledge")

    page.fill("#kb-question", "Do you sell gift cards?")
    page.click("#kb-try button[type=submit]")
    expect(page.locator("#kb-passages .kb-unknown")).to_contain_text("unknown")
