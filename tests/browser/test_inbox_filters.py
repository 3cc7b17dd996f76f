"""The inbox's filters in Chromium: every option of every filter fits its box at 1366x768."""

from __future__ import annotations

import pytest

from flowapp.extensions import db
from flowapp.services import inbox_edits
from tests import factories

pytestmark = pytest.mark.browser

LABELS = ("VIP", "Waiting for payment", "Wholesale enquiry")

# For each filter: the width the select needs for its widest option (a shrink-to-fit copy beside
# it, out of the grid's flow), its own width, and whether the list's overflow cuts its right edge.
MEASURE = """select => {
  const probe = select.cloneNode(true);
  probe.removeAttribute("id");
  Object.assign(probe.style, {position: "absolute", width: "auto", visibility: "hidden"});
  select.parentNode.appendChild(probe);
  const needed = probe.getBoundingClientRect().width;
  probe.remove();
  const box = select.getBoundingClientRect();
  const list = select.closest(".inbox-list").getBoundingClientRect();
  return {needed, width: box.width, inside: box.left >= list.left && box.right <= list.right};
}"""


def test_filter_options_are_not_cut_off(logged_in_page, live_stack):
    """Status, assignee and label filters are wide enough for their longest option, inside the list."""
    with live_stack.app.app_context():
        conversation = factories.make_conversation(factories.make_contact(wa_id="15551230001"))
        for label in LABELS:
            inbox_edits.add_label(conversation, label)
        db.session.commit()
    page = logged_in_page
    page.click("nav >> text=Inbox")
    options = page.locator("#filter-label option").all_inner_texts()
    assert options == ["Any label", *LABELS]
    for select in ("#filter-status", "#filter-assignee", "#filter-label"):
        size = page.locator(select).evaluate(MEASURE)
        assert size["inside"] and size["needed"] <= size["width"], (select, size)
