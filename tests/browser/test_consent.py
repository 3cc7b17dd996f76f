"""Opt-out end to end in a real browser against the live stack: the customer writes STOP through
Meta's signed webhook, a worker opts them out and sends the confirmation, the inbox shows it with
the history, and an agent opts them back in from the contact panel."""

import pytest
from playwright.sync_api import expect

from flowapp.services import consent
from tests.browser.test_inbox import LIVE, customer_says, open_conversation
from tests.browser_support import docs_screenshot, screenshot

pytestmark = pytest.mark.browser


def test_stop_from_the_phone_and_an_agent_opts_back_in(logged_in_page, live_stack):
    """STOP opts out and is confirmed; the panel lists it; unticking the box opts back in."""
    page = logged_in_page
    page.goto(f"{live_stack.url}/inbox/")
    customer_says(live_stack, **{"from": "15551110031", "name": "Inês", "text": "Arrêt"})
    open_conversation(page, live_stack, "Inês")
    expect(page.locator(".msg-out", has_text=consent.DEFAULT_OPT_OUT_REPLY)).to_be_visible(timeout=LIVE)
    panel = page.locator("#inbox-contact")
    expect(panel.locator(".consent-history")).to_contain_text("by writing “Arrêt”", timeout=LIVE)
    box = panel.locator('input[name="opted_out"]')
    expect(box).to_be_checked()
    box.uncheck()
    panel.get_by_role("button", name="Save contact").click()
    expect(panel.locator(".consent-history li").first).to_contain_text("Opted in")
    expect(panel.locator(".consent-history li").first).to_contain_text("in the inbox")
    expect(panel.locator('input[name="opted_out"]')).not_to_be_checked()
    screenshot(page, "inbox-consent-history")

    page.goto(f"{live_stack.url}/settings/#consent")
    section = page.locator("#consent")
    expect(section.locator("textarea").first).to_be_visible()
    section.scroll_into_view_if_needed()
    docs_screenshot(page, "pages", "settings-opt-out")
