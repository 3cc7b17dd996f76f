"""Settings > AI provider: admins only, CSRF, the key write-only, refused values named with nothing
saved, and "Test connection" against the real fake model server."""

from __future__ import annotations

from html import unescape

import pytest
import requests
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AICall, Setting
from flowapp.sandbox.fake_llm import FakeLLM, FakeLLMServer
from flowapp.services import ai_settings
from tests import factories

KEY = "sk-proj-SECRETSECRET0001"


def form(client, **data):
    values = {"base_url": "", "model": "", "temperature": "0.2", "max_tokens": "500", "prices": ""}
    return {"csrf_token": factories.csrf_token(client, "/settings/ai"), **values, **data}


def stored():
    return db.session.get(Setting, ai_settings.PROVIDER_KEY)


def test_agents_get_403_and_anonymous_visitors_the_login(client, user):
    """Only admins see or change the AI provider."""
    assert client.get("/settings/ai").status_code in (302, 401)
    factories.login(client, user.email, "correct horse battery")
    assert client.get("/settings/ai").status_code == 403
    token = factories.csrf_token(client, "/settings/")  # a page agents may see
    assert client.post("/settings/ai", data={"model": "x", "csrf_token": token}).status_code == 403
    assert client.post("/settings/ai/test", data={"csrf_token": token}).status_code == 403
    assert stored() is None


def test_post_without_csrf_is_refused(logged_in):
    """A POST without the CSRF token is refused and saves nothing."""
    response = logged_in.post(
        "/settings/ai", data={"model": "gpt-4o", "temperature": "0.2", "max_tokens": "5"}
    )
    assert response.status_code == 400 and stored() is None
    assert logged_in.post("/settings/ai/test").status_code == 400


def test_save_stores_values_and_the_key_stays_write_only(logged_in):
    """Saved values come back in the form; the key is "set" and never rendered."""
    data = form(
        logged_in, base_url="https://api.openai.com/v1/", model="gpt-4o-mini", api_key=KEY,
        temperature="0.5", max_tokens="300", timeout="20", daily_tokens="100000",
        automation_daily_tokens="5000",
        prices="gpt-4o-mini 0.15 0.60\ngpt-4o 2.5 10",
    )  # fmt: skip
    response = logged_in.post("/settings/ai", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "AI provider saved" in html
    assert KEY not in html and 'id="ai-key-state" class="source source-settings">set<' in html
    assert 'value="https://api.openai.com/v1"' in html and "gpt-4o-mini 0.15 0.6" in html
    values = stored().value
    assert values["daily_tokens"] == 100000 and values["prices"]["gpt-4o"] == [2.5, 10.0]
    config = ai_settings.provider_config()
    assert (config.base_url, config.model, config.api_key) == (
        "https://api.openai.com/v1",
        "gpt-4o-mini",
        KEY,
    )
    assert (config.temperature, config.max_tokens, config.read_timeout) == (0.5, 300, 20.0)
    assert KEY not in str(db.session.get(Setting, ai_settings.API_KEY_KEY).value)


def test_environment_values_show_as_placeholders_and_are_not_copied(logged_in, app):
    """With nothing stored, the base URL and model in force are placeholders; saving keeps them unset."""
    html = logged_in.get("/settings/ai").get_data(as_text=True)
    assert f'value="" placeholder="{app.config["AI_BASE_URL"]}"' in html
    assert 'id="ai-key-state" class="source source-unset">not set<' in html
    logged_in.post("/settings/ai", data=form(logged_in, temperature="0.4"))
    assert stored().value["base_url"] is None and stored().value["model"] is None
    assert ai_settings.current()["base_url"] == app.config["AI_BASE_URL"]


def test_empty_key_box_keeps_the_key_and_clear_removes_it(logged_in):
    """Saving with the key box empty keeps the stored key; ticking Clear forgets it."""
    logged_in.post("/settings/ai", data=form(logged_in, api_key=KEY))
    logged_in.post("/settings/ai", data=form(logged_in))
    assert ai_settings.api_key() == KEY
    logged_in.post("/settings/ai", data=form(logged_in, clear_api_key="1"))
    assert db.session.get(Setting, ai_settings.API_KEY_KEY) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("base_url", "ftp://models.example", "Give the provider's address"),
        ("base_url", "https://x.openai.azure.com/openai?api-version=1", "no ?query"),
        ("temperature", "3", "from 0 to 2"),
        ("temperature", "nan", "must be a number"),
        ("max_tokens", "0", "whole number from 1"),
        ("timeout", "601", "from 1 to 600"),
        ("daily_tokens", "-5", "whole number from 1"),
        ("automation_daily_tokens", "lots", "whole number from 1"),
        ("prices", "gpt-4o 2.5", "Line 1: write 'model input-price output-price'"),
        ("prices", "gpt-4o -1 2", "from 0 to 10,000"),
        ("model", "two words", "one word"),
        ("api_key", "has a space", "one word"),
    ],
)
def test_bad_values_are_named_beside_the_field_and_nothing_is_saved(logged_in, field, value, message):
    """422 with the problem next to its box; neither the values nor the key are stored."""
    data = form(logged_in, **{"model": "kept-model", field: value})
    if field != "api_key":
        data["api_key"] = KEY
    response = logged_in.post("/settings/ai", data=data)
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert f'id="ai-{field}-error" role="alert">' in html and message in html
    assert stored() is None and db.session.get(Setting, ai_settings.API_KEY_KEY) is None
    assert KEY not in html


def test_test_connection_shows_model_latency_and_tokens(logged_in, fake_llm):
    """A real call to the fake model: the fragment names the model, the latency and the tokens."""
    logged_in.post("/settings/ai", data=form(logged_in, base_url=fake_llm.base_url, model="fake-model"))
    response = logged_in.post(
        "/settings/ai/test", data={"csrf_token": factories.csrf_token(logged_in, "/settings/ai")}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Connected: model <code>fake-model</code> answered in" in html and "4 tokens in, 4 out" in html
    assert requests.get(f"{fake_llm.url}/_fake/requests", timeout=5).json()["count"] == 1
    assert [c.node_id for c in db.session.scalars(select(AICall))] == ["settings-test"]


def test_test_connection_shows_the_error_without_the_key(logged_in):
    """A wrong key: the provider's complaint is shown, the key masked."""
    with FakeLLMServer(FakeLLM(api_key="sk-the-right-one-000")) as server:
        logged_in.post("/settings/ai", data=form(logged_in, base_url=server.base_url, api_key=KEY))
        token = factories.csrf_token(logged_in, "/settings/ai")
        html = logged_in.post("/settings/ai/test", data={"csrf_token": token}).get_data(as_text=True)
    assert "The call failed (auth)" in html and "Incorrect API key provided: ***" in html
    assert KEY not in html
