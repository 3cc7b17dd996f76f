"""Settings > Contact fields in a real browser: an admin adds a choice field, and the inbox's contact
panel offers its choices; a wrong type change is refused on the page. The settings screenshot is the
one docs/contacts.md shows (refresh it with FLOWAPP_DOCS_SCREENSHOTS=docs/img, as for the editor)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from flowapp.extensions import db
from tests import factories
from tests.browser_support import docs_screenshot, screenshot, settled

pytestmark = pytest.mark.browser


def test_a_choice_field_added_in_settings_is_offered_in_the_inbox(logged_in_page, live_stack):
    """Add "Plan" (Gold, Silver) in Settings while a contact holds "gold": the value is rewritten as
    declared and counted; the contact panel offers the choices, and saving one stores it."""
    with live_stack.app.app_context():
        contact = factories.make_contact(
            "351912345678", profile_name="Ana Lima", fields={"city": "Porto", "plan": "gold"}
        )
        conversation_id = factories.make_conversation(contact).id
        db.session.commit()
    page = logged_in_page
    page.goto(f"{live_stack.url}/settings/")
    page.click(".settings-nav >> text=Contact fields")
    page.fill("#field-key", "plan")
    page.fill("#field-label", "Plan")
    page.select_option("#field-type", "choice")
    page.fill("#field-choices", "Gold\nSilver")
    page.click("text=Add field")
    expect(page.locator(".flash")).to_contain_text("Field Plan (plan, choice) added.")
    row = page.locator("table.contact-fields tbody tr", has_text="plan")
    expect(row).to_contain_text("Gold, Silver")
    expect(row.locator("td").nth(4)).to_have_text("1")
    page.fill("#field-key", "age")
    page.fill("#field-label", "Age")
    page.select_option("#field-type", "number")
    page.click("text=Add field")
    screenshot(page, "settings-contact-fields")
    docs_screenshot(page, "pages", "settings-contact-fields")

    page.goto(f"{live_stack.url}/inbox/c/{conversation_id}")
    select = page.locator("#contact-field-plan")
    expect(select.locator("option")).to_have_text(["—", "Gold", "Silver"])
    expect(select).to_have_value("Gold")
    expect(page.locator("#contact-field-age")).to_have_attribute("type", "number")
    select.select_option("Silver")
    page.click("text=Save contact")
    expect(page.locator("#inbox-contact .flash")).to_have_text("Saved.")
    settled(page)
    expect(page.locator("#contact-field-plan")).to_have_value("Silver")


def test_a_type_change_that_would_not_fit_is_refused_on_the_page(logged_in_page, live_stack):
    """Turning a text field holding "forty" into a number shows why beside the type, and keeps it."""
    from flowapp.services import contact_fields

    with live_stack.app.app_context():
        field = contact_fields.create({"key": "age", "label": "Age", "type": "text"})
        factories.make_contact("351912345678", fields={"age": "forty"})
        db.session.commit()
        field_id = field.id
    page = logged_in_page
    page.goto(f"{live_stack.url}/settings/fields/{field_id}")
    page.select_option("#field-type", "number")
    page.click("text=Save field")
    expect(page.locator("#field-type-error")).to_contain_text(
        "1 contact has a value in 'age' that would not fit"
    )
    expect(page.locator("#field-type")).to_have_attribute("aria-invalid", "true")
    page.goto(f"{live_stack.url}/settings/fields")
    expect(page.locator("table.contact-fields tbody tr", has_text="age")).to_contain_text("text")
