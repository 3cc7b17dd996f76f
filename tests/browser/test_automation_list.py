"""The automation list in Chromium: a row's actions on one line, the rarer ones behind "More"."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from flowapp.services import automations, examples
from tests.browser_support import screenshot

pytestmark = pytest.mark.browser


def _active_automation(live_stack) -> int:
    """An active automation: its row has every action (Edit, Rename, Pause, Duplicate, Export, Delete)."""
    with live_stack.app.app_context():
        menu = examples.create_from("keyword_menu")
        automations.publish(menu)
        automations.set_status(menu, "active")
        db.session.commit()
        return menu.id


def test_row_actions_share_one_line(logged_in_page, live_stack):
    """At 1366x768 the row's buttons sit on one line; Duplicate, Export and Delete open from "More"."""
    page = logged_in_page
    automation_id = _active_automation(live_stack)
    page.goto(f"{live_stack.url}/automations/")
    row = page.locator(f"#automation-{automation_id}")
    shown = row.locator(".row-actions > .button, .row-actions > button, .row-actions summary")
    expect(shown).to_have_count(4)
    boxes = [shown.nth(i).bounding_box() for i in range(4)]
    assert len({round(box["y"]) for box in boxes}) == 1, boxes
    assert boxes[-1]["x"] + boxes[-1]["width"] <= 1366
    assert [shown.nth(i).inner_text().strip() for i in range(3)] == ["Edit", "Rename", "Pause"]

    row.locator("summary").click()
    for name in ("Duplicate", "Export", "Delete"):
        item = row.locator(".row-menu-items").get_by_text(name, exact=True)
        expect(item).to_be_visible()
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366 and box["y"] + box["height"] <= 768
    screenshot(page, "automation-list-more")
    page.keyboard.press("Escape")
    expect(row.locator(".row-menu-items")).to_be_hidden()
    row.locator("summary").click()
    page.locator("h1").click()  # a click elsewhere closes it too
    expect(row.locator(".row-menu-items")).to_be_hidden()

    row.locator("summary").click()
    row.locator(".row-menu-items").get_by_text("Delete", exact=True).click()
    expect(page.get_by_role("alertdialog", name="Confirm deletion")).to_be_visible()
