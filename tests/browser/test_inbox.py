"""The inbox in a real browser against the live stack (gunicorn, an RQ worker, the mock Graph API
posting signed webhooks): messages arrive live, replies tick to read, take over and hand back,
templates outside the window, and customer content that tries to run script."""

import re
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AutomationRun, Contact, utcnow
from flowapp.services import automations, graph, templates
from tests.browser_support import screenshot
from tests.services.test_runner import MENU

pytestmark = pytest.mark.browser

LIVE = 20_000  # ms: polls every 2-3 s, the worker, and the mock's status webhooks


def customer_says(stack, **spec) -> str:
    """The mock plays the customer: a signed webhook reaches the live web before this returns."""
    response = requests.post(f"{stack.mock.url}/_mock/inbound", json=spec, timeout=10)
    assert response.status_code == 200 and response.json()["webhook_status"] == 200, response.text
    return response.json()["wamid"]


def open_conversation(page, stack, name: str) -> None:
    """Wait for the contact in the list (it arrives by polling), then open the conversation."""
    row = page.locator(".conv", has=page.locator(".conv-name", has_text=name))
    expect(row).to_be_visible(timeout=LIVE)
    row.locator("a").click()
    expect(page.locator(".thread-name")).to_have_text(name)


def test_message_arrives_live_and_the_reply_ticks_to_read(logged_in_page, live_stack):
    """A customer writes while the inbox is open; the agent answers; the ticks reach read."""
    page = logged_in_page
    page.goto(f"{live_stack.url}/inbox/")
    expect(page.locator(".conv-empty")).to_be_visible()
    customer_says(live_stack, **{"from": "15551110001", "name": "Marta", "text": "Hello, is anyone there?"})
    badge = page.locator("#nav-unread")
    expect(badge).to_have_text("1", timeout=LIVE)
    open_conversation(page, live_stack, "Marta")
    expect(page.locator(".msg-in .msg-text")).to_have_text("Hello, is anyone there?")
    expect(badge).to_be_hidden(timeout=LIVE)  # opening the conversation read it
    page.fill("#compose-text", "Hi Marta, how can I help?")
    page.keyboard.press("Enter")
    reply = page.locator(".msg-out", has_text="Hi Marta, how can I help?")
    expect(reply).to_be_visible(timeout=LIVE)
    expect(reply.locator('.ticks[data-status="read"]')).to_be_visible(timeout=LIVE)
    expect(page.locator("#inbox-panel .hand-back")).to_be_visible()  # replying took over
    expect(page.locator("#compose-text")).to_have_value("")
    customer_says(live_stack, **{"from": "15551110001", "name": "Marta", "text": "My order is late"})
    expect(page.locator(".msg-in .msg-text").last).to_have_text("My order is late", timeout=LIVE)
    screenshot(page, "inbox-reply-read")


def test_take_over_and_hand_back(logged_in_page, live_stack):
    """Taking over pauses the waiting run (the bot stays quiet); handing back lets it answer again."""
    with live_stack.app.app_context():
        automation = automations.create(
            "Menu", trigger={"type": "keyword", "keywords": ["menu"], "match": "first_word"}, graph=MENU
        )
        automations.publish(automation)
        db.session.commit()
    page = logged_in_page
    page.goto(f"{live_stack.url}/inbox/")
    customer_says(live_stack, **{"from": "15551110002", "name": "Rui", "text": "menu"})
    open_conversation(page, live_stack, "Rui")
    expect(page.locator(".msg-out", has_text="Hi Rui! Pick one")).to_be_visible(timeout=LIVE)
    panel = page.locator("#inbox-panel")
    expect(panel.locator(".run")).to_contain_text("Menu")
    expect(panel.locator('.state[data-state="bot"]')).to_be_visible()
    panel.locator("button.take-over").click()
    expect(panel.locator("button.hand-back")).to_be_visible()
    expect(panel.locator(".run .badge")).to_have_text("paused")
    expect(page.locator(".thread-event", has_text="paused by")).to_be_visible(timeout=LIVE)
    screenshot(page, "inbox-taken-over")

    customer_says(
        live_stack,
        **{"from": "15551110002", "name": "Rui", "button_reply": {"id": "hours", "title": "Opening hours"}},
    )
    expect(page.locator(".msg-choice").last).to_contain_text("Opening hours", timeout=LIVE)
    with live_stack.app.app_context():  # the reply was stored and handled: the run did not move
        run = db.session.scalar(select(AutomationRun))
        assert (run.status, run.current_node, run.paused) == ("waiting", "menu", True)
    expect(page.locator(".msg-out", has_text="We open 9-17.")).to_have_count(0)

    panel.locator("button.hand-back").click()
    expect(panel.locator("button.take-over")).to_be_visible()
    expect(panel.locator(".run .badge")).to_have_text("waiting")
    customer_says(
        live_stack,
        **{"from": "15551110002", "name": "Rui", "button_reply": {"id": "hours", "title": "Opening hours"}},
    )
    expect(page.locator(".msg-out", has_text="We open 9-17.")).to_be_visible(timeout=LIVE)
    expect(page.locator(".thread-event", has_text="ended: completed")).to_be_visible(timeout=LIVE)
    screenshot(page, "inbox-handed-back")


def test_outside_the_window_only_a_template_goes_out(logged_in_page, live_stack):
    """25 hours after the customer's last message free text is refused; a template is sent."""
    customer_says(live_stack, **{"from": "15551110003", "name": "Inês", "text": "Thanks!"})
    with live_stack.app.app_context():
        contact = _wait_for_contact(live_stack, "15551110003")
        contact.last_inbound_at = utcnow() - timedelta(hours=25)
        db.session.commit()
        templates.sync(graph.client())  # GRAPH_API_URL is the mock: its approved templates
        db.session.commit()
    page = logged_in_page
    page.goto(f"{live_stack.url}/inbox/")
    open_conversation(page, live_stack, "Inês")
    composer = page.locator("#composer")
    expect(composer.locator("#compose-text")).to_be_disabled()
    expect(composer.locator(".window-closed")).to_contain_text("More than 24 hours have passed")
    conversation_url = page.url
    refused = page.request.post(
        conversation_url + "/messages",
        form={"text": "Are you still there?"},
        headers={"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content")},
    )
    assert refused.ok and "send a template" in refused.text().lower()
    composer.locator("#template-select").select_option(label="order_update (en_US)")
    composer.locator("#tpl-body_1").fill("Inês")
    composer.locator("#tpl-body_2").fill("A-17")
    expect(composer.locator("#template-preview")).to_have_text(
        "Hi Inês, your order A-17 has shipped.", timeout=LIVE
    )
    screenshot(page, "inbox-template-picker")
    composer.locator("button.send-template").click()
    sent = page.locator(".msg-out", has_text="Hi Inês, your order A-17 has shipped.")
    expect(sent).to_be_visible(timeout=LIVE)
    expect(sent.locator(".msg-flag")).to_have_text("Template order_update (en_US)")
    expect(sent.locator('.ticks[data-status="read"]')).to_be_visible(timeout=LIVE)
    expect(page.locator(".msg-out", has_text="Are you still there?")).to_have_count(0)
    sent_to_meta = requests.get(
        f"{live_stack.mock.url}/_mock/messages", params={"to": "15551110003"}, timeout=5
    )
    assert [m["body"]["type"] for m in sent_to_meta.json()["messages"]] == ["template"]


def _wait_for_contact(stack, wa_id: str) -> Contact:
    from tests import live

    def found():
        # End the read at once: on SQLite every transaction holds the write lock, and a poll that
        # kept it open between tries would starve the worker it is waiting for.
        contact_id = db.session.scalar(select(Contact.id).where(Contact.wa_id == wa_id))
        db.session.rollback()
        return contact_id

    contact_id = live.wait_for(found, 20, "the inbound message to be processed")
    return db.session.get(Contact, contact_id)


def test_customer_markup_renders_as_text_and_runs_nothing(logged_in_page, live_stack):
    """A name and a message made of HTML and script show literally; no dialog, no script error."""
    page = logged_in_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_stack.url}/inbox/")
    name = "<img src=x onerror=alert(1)>"
    text = "<script>alert(2)</script><img src=x onerror=alert(3)> https://example.com/?q=<b>"
    customer_says(live_stack, **{"from": "15551110004", "name": name, "text": text})
    row_name = page.locator(".conv-name").first
    expect(row_name).to_have_text(name, timeout=LIVE)
    expect(page.locator(".conv-preview").first).to_have_text(re.compile(r"^<script>alert\(2\)</script>"))
    row_name.click()
    expect(page.locator(".thread-name")).to_have_text(name)
    body = page.locator(".msg-in .msg-text")
    expect(body).to_have_text(text)
    link = body.locator("a")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("href", "https://example.com/?q=")
    assert page.locator("img[src='x']").count() == 0
    assert page.locator(".inbox script").count() == 0
    page.wait_for_timeout(500)  # give a stray handler the chance to fire before asserting it did not
    assert dialogs == []
    screenshot(page, "inbox-escaped")


def test_a_half_typed_reply_survives_redraws_and_navigation(logged_in_page, live_stack):
    """The customer writes again while the agent types: the composer is redrawn (the window moved)
    and the draft, its caret and its focus stay. It survives leaving the conversation and a reload,
    and is forgotten once sent."""
    page = logged_in_page
    customer_says(live_stack, **{"from": "15551110007", "name": "Rita", "text": "Is my parcel on its way?"})
    page.goto(f"{live_stack.url}/inbox/")
    open_conversation(page, live_stack, "Rita")
    box = page.locator("#compose-text")
    box.fill("Let me check the tracking num")
    box.press("End")
    before = page.get_attribute("#composer", "hx-headers")

    customer_says(live_stack, **{"from": "15551110007", "name": "Rita", "text": "Order 4411"})
    expect(page.locator("#composer")).not_to_have_attribute("hx-headers", before, timeout=LIVE)  # redrawn
    expect(box).to_have_value("Let me check the tracking num")
    expect(box).to_be_focused()
    page.keyboard.type("ber")  # the caret is where it was: at the end
    expect(box).to_have_value("Let me check the tracking number")

    page.goto(f"{live_stack.url}/inbox/")
    open_conversation(page, live_stack, "Rita")
    expect(box).to_have_value("Let me check the tracking number")
    page.reload()
    expect(box).to_have_value("Let me check the tracking number")

    box.press("Enter")
    expect(page.locator(".msg-out", has_text="Let me check the tracking number")).to_be_visible(timeout=LIVE)
    expect(box).to_have_value("")
    page.reload()
    expect(box).to_have_value("")
