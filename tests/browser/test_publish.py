"""The first hour in Chromium: create a keyword automation from the list, add a text, publish it at
once (no confirmation, no error in the console); a real risk (a reply nothing answers) asks first.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_editor import connect, drop, form_open, save_now, settings_saved, stored
from tests.browser_support import EDITOR_READY, screenshot

pytestmark = pytest.mark.browser


def watch(page) -> tuple[list[str], list[int]]:
    """Every console error (a failed request included) and the status of every publish answer."""
    errors: list[str] = []
    statuses: list[int] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/publish") else None)
    return errors, statuses


def test_the_create_form_asks_for_the_trigger(logged_in_page, live_stack):
    """The keyword field shows for a keyword trigger (the default) only, and the trigger only for an
    empty canvas: an example brings its own."""
    page = logged_in_page
    page.goto(f"{live_stack.url}/automations/")
    expect(page.locator("#new-trigger")).to_have_value("keyword")
    expect(page.locator("#new-keyword")).to_be_visible()
    page.select_option("#new-trigger", "manual")
    expect(page.locator("#new-keyword")).to_be_hidden()
    page.select_option("#new-trigger", "keyword")
    expect(page.locator("#new-keyword")).to_be_visible()
    page.select_option("#new-example", "keyword_menu")
    expect(page.locator("#new-trigger")).to_be_hidden()
    expect(page.locator("#new-keyword")).to_be_hidden()
    page.select_option("#new-example", "")
    expect(page.locator("#new-trigger")).to_be_visible()
    screenshot(page, "automations-create")


def test_a_keyword_and_a_text_publish_without_a_question(logged_in_page, live_stack):
    """Create a keyword automation from the list, add a send-text node, publish: no confirmation, no
    console error, the status becomes active. A wait whose reply leads nowhere then asks first."""
    page = logged_in_page
    errors, statuses = watch(page)
    page.goto(f"{live_stack.url}/automations/")
    page.fill("#new-name", "Hello bot")
    page.fill("#new-keyword", "hello")
    page.click("form[action$='/new'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/automations/\d+/edit$"))
    page.wait_for_selector(EDITOR_READY, state="attached")
    automation_id = int(re.search(r"/automations/(\d+)/edit", page.url).group(1))
    expect(page.locator("#trigger-summary")).to_have_text('Keyword "hello" (first word)')

    drop(page, "send_text", 330, 110)
    form_open(page, "send_text")
    page.fill("#f-c-text", "Hello! We open from 9 to 17.")
    settings_saved(page)
    connect(page, "start", "next", "send_text")
    save_now(page)
    page.click('[data-action="publish"]')
    expect(page.locator("#toast")).to_contain_text("Published version 1")
    expect(page.locator("#automation-status")).to_have_text("active")
    expect(page.locator("#publish-dialog")).not_to_have_attribute("open", "")
    assert stored(live_stack, automation_id).status == "active"
    assert statuses == [200] and errors == []

    # A question whose reply leads nowhere is a real risk: publishing asks, with a 200, not an error.
    drop(page, "wait_reply", 330, 330)
    form_open(page, "wait_reply")
    connect(page, "send_text", "next", "wait_reply")
    save_now(page)
    page.click('[data-action="publish"]')
    expect(page.locator("#publish-dialog")).to_have_attribute("open", "")
    expect(page.locator("#publish-warnings")).to_contain_text('wait_reply: nothing is connected to "reply"')
    page.click('[data-action="publish-confirm"]')
    expect(page.locator("#toast")).to_contain_text("Published version 2")
    assert statuses == [200, 200, 200] and errors == []
