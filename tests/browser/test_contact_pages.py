"""The import and one contact's page in a real browser against the live stack (gunicorn and a real RQ
worker): upload a CSV whose columns are named in Portuguese, map them with a preview, watch the
worker's progress bar finish, download the refused rows; then open an imported contact, change
their language, opt them out, and page back through their activity.

The screenshots taken on the way are the ones docs/contacts.md shows. To refresh them:

    FLOWAPP_DOCS_SCREENSHOTS=docs/img .venv/bin/python -m pytest tests/browser/test_contact_pages.py
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Contact, Message, utcnow
from tests import factories
from tests.browser_support import docs_screenshot, settled

pytestmark = pytest.mark.browser

ROWS = 620  # more than the 500 imported within the request: a worker imports them


def csv_file(tmp_path):
    lines = ["Telemóvel;Cliente;Cidade;Língua"]
    lines += [f"+44 7700 9{n:05d};Cliente {n};Porto;pt" for n in range(ROWS)]
    lines += ["12;Too short;Lisboa;pt", "+351 912 000 001;Bad language;Faro;Portuguese"]
    path = tmp_path / "clientes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_a_file_with_a_worker_and_download_what_was_refused(logged_in_page, live_stack, tmp_path):
    page = logged_in_page
    page.goto(f"{live_stack.url}/contacts/")
    page.click("text=Import from CSV")
    page.set_input_files("#import-file", str(csv_file(tmp_path)))
    page.click("button:text('Upload and preview')")

    expect(page.locator("h1")).to_have_text("What does each column hold?")
    expect(page.locator("#column-0")).to_have_value("number")  # Telemóvel
    expect(page.locator("#column-1")).to_have_value("name")  # Cliente
    expect(page.locator("#column-2")).to_have_value("field")  # Cidade
    page.select_option("#column-3", "language")  # Língua
    expect(page.locator(".import-map tbody tr")).to_have_count(5)
    docs_screenshot(page, "pages", "contacts-import-map")

    page.click("button:text('Import')")
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=60_000)
    expect(progress).to_contain_text(f"{ROWS} created")
    expect(progress).to_contain_text("2 refused")
    expect(progress.locator(".refused li")).to_have_count(2)
    expect(progress.locator(".refused")).to_contain_text("language")
    docs_screenshot(page, "pages", "contacts-import-done")
    with page.expect_download() as download:
        page.click("text=Download the refused rows (CSV)")
    report = download.value.path().read_text(encoding="utf-8")
    assert report.splitlines()[0] == "line,number,field,reason" and len(report.splitlines()) == 3

    with live_stack.app.app_context():
        contact = db.session.scalar(select(Contact).where(Contact.wa_id == "447700900007"))
        assert (contact.display_name, contact.language, contact.fields) == (
            "Cliente 7",
            "pt",
            {"cidade": "Porto"},
        )


def test_a_contacts_page_edits_opts_out_and_pages_back(logged_in_page, live_stack):
    with live_stack.app.app_context():
        contact = factories.make_contact("351912345678", profile_name="Ana Lima", tags=["vip"])
        conversation = factories.make_conversation(contact)
        start = utcnow() - timedelta(days=3)
        for n in range(45):
            text = f"Question {n}: when do you open?"
            db.session.add(
                Message(
                    conversation_id=conversation.id,
                    direction="in" if n % 2 else "out",
                    author_type="contact" if n % 2 else "agent",
                    text=text,
                    created_at=start + timedelta(minutes=n),
                )
            )
        db.session.commit()
        contact_id = contact.id
    page = logged_in_page
    page.goto(f"{live_stack.url}/contacts/")
    page.click("#contact-list a:text('Ana Lima')")
    expect(page.locator("h1")).to_have_text("Ana Lima")

    page.fill("#contact-language", "Portuguese")
    page.click("#contact-details button:text('Save')")
    expect(page.locator("#details-error")).to_contain_text("language")
    expect(page.locator("#contact-language")).to_have_attribute("aria-invalid", "true")
    page.fill("#contact-language", "pt-br")
    page.click("#contact-details button:text('Save')")
    expect(page.locator("#contact-details [role=status]")).to_have_text("Saved.")
    expect(page.locator("#contact-language")).to_have_value("pt-BR")

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#contact-consent button:text('Opt out')")
    expect(page.locator("#contact-consent")).to_contain_text("Opted out.")
    expect(page.locator("#contact-consent .consent-history li")).to_have_count(1)

    events = page.locator(".timeline .event")
    expect(events.first).to_contain_text("Opted out")  # the timeline redrew itself
    expect(events).to_have_count(30)
    page.click(".timeline .older button")
    expect(events).to_have_count(47)  # 45 messages, the opt-out and the creation
    settled(page)
    page.evaluate("window.scrollTo(0, 0)")
    docs_screenshot(page, "pages", "contact")

    with live_stack.app.app_context():
        saved = db.session.get(Contact, contact_id)
        assert saved.language == "pt-BR" and saved.opted_out
