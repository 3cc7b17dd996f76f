"""Stale edits in Chromium: the editor saves its name with the draft (one revision, no race with the
canvas), a change made elsewhere meanwhile brings up the conflict dialog, and the automation list
shows the current row when a rename was based on an old one."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from flowapp.models import Automation
from flowapp.services import automations, examples
from tests.browser_support import EDITOR_READY, settled

pytestmark = pytest.mark.browser


def _stored(live_stack, automation_id: int) -> Automation:
    with live_stack.app.app_context():
        automation = db.session.get(Automation, automation_id)
        db.session.expunge(automation)
        return automation


def _rename_elsewhere(live_stack, automation_id: int, name: str) -> None:
    """Someone else (another tab, the API) renames it."""
    with live_stack.app.app_context():
        automations.rename(db.session.get(Automation, automation_id), name)
        db.session.commit()


def _menu(live_stack) -> int:
    with live_stack.app.app_context():
        menu = examples.create_from("keyword_menu")
        db.session.commit()
        return menu.id


def test_editor_renames_with_the_draft_and_meets_changes_made_elsewhere(logged_in_page, live_stack):
    page = logged_in_page
    menu_id = _menu(live_stack)
    page.goto(f"{live_stack.url}/automations/{menu_id}/edit")
    page.wait_for_selector(EDITOR_READY, state="attached")
    revision = _stored(live_stack, menu_id).draft_revision

    page.fill("#automation-name", "Front desk")
    page.press("#automation-name", "Enter")  # change fires; the form itself never submits
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    stored = _stored(live_stack, menu_id)
    assert (stored.name, stored.draft_revision) == ("Front desk", revision + 1)
    expect(page).to_have_title("Front desk · Editor")

    _rename_elsewhere(live_stack, menu_id, "Reception")
    page.locator('.fa-node[data-nid="help"] .fa-summary').click()
    page.keyboard.press("Delete")
    page.keyboard.press("Control+s")
    expect(page.locator("#conflict-dialog")).to_have_attribute("open", "")
    expect(page.locator("#save-state")).to_have_attribute("data-state", "conflict")
    assert _stored(live_stack, menu_id).name == "Reception"  # theirs is kept until the person chooses

    page.click('[data-action="load-theirs"]')
    expect(page.locator("#automation-name")).to_have_value("Reception")
    expect(page.locator('.fa-node[data-nid="help"]')).to_have_count(1)
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")

    # Publishing from a tab that missed a change is a conflict too, not a publish of the wrong draft.
    _rename_elsewhere(live_stack, menu_id, "Front office")
    page.click('[data-action="publish"]')
    expect(page.locator("#conflict-dialog")).to_have_attribute("open", "")
    assert _stored(live_stack, menu_id).published_version_id is None
    page.click('[data-action="keep-mine"]')
    expect(page.locator("#save-state")).to_have_attribute("data-state", "saved")
    assert _stored(live_stack, menu_id).name == "Reception"  # "keep mine" kept my name as well


def test_list_rename_based_on_an_old_row_shows_the_current_one(logged_in_page, live_stack):
    page = logged_in_page
    menu_id = _menu(live_stack)
    page.goto(f"{live_stack.url}/automations/")
    row = page.locator(f"#automation-{menu_id}")
    row.get_by_role("button", name="Rename").click()
    expect(page.locator(f"#rename-{menu_id}")).to_be_visible()
    settled(page)

    _rename_elsewhere(live_stack, menu_id, "Theirs")
    page.fill(f"#rename-{menu_id}", "Mine")
    page.click(f"#automation-{menu_id} button[type=submit]")
    expect(row.locator(".field-error")).to_contain_text("changed elsewhere")
    expect(row.locator(".automation-name")).to_have_text("Theirs")
    assert _stored(live_stack, menu_id).name == "Theirs"

    # The row now carries the current revision: renaming again from it works.
    row.get_by_role("button", name="Rename").click()
    expect(page.locator(f"#rename-{menu_id}")).to_be_visible()
    settled(page)
    page.fill(f"#rename-{menu_id}", "Mine")
    page.click(f"#automation-{menu_id} button[type=submit]")
    expect(row.locator(".automation-name")).to_have_text("Mine")
    assert _stored(live_stack, menu_id).name == "Mine"
