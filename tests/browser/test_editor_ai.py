"""The AI nodes in the editor (Chromium, live stack, fake model): build a Classify node from the
palette with its category rows, see one port per category plus other and failure, and chat with it
in the simulator, which makes the model call for real.

Screenshots: test-artifacts/screenshots/editor-classify-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_editor import connect, create_empty, drop, form_open, node, save_now, settings_saved
from tests.browser_support import screenshot, settled

pytestmark = pytest.mark.browser


def test_build_a_classify_node_and_simulate_it(logged_in_page, live_stack):
    """Categories added by the form become ports; the simulator's answer takes the right one."""
    page = logged_in_page
    create_empty(page, live_stack, "Triage", keyword="refund")
    drop(page, "classify", 330, 110)
    form_open(page, "classify")
    page.fill("#f-c-categories-0-name", "refund")
    page.fill("#f-c-categories-0-description", "money back, a return")
    page.click('button[data-op="add:categories"]')
    expect(page.locator("#f-c-categories-1-name")).to_be_visible()
    settled(page)
    page.fill("#f-c-categories-1-name", "delivery")
    page.fill("#f-c-categories-1-description", "where is my parcel")
    settings_saved(page)
    ports = node(page, "classify").locator(".output")
    expect(ports).to_have_count(4)
    assert [ports.nth(i).get_attribute("data-port") for i in range(4)] == [
        "refund",
        "delivery",
        "other",
        "failure",
    ]
    drop(page, "send_text", 120, 360)
    form_open(page, "send_text")
    page.fill("#f-c-text", "Refund, sure ({{ vars.classification.confidence }})")
    settings_saved(page)
    connect(page, "start", "next", "classify")
    connect(page, "classify", "refund", "send_text")
    save_now(page)
    screenshot(page, "editor-classify-built")

    page.click("#tab-simulator")
    settled(page)
    page.fill("#sim-first", "I want my money back")
    page.click(".sim-start button.primary")
    expect(page.locator(".sim-business").last).to_contain_text("Refund, sure (0.99)")
    expect(page.locator("#sim-status")).to_have_text("completed")
    expect(page.locator(".sim")).to_contain_text('The model answered: {"category": "refund"')
    screenshot(page, "editor-classify-simulator")
