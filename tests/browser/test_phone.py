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


ASK = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {
            "id": "ask",
            "type": "send_buttons",
            "config": {
                "text": "Which day suits you?",
                "timeout": "1h",
                "buttons": [{"id": "mon", "title": "Monday"}, {"id": "tue", "title": "Tuesday"}],
            },
        },
        {"id": "other", "type": "send_text", "config": {"text": "Please tap a day."}},
    ],
    "edges": [
        {"from": "start", "port": "next", "to": "ask"},
        {"from": "ask", "port": "other", "to": "other"},
    ],
}
PRICES = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {"id": "list", "type": "send_text", "config": {"text": "Our prices: from 20 EUR."}},
    ],
    "edges": [{"from": "start", "port": "next", "to": "list"}],
}


def test_a_keyword_taken_by_a_waiting_run_says_so_and_can_be_let_through(logged_in_page, live_stack):
    """ "prices" while the booking bot waits for a day: the phone says the booking bot took it and why,
    and one click lets the Prices keyword interrupt; the next "prices" gets the price list."""
    page = logged_in_page
    with live_stack.app.app_context():
        for name, trigger, graph in (
            ("Booking", {"type": "keyword", "keywords": ["book"], "match": "exact"}, ASK),
            ("Prices", {"type": "keyword", "keywords": ["prices"], "match": "exact"}, PRICES),
        ):
            automation = automations.create(name, trigger=trigger, graph=graph)
            automations.publish(automation)
        db.session.commit()
    page.goto(f"{live_stack.url}/sandbox/phone")
    for text, answers in (("book", 1), ("prices", 2)):
        page.fill("#phone-text", text)
        page.press("#phone-text", "Enter")
        expect(page.locator(".bubble-business")).to_have_count(answers, timeout=LIVE)
    note = page.locator(".phone-note")
    expect(note).to_contain_text("“prices” went to “Booking”, which was waiting for this contact's reply")
    expect(note).to_contain_text("“Prices” also matched but does not interrupt")
    screenshot(page, "phone-took-reply")

    note.get_by_role("button", name="Let “Prices” interrupt").click()
    expect(page.locator(".flash")).to_contain_text("“Prices” now interrupts a run")
    page.fill("#phone-text", "book")
    page.press("#phone-text", "Enter")
    expect(page.locator(".bubble-business")).to_have_count(3, timeout=LIVE)
    page.fill("#phone-text", "prices")
    page.press("#phone-text", "Enter")
    expect(page.locator(".bubble-business").last).to_contain_text("Our prices: from 20 EUR.", timeout=LIVE)
