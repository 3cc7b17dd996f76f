"""Templates fetched from the business account (the mock plays Meta), and the Settings refresh."""

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import MessageTemplate
from flowapp.services import graph, templates
from tests import factories


def test_sync_fetches_every_page(graph_mock, session):
    """Every template of the account is stored with its status, category and parameter counts."""
    counts = templates.sync(graph.client())
    rows = {(t.name, t.language): t for t in db.session.scalars(select(MessageTemplate))}
    assert counts["created"] == len(rows) >= 7
    reminder = rows[("appointment_reminder", "en_US")]
    assert reminder.approved and reminder.category == "UTILITY"
    assert reminder.parameters["body"] == 3
    assert not rows[("welcome_offer", "en_US")].approved
    assert {t.language for t in rows.values() if t.name == "birthday_greeting"} == {"en_US", "es"}


def test_sync_updates_and_marks_vanished_templates(graph_mock, session):
    """A second sync updates rows; a template Meta no longer lists is marked deleted, never sendable."""
    templates.sync(graph.client())
    db.session.commit()
    db.session.add(
        MessageTemplate(name="old_thing", language="en_US", status="APPROVED", components=[], parameters={})
    )
    db.session.commit()
    counts = templates.sync(graph.client())
    assert counts["gone"] == 1 and counts["created"] == 0
    assert templates.find("old_thing", "en_US").status == "DELETED"
    assert all(t.name != "old_thing" for t in templates.approved())


def test_settings_refresh_button(graph_mock, logged_in):
    """Settings' refresh button fetches the templates and lists them."""
    token = factories.csrf_token(logged_in, "/settings/")
    response = logged_in.post("/settings/templates/refresh", data={"csrf_token": token})
    assert response.status_code == 302
    page = logged_in.get("/settings/").get_data(as_text=True)
    assert "Templates refreshed" in page and "appointment_reminder" in page and "body: 3" in page


def test_settings_refresh_reports_meta_errors(graph_mock, logged_in):
    """When Meta refuses the access token, the page says so and nothing changes."""
    import requests

    requests.post(
        f"{graph_mock.url}/_mock/config", json={"token": "another-token"}, timeout=5
    ).raise_for_status()
    token = factories.csrf_token(logged_in, "/settings/")
    logged_in.post("/settings/templates/refresh", data={"csrf_token": token})
    assert "Meta refused the request" in logged_in.get("/settings/").get_data(as_text=True)
    assert db.session.scalar(select(MessageTemplate)) is None
