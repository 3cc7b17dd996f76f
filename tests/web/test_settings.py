"""Settings: WhatsApp credentials (secrets write-only), the webhook facts, test connection, sending
values, and admin-only sections enforced on the server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flowapp.extensions import db
from flowapp.models import WebhookEvent, utcnow
from flowapp.services import credentials, maintenance, settings
from tests import factories


@pytest.fixture
def restore_credentials(app):
    """Whatever a test stores, the shared app's configuration is the environment's again afterwards."""
    credentials.reset(app)
    yield
    credentials.reset(app)


def form(client, path="/settings/", **data):
    return {"csrf_token": factories.csrf_token(client, path), **data}


def test_admin_sees_webhook_facts_and_credentials_form(logged_in, app):
    """The callback URL and verify token to paste into Meta, and a form with empty secret boxes."""
    html = logged_in.get("/settings/").get_data(as_text=True)
    assert "http://localhost/webhooks/whatsapp" in html
    assert app.config["WEBHOOK_VERIFY_TOKEN"] in html
    assert 'name="APP_SECRET" type="password" value=""' in html
    assert app.config["APP_SECRET"] not in html


def test_saved_secret_is_never_rendered_back(logged_in, app, restore_credentials):
    """A saved token and app secret are used, and never appear in the page again."""
    data = form(logged_in, WHATSAPP_TOKEN="EAAG-secret-token-value", APP_SECRET="new-app-secret-xyz")
    response = logged_in.post("/settings/whatsapp", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Saved: WHATSAPP_TOKEN, APP_SECRET" in html
    assert "EAAG-secret-token-value" not in html and "new-app-secret-xyz" not in html
    assert "set here" in html
    assert app.config["APP_SECRET"] == "new-app-secret-xyz"


def test_empty_secret_box_keeps_the_stored_value_and_clear_restores(logged_in, app, restore_credentials):
    """Submitting the form untouched changes nothing; ticking Clear goes back to the environment's."""
    original = app.config["APP_SECRET"]
    logged_in.post("/settings/whatsapp", data=form(logged_in, APP_SECRET="kept-secret-123"))
    logged_in.post("/settings/whatsapp", data=form(logged_in, APP_SECRET=""))
    assert app.config["APP_SECRET"] == "kept-secret-123"
    logged_in.post("/settings/whatsapp", data=form(logged_in, clear_APP_SECRET="1"))
    assert app.config["APP_SECRET"] == original
    assert credentials.stored_values() == {}


def test_invalid_credentials_are_refused(logged_in, restore_credentials):
    """A phone number id that is not digits is refused with a message; nothing is stored."""
    response = logged_in.post(
        "/settings/whatsapp", data=form(logged_in, PHONE_NUMBER_ID="abc"), follow_redirects=True
    )
    assert "digits only" in response.get_data(as_text=True)
    assert credentials.stored_values() == {}


def test_test_connection_shows_the_number(logged_in, graph_mock):
    """Test connection asks Meta (the mock) and shows display number, verified name and quality."""
    html = logged_in.post("/settings/whatsapp/test", data=form(logged_in)).get_data(as_text=True)
    assert "+1 555-010-0000" in html and "Flowapp Sandbox" in html and "GREEN" in html


def test_test_connection_reports_a_failure(logged_in):
    """With Meta unreachable the fragment says so instead of failing."""
    html = logged_in.post("/settings/whatsapp/test", data=form(logged_in)).get_data(as_text=True)
    assert "Meta refused" in html


def test_sending_settings_are_validated_and_stored(logged_in):
    """Send rate 1..1000, an IANA time zone, retention days; all or nothing."""
    ok = form(logged_in, send_rate="250", timezone="Europe/Lisbon", log_retention_days="14")
    html = logged_in.post("/settings/general", data=ok, follow_redirects=True).get_data(as_text=True)
    assert "Sending settings saved" in html
    assert (settings.get("send_rate"), settings.get("timezone"), settings.get("log_retention_days")) == (
        250,
        "Europe/Lisbon",
        14,
    )
    bad = form(logged_in, send_rate="5000", timezone="Mars/Base", log_retention_days="0")
    html = logged_in.post("/settings/general", data=bad, follow_redirects=True).get_data(as_text=True)
    assert "from 1 to 1000" in html and "not an IANA time zone" in html and "from 1 to 3650" in html
    assert settings.get("send_rate") == 250


def test_stored_retention_overrides_the_configuration(session):
    """The weekly cleanup uses the retention saved in Settings over LOG_RETENTION_DAYS."""
    old = utcnow() - timedelta(days=5)
    db.session.add(WebhookEvent(body=b"{}", dedupe_key="k" * 64, received_at=old, processed_at=old))
    db.session.flush()
    assert maintenance.cleanup(30) == 0  # 5 days old, kept for 30 days
    settings.put("log_retention_days", 3)
    assert maintenance.cleanup(30) == 1  # the stored 3 days win


@pytest.mark.parametrize(
    "path",
    [
        "/settings/whatsapp",
        "/settings/whatsapp/test",
        "/settings/general",
        "/settings/users",
        "/settings/tokens",
    ],
)
def test_agents_cannot_change_configuration(client, user, path):
    """An agent's POST to an admin section is 403, whatever the page shows."""
    factories.login(client, user.email, "correct horse battery")
    response = client.post(path, data=form(client))
    assert response.status_code == 403


def test_agents_see_the_overview_without_forms(client, user, app):
    """An agent sees the connection facts but no credentials, verify token or admin links."""
    factories.login(client, user.email, "correct horse battery")
    html = client.get("/settings/").get_data(as_text=True)
    assert "WhatsApp connection" in html and "Background workers" in html
    assert 'name="WHATSAPP_TOKEN"' not in html and app.config["WEBHOOK_VERIFY_TOKEN"] not in html
    assert "/settings/users" not in html and "/admin/rq" not in html
    assert client.get("/settings/users").status_code == 403
    assert client.get("/settings/tokens").status_code == 403
