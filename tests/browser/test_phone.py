"""The phone simulator in Chromium: found from any page through the sandbox banner, and following the
conversation to its newest message like a phone (the bot's answer never sits below the fold)."""

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from flowapp.services import automations
from tests.browser_support import screenshot

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: the worker answers, the phone polls every second

ECHO = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {
            "id": "answer",
            "type": "send_text",
            "config": {
                "text": "Thanks for writing! Our team answers within the hour.\n\nOpening hours: 9-17."
            },
        },
    ],
    "edges": [{"from": "start", "port": "next", "to": "answer"}],
}


def _answering_bot(live_stack) -> None:
    with live_stack.app.app_context():
        bot = automations.create("Echo", trigger={"type": "any_message"}, graph=ECHO)
        automations.publish(bot)
        db.session.commit()


def _newest_in_view(page) -> bool:
    return page.evaluate(
        """() => {
            const thread = document.getElementById("phone-thread");
            const bubbles = thread.querySelectorAll(".bubble");
            const last = bubbles[bubbles.length - 1].getBoundingClientRect();
            const box = thread.getBoundingClientRect();
            return last.bottom <= box.bottom + 1 && last.top >= box.top - 1;
        }"""
    )


def test_the_banner_leads_to_the_phone_which_follows_new_messages(logged_in_page, live_stack):
    page = logged_in_page
    _answering_bot(live_stack)
    page.goto(f"{live_stack.url}/automations/")
    page.get_by_role("link", name="Open the phone simulator").click()
    expect(page.get_by_role("heading", name="Phone simulator")).to_be_visible()

    for number in range(1, 7):  # enough messages and answers to overflow the phone's screen
        page.fill("#phone-text", f"Question {number}")
        page.press("#phone-text", "Enter")
        answers = page.locator(".bubble-business")
        expect(answers).to_have_count(number, timeout=LIVE)
    assert page.evaluate(
        "document.getElementById('phone-thread').scrollHeight > "
        "document.getElementById('phone-thread').clientHeight"
    )  # it did overflow
    page.wait_for_function(
        """() => {
            const t = document.getElementById("phone-thread");
            return t.scrollHeight - t.scrollTop - t.clientHeight < 2;
        }"""
    )
    assert _newest_in_view(page)
    screenshot(page, "phone-follows")

    # Someone reading further up is left there while the phone keeps polling.
    page.evaluate("document.getElementById('phone-thread').scrollTop = 0")
    page.evaluate(  # one more poll redraws the chat; wait until htmx has settled it
        """() => new Promise((resolve) => document.addEventListener("htmx:afterSettle", (event) => {
            if (event.detail.target.id === "phone-thread") resolve();
        }))"""
    )
    assert page.evaluate("document.getElementById('phone-thread').scrollTop") == 0
