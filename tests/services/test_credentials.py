"""WhatsApp credentials from Settings: encrypted at rest, used over the environment's, cleared back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flowapp.extensions import db
from flowapp.models import Setting
from flowapp.sandbox import MockConfig, MockServer
from flowapp.services import credentials, graph
from flowapp.whatsapp.errors import GraphError
from tests.helpers import customer_message, post_webhook


@pytest.fixture
def overlay(app, session):
    """Stored credentials for one test; the app's configuration is put back afterwards."""
    credentials.reset(app)
    yield app
    for name in credentials.FIELDS:
        credentials.clear(name)
    credentials.apply(app, force=True)
    credentials.reset(app)


def test_encryption_round_trip_and_wrong_key():
    """A value decrypts with the same SECRET_KEY only."""
    token = credentials.encrypt("EAAG-secret", "key-one-0123456789")
    assert "EAAG" not in token
    assert credentials.decrypt(token, "key-one-0123456789") == "EAAG-secret"
    assert credentials.decrypt(token, "another-key-0123456") is None
    assert credentials.decrypt("garbage", "key-one-0123456789") is None


def test_stored_values_are_encrypted_in_the_table(overlay):
    """The settings row holds ciphertext, never the secret."""
    credentials.store("APP_SECRET", "s3cret-value-123")
    row = db.session.get(Setting, "credential.APP_SECRET")
    assert "s3cret" not in str(row.value)
    assert credentials.stored_values()["APP_SECRET"] == "s3cret-value-123"


@pytest.mark.parametrize(
    ("name", "value"),
    [("PHONE_NUMBER_ID", "abc"), ("APP_SECRET", "two words"), ("APP_SECRET", ""), ("NOPE", "x")],
)
def test_bad_values_are_refused(overlay, name, value):
    """Ids are digits, secrets one word, names known, values non-empty."""
    with pytest.raises(credentials.CredentialError):
        credentials.store(name, value)


def test_stored_values_win_and_clearing_restores_the_environment(overlay):
    """apply() overlays stored values on the config; clearing brings the environment's back."""
    app = overlay
    original = app.config["APP_SECRET"]
    credentials.store("APP_SECRET", "from-settings-123")
    credentials.store("PHONE_NUMBER_ID", "123456789")
    assert credentials.apply(app, force=True) is True
    assert app.config["APP_SECRET"] == "from-settings-123" and app.config["PHONE_NUMBER_ID"] == "123456789"
    described = credentials.describe(app)
    assert described["APP_SECRET"] == {"source": "settings", "secret": True, "value": None}
    assert described["PHONE_NUMBER_ID"]["value"] == "123456789"
    credentials.clear("APP_SECRET")
    credentials.apply(app, force=True)
    assert app.config["APP_SECRET"] == original
    assert credentials.describe(app)["APP_SECRET"]["source"] == "environment"


def test_a_token_switches_off_sandbox_mode(overlay):
    """Storing an access token leaves sandbox mode; clearing it goes back."""
    app = overlay
    assert app.config["SANDBOX"] is True
    credentials.store("WHATSAPP_TOKEN", "EAAG-live-token")
    credentials.apply(app, force=True)
    assert app.config["SANDBOX"] is False and app.config["WHATSAPP_TOKEN"] == "EAAG-live-token"
    credentials.clear("WHATSAPP_TOKEN")
    credentials.apply(app, force=True)
    assert app.config["SANDBOX"] is True


def test_webhooks_are_checked_with_the_stored_app_secret(overlay, client):
    """After a new app secret is saved, webhooks signed with it are accepted and old ones refused."""
    credentials.store("APP_SECRET", "brand-new-app-secret")
    credentials.apply(overlay, force=True)
    assert post_webhook(client, customer_message(), secret="brand-new-app-secret").status_code == 200
    assert post_webhook(client, customer_message(text="again")).status_code == 403


def test_graph_client_uses_the_stored_token(overlay):
    """The Graph client is rebuilt with a stored token (a mock that wants exactly that token)."""
    app = overlay
    with MockServer(MockConfig(statuses=False, token="EAAG-stored-token")) as mock:
        previous = app.config["GRAPH_API_URL"]
        app.config["GRAPH_API_URL"] = mock.url
        app.extensions.pop("flowapp_graph", None)
        try:
            with pytest.raises(GraphError):
                graph.profile()
            credentials.store("WHATSAPP_TOKEN", "EAAG-stored-token")
            db.session.commit()
            credentials.apply(app, force=True)
            assert graph.profile()["verified_name"]
        finally:
            app.config["GRAPH_API_URL"] = previous
            client = app.extensions.pop("flowapp_graph", None)
            if client is not None:
                client.close()


def test_a_changed_secret_key_makes_stored_values_unreadable(overlay, monkeypatch):
    """Encrypted under another SECRET_KEY: ignored (the environment's applies) and flagged."""
    credentials.store("APP_SECRET", "old-key-secret-123")
    monkeypatch.setitem(overlay.config, "SECRET_KEY", "a-completely-different-key")
    assert credentials.describe(overlay)["APP_SECRET"]["source"] == "unreadable"
    credentials.apply(overlay, force=True)
    assert overlay.config["APP_SECRET"] != "old-key-secret-123"


def test_stored_secrets_are_masked_in_logs(overlay):
    """A secret applied from Settings is redacted from log files like the environment's."""
    credentials.store("WHATSAPP_TOKEN", "EAAG-must-not-leak")
    credentials.apply(overlay, force=True)
    logging.getLogger("flowapp.test").warning("calling Meta with EAAG-must-not-leak now")
    # The app.log of whichever app configured logging last (another test may have made its own).
    handler = next(
        h for h in logging.getLogger("flowapp").handlers if getattr(h, "baseFilename", "").endswith("app.log")
    )
    handler.flush()
    text = Path(handler.baseFilename).read_text()
    assert "calling Meta with [REDACTED] now" in text
    assert "EAAG-must-not-leak" not in text


def test_reading_outside_a_transaction_opens_none(make_app):
    """In a web process the read uses a connection of its own: the request's session stays idle."""
    other = make_app()
    with other.app_context():
        assert credentials.stored_values(other) == {}
        assert not db.session().in_transaction()
        assert credentials.apply(other, force=True) is False
