"""The automation editor in Chromium against the live stack: build a keyword menu from an empty canvas
by dragging and clicking, save and reload it, meet a problem and fix it, publish, chat with it in the
simulator, undo and redo, copy and paste, export and import, and check the canvas round trip.

Screenshots: test-artifacts/screenshots/editor-*.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Automation, AutomationRun
from flowapp.services import automations, examples
from flowapp.whatsapp.signature import sign
from tests.browser_support import EDITOR_READY, screenshot, settled
from tests.conftest import TEST_SECRETS
from tests.helpers import customer_message, encode
from tests.live import wait_for

pytestmark = pytest.mark.browser


def serialize(page) -> dict:
    """The document the canvas holds, read back through the editor's own serializer."""
    return page.evaluate("window.flowappEditor.canvas.serialize()")


def stored(live_stack, automation_id: int) -> Automation:
    with live_stack.app.app_context():
        automation = db.session.get(Automation, automation_id)
        db.session.expunge(automation)
        return automation


def open_editor(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(EDITOR_READY, state="attached")


def node(page, node_id: str):
    return page.locator(f'.fa-node[data-nid="{node_id}"]')


def drop(page, kind: str, x: int, y: int) -> None:
    """Drag a node type from the palette onto the canvas at (x, y)."""
    page.drag_and_drop(f'.palette-item[data-type="{kind}"]', "#canvas", target_position={"x": x, "y": y})


def connect(page, source: str, port: str, target: str) -> None:
    """Drag from a node's named port to another node's input."""
    start = node(page, source).locator(f'.output[data-port="{port}"]').bounding_box()
    end = node(page, target).locator(".input").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=8)
    page.mouse.up()


def form_open(page, node_id: str) -> None:
    expect(page.locator(f'#node-form-wrap[data-node-id="{node_id}"]')).to_be_visible()
    settled(page)


def save_now(page) -> None:
    page.keyboard.press("Control+s")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")


def settings_saved(page) -> None:
    page.click("#node-form button.primary")
    expect(page.locator("#node-saved")).to_be_visible()
    settled(page)


def edges(graph: dict) -> set[tuple[str, str, str]]:
    return {(edge["from"], edge["port"], edge["to"]) for edge in graph["edges"]}


def create_empty(page, live_stack, name: str, keyword: str = "hello") -> int:
    """Create an empty keyword automation from the list's form; returns its id, the editor open."""
    page.goto(f"{live_stack.url}/automations/")
    page.fill("#new-name", name)
    page.fill("#new-keyword", keyword)
    page.click("form[action$='/new'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/automations/\d+/edit$"))
    page.wait_for_selector(EDITOR_READY, state="attached")
    return int(re.search(r"/automations/(\d+)/edit", page.url).group(1))


def build_menu(page) -> None:
    """A keyword menu: start -> buttons (hours / human) -> a text, a hand-off; trigger "menu"."""
    drop(page, "send_buttons", 330, 110)
    form_open(page, "send_buttons")
    page.fill("#f-c-text", "Hi {{ contact.name }}, how can we help?")
    page.fill("#f-c-buttons-0-title", "Opening hours")
    page.fill("#f-c-buttons-0-id", "hours")
    page.fill("#f-c-buttons-1-title", "Talk to us")
    page.fill("#f-c-buttons-1-id", "human")
    expect(page.locator("#node-live .wa-choice", has_text="Opening hours")).to_be_visible()  # the preview
    page.press("#f-c-buttons-1-id", "Enter")  # Enter saves the settings (and removes no button)
    expect(page.locator("#node-saved")).to_be_visible()
    settled(page)
    expect(node(page, "send_buttons").locator('.output[data-port="hours"]')).to_have_attribute(
        "data-label", "Opening hours"
    )
    drop(page, "send_text", 120, 330)
    form_open(page, "send_text")
    page.fill("#f-c-text", "We open from 9 to 17.")
    settings_saved(page)
    drop(page, "handoff", 420, 360)
    form_open(page, "handoff")
    connect(page, "start", "next", "send_buttons")
    connect(page, "send_buttons", "hours", "send_text")
    connect(page, "send_buttons", "human", "handoff")
    page.click("#trigger-button")
    expect(page.locator("#trigger-form")).to_be_visible()
    settled(page)
    page.select_option("#f-t-type", "keyword")
    expect(page.locator("#f-t-keywords")).to_be_visible()
    settled(page)
    page.fill("#f-t-keywords", "menu")
    page.click("#trigger-form button.primary")
    expect(page.locator("#trigger-summary")).to_have_text('Keyword "menu" (first word)')


def test_build_save_fix_publish_and_simulate(logged_in_page, live_stack):
    """From an empty canvas to a published keyword menu that answers in the simulator."""
    page = logged_in_page
    automation_id = create_empty(page, live_stack, "Menu bot")
    build_menu(page)
    save_now(page)
    screenshot(page, "editor-built")
    built = serialize(page)
    assert edges(built) == {
        ("start", "next", "send_buttons"),
        ("send_buttons", "hours", "send_text"),
        ("send_buttons", "human", "handoff"),
    }
    assert stored(live_stack, automation_id).draft == built

    open_editor(page, page.url)  # reload: the same graph, positions included
    assert serialize(page) == built
    expect(page.locator("#trigger-summary")).to_have_text('Keyword "menu" (first word)')

    # A problem: a text with nothing to say, on the "other" port.
    drop(page, "send_text", 480, 470)
    form_open(page, "send_text_2")
    connect(page, "send_buttons", "other", "send_text_2")
    save_now(page)
    expect(node(page, "send_text_2")).to_have_class(re.compile(r"\bhas-error\b"))
    page.click("#tab-problems")
    problem = page.locator('.issue-error .issue-jump[data-issue-node="send_text_2"]')
    expect(problem).to_contain_text("text is required")
    screenshot(page, "editor-problems")
    page.click('[data-action="publish"]')
    expect(page.locator("#toast")).to_contain_text("Fix 1 problem")
    problem.click()  # jumps to the node and opens its settings
    form_open(page, "send_text_2")
    page.fill("#f-c-text", "Please tap one of the buttons.")
    expect(page.locator("#node-live .issues-ok")).to_be_visible()
    settings_saved(page)
    save_now(page)
    expect(node(page, "send_text_2")).not_to_have_class(re.compile(r"\bhas-error\b"))

    # Publish: every reply port leads somewhere and the texts' open ports simply end the run, so no
    # warning asks for a confirmation.
    page.click('[data-action="publish"]')
    expect(page.locator("#toast")).to_contain_text("Published version 1")
    expect(page.locator("#publish-dialog")).not_to_have_attribute("open", "")
    expect(page.locator("#automation-status")).to_have_text("active")
    assert stored(live_stack, automation_id).published_version_id is not None

    # The simulator: write "menu", tap a button.
    page.click("#tab-simulator")
    settled(page)
    page.fill("#sim-first", "menu")
    page.click(".sim-start button.primary")
    expect(page.locator(".sim-business").first).to_contain_text("how can we help?")
    settled(page)
    expect(node(page, "send_buttons")).to_have_class(re.compile(r"\bfa-sim-active\b"))
    page.locator(".sim-business .wa-choice", has_text="Opening hours").click()
    expect(page.locator(".sim-business").last).to_contain_text("We open from 9 to 17.")
    expect(page.locator("#sim-status")).to_have_text("completed")
    expect(node(page, "send_text")).to_have_class(re.compile(r"\bfa-sim\b"))
    screenshot(page, "editor-simulator")


def test_undo_redo_copy_paste_export_and_import(logged_in_page, live_stack):
    """Undo and redo restore the canvas exactly; nodes paste into another automation; export and
    import give the same automation."""
    page = logged_in_page
    with live_stack.app.app_context():
        menu = examples.create_from("keyword_menu")
        other = automations.create("Other")
        db.session.commit()
        menu_id, other_id = menu.id, other.id
    open_editor(page, f"{live_stack.url}/automations/{menu_id}/edit")
    original = serialize(page)
    page.click('[data-action="fit"]')  # the whole menu on screen, for the mouse

    node(page, "faq_text").locator(".fa-summary").click()
    page.keyboard.press("Delete")
    expect(node(page, "faq_text")).to_have_count(0)
    assert ("menu", "faq", "faq_text") not in edges(serialize(page))
    page.keyboard.press("Control+z")
    expect(node(page, "faq_text")).to_have_count(1)
    assert serialize(page) == original
    page.keyboard.press("Control+Shift+z")
    expect(node(page, "faq_text")).to_have_count(0)
    page.click('[data-action="undo"]')
    expect(node(page, "faq_text")).to_have_count(1)
    assert serialize(page) == original

    # Moving a node is one undoable step.
    head = node(page, "done").locator(".fa-head").bounding_box()
    page.mouse.move(head["x"] + 10, head["y"] + 5)
    page.mouse.down()
    page.mouse.move(head["x"] + 90, head["y"] + 65, steps=6)
    page.mouse.up()
    moved = serialize(page)
    assert moved["nodes"][-1]["position"] != original["nodes"][-1]["position"]
    page.keyboard.press("Control+z")
    assert serialize(page) == original
    page.keyboard.press("Control+y")
    assert serialize(page) == moved
    page.keyboard.press("Control+z")

    # Removing a button removes its port and the edge from it; undo brings both back.
    node(page, "menu").locator(".fa-summary").click()
    form_open(page, "menu")
    page.click('button[data-op="remove:buttons.2"]')
    expect(page.locator("#f-c-buttons-2-id")).to_have_count(0)
    settled(page)
    settings_saved(page)
    expect(node(page, "menu").locator('.output[data-port="faq"]')).to_have_count(0)
    assert ("menu", "faq", "faq_text") not in edges(serialize(page))
    assert ("menu", "book", "days") in edges(serialize(page))
    page.locator("#canvas").click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+z")
    expect(node(page, "menu").locator('.output[data-port="faq"]')).to_have_count(1)
    assert serialize(page) == original

    # Shift+click two connected nodes, copy them, paste them into the other automation.
    node(page, "order_text").locator(".fa-summary").click()
    node(page, "done").locator(".fa-summary").click(modifiers=["Shift"])
    expect(page.locator(".fa-selected")).to_have_count(2)
    page.keyboard.press("Control+c")
    save_now(page)
    open_editor(page, f"{live_stack.url}/automations/{other_id}/edit")
    page.locator("#canvas").click(position={"x": 20, "y": 20})
    page.keyboard.press("Control+v")
    expect(node(page, "order_text")).to_have_count(1)
    expect(node(page, "done")).to_have_count(1)
    assert ("order_text", "next", "done") in edges(serialize(page))
    save_now(page)
    assert {n["id"] for n in stored(live_stack, other_id).draft["nodes"]} == {"start", "order_text", "done"}
    screenshot(page, "editor-pasted")

    # Export the menu and import the file: the same automation again.
    open_editor(page, f"{live_stack.url}/automations/{menu_id}/edit")
    with page.expect_download() as download:
        page.click('.editor-bar a:has-text("Export")')
    document = json.loads(Path(download.value.path()).read_text())
    assert document["graph"] == original and document["trigger"]["keywords"] == ["menu"]
    page.goto(f"{live_stack.url}/automations/")
    page.set_input_files("#import-file", download.value.path())
    page.click("form[action$='/import'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/automations/\d+/edit$"))
    page.wait_for_selector(EDITOR_READY, state="attached")
    assert serialize(page) == original


def test_canvas_round_trip_is_exact(logged_in_page, live_stack):
    """Every example, and a graph with odd positions, no positions and an edge the canvas cannot
    draw, come back from the canvas's serializer exactly as stored."""
    odd = {
        "spec_version": 2,
        "nodes": [
            {"id": "start", "type": "start", "config": {}, "position": {"x": 12.5, "y": -40.25}},
            {"id": "ask", "type": "wait_reply", "config": {"variable": "a", "timeout": "1h"}, "label": "Ask"},
            {"id": "b", "type": "log", "config": {"message": "x"}, "position": {"x": 900, "y": 500}},
        ],
        "edges": [
            {"from": "ask", "port": "timeout", "to": "b"},
            {"from": "start", "port": "next", "to": "ask"},
            {"from": "b", "port": "nowhere", "to": "ask"},
        ],
        "meta": {"note": "kept"},
    }
    with live_stack.app.app_context():
        ids = [examples.create_from(example["slug"]).id for example in examples.all_examples()]
        ids.append(automations.create("Odd", graph=odd).id)
        db.session.commit()
    for automation_id in ids:
        open_editor(logged_in_page, f"{live_stack.url}/automations/{automation_id}/edit")
        assert serialize(logged_in_page) == stored(live_stack, automation_id).draft, automation_id
    expect(node(logged_in_page, "ask").locator(".fa-title")).to_have_text("Ask")


def test_conflict_versions_diff_runs_and_analytics(logged_in_page, live_stack):
    """Two tabs conflict and the person chooses; a diff is drawn; a real run's path and the
    analytics overlay show on the canvas."""
    page = logged_in_page
    with live_stack.app.app_context():
        menu = examples.create_from("keyword_menu")
        automations.publish(menu)
        db.session.commit()
        menu_id = menu.id
    url = f"{live_stack.url}/automations/{menu_id}/edit"
    open_editor(page, url)
    other = page.context.new_page()
    open_editor(other, url)
    node(other, "bye").locator(".fa-summary").click()
    other.keyboard.press("Delete")
    save_now(other)
    theirs = serialize(other)
    other.close()

    node(page, "help").locator(".fa-summary").click()
    page.keyboard.press("Delete")
    page.keyboard.press("Control+s")
    expect(page.locator("#conflict-dialog")).to_have_attribute("open", "")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "conflict")
    page.click('[data-action="keep-mine"]')
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    mine = stored(live_stack, menu_id).draft
    assert "help" not in {n["id"] for n in mine["nodes"]} and "bye" in {n["id"] for n in mine["nodes"]}
    assert theirs != mine

    # Compare the published version with the draft: "help" is drawn ghosted.
    page.click("#tab-versions")
    expect(page.locator("#compare-form")).to_be_visible()
    settled(page)
    page.click("#compare-form button")
    expect(node(page, "help")).to_have_class(re.compile(r"\bfa-ghost\b"))
    expect(page.locator("#canvas-banner-text")).to_contain_text("1 removed")
    screenshot(page, "editor-diff")
    page.click('[data-action="exit-mode"]')
    expect(node(page, "help")).to_have_count(0)

    # A real run: the customer writes "menu" through Meta's signed webhook to the live stack.
    _customer_writes(live_stack, "menu")
    wait_for(lambda: _runs_of(live_stack, menu_id), 30, "the worker to start a run")
    page.click("#tab-runs")
    run = page.locator(".run-item").first
    expect(run).to_be_visible()
    settled(page)
    run.click()
    expect(page.locator("#trace")).to_be_visible()
    expect(node(page, "menu")).to_have_class(re.compile(r"\bfa-trace-active\b"))
    expect(page.locator(".trace-step.step-sent")).to_have_count(1)
    screenshot(page, "editor-trace")
    page.check("#stats-toggle")
    expect(node(page, "menu").locator(".fa-stats")).to_contain_text("1 visit")
    expect(page.locator(".fa-edge-count").first).to_be_visible()
    screenshot(page, "editor-analytics")


def _runs_of(live_stack, automation_id: int) -> int:
    with live_stack.app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(AutomationRun)
            .where(AutomationRun.automation_id == automation_id)
        )


def _customer_writes(live_stack, text: str) -> None:
    """A signed webhook for a customer message, as Meta posts it, to the live stack."""
    body = encode(customer_message(sender="15551230077", text=text, name="Ana"))
    response = requests.post(
        f"{live_stack.url}/webhooks/whatsapp",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": sign(body, TEST_SECRETS["APP_SECRET"]),
        },
        timeout=10,
    )
    assert response.status_code == 200


def test_simulator_list_rows_and_skipped_timeout(logged_in_page, live_stack):
    """List rows are clickable in the simulator; a timeout can be skipped; restart starts over."""
    page = logged_in_page
    with live_stack.app.app_context():
        menu_id = examples.create_from("keyword_menu").id
        db.session.commit()
    open_editor(page, f"{live_stack.url}/automations/{menu_id}/edit")
    page.click("#tab-simulator")
    settled(page)
    page.fill("#sim-first", "menu")
    page.click(".sim-start button.primary")
    expect(page.locator(".sim-business .wa-choice", has_text="Book a visit")).to_be_visible()
    settled(page)  # the new chat's buttons work once htmx has processed them
    page.locator(".sim-business .wa-choice", has_text="Book a visit").click()
    expect(page.locator(".sim-business").last).to_contain_text("Which day suits you?")
    settled(page)
    page.locator(".sim-business").last.locator("summary").click()  # the list opens, as in WhatsApp
    page.locator(".sim-business .wa-choice", has_text="Tuesday").click()
    expect(page.locator(".sim-business").last).to_contain_text("Booked: Tuesday")
    expect(node(page, "booked_tue")).to_have_class(re.compile(r"\bfa-sim\b"))
    settled(page)
    page.click(".sim-restart button")
    expect(page.locator(".sim-business")).to_have_count(1)
    settled(page)
    page.click(".sim-skip button")
    expect(page.locator(".sim-event", has_text="did not answer the menu")).to_be_visible()
    expect(page.locator("#sim-status")).to_have_text("completed")


def add_by_keyboard(page, kind: str) -> None:
    """Focus the palette entry and press Enter: the node is added and its settings open."""
    page.focus(f'.palette-item[data-type="{kind}"]')
    page.keyboard.press("Enter")
    form_open(page, kind)


def test_palette_by_keyboard_places_nodes_apart(logged_in_page, live_stack):
    """Focus a palette entry and press Enter: the node is added in the middle of the view and its
    settings open; a second one lands beside the first instead of on top of it."""
    page = logged_in_page
    create_empty(page, live_stack, "Keyboard")
    for kind in ("send_text", "log"):
        add_by_keyboard(page, kind)
    a, b = node(page, "send_text").bounding_box(), node(page, "log").bounding_box()
    apart_x = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
    apart_y = a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
    assert apart_x or apart_y, (a, b)


def test_ports_connect_from_the_keyboard(logged_in_page, live_stack):
    """Under a node's settings each port has a labelled list of the nodes it can lead to: choosing one
    draws the edge, "nothing" removes it, and the list follows edges drawn with the mouse."""
    page = logged_in_page
    create_empty(page, live_stack, "Keyboard edges")
    for kind in ("log", "send_text"):
        add_by_keyboard(page, kind)
    choice = page.get_by_label("“next” leads to")
    choice.focus()
    choice.select_option("log")
    assert edges(serialize(page)) == {("send_text", "next", "log")}

    connect(page, "start", "next", "send_text")  # with the mouse, while send_text's settings are open
    node(page, "start").focus()
    page.keyboard.press("Enter")  # opens the start node's settings
    form_open(page, "start")
    expect(page.get_by_label("“next” leads to")).to_have_value("send_text")
    screenshot(page, "editor-connections")
    page.get_by_label("“next” leads to").select_option("")
    assert edges(serialize(page)) == {("send_text", "next", "log")}
    page.keyboard.press("Escape")  # from the settings (their first field has the focus) to the node
    expect(node(page, "start")).to_be_focused()
    page.keyboard.press("Control+z")
    assert edges(serialize(page)) == {("start", "next", "send_text"), ("send_text", "next", "log")}
