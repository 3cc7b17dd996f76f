"""Settings in a real browser: test the connection, make an API token and use it, open the job
dashboard (its own CSP must let its scripts run: the page would log errors otherwise)."""

from __future__ import annotations

import pytest
import requests
from rq import Queue

from tests import live
from tests.browser_support import docs_screenshot, screenshot

pytestmark = pytest.mark.browser


def test_test_connection_and_create_token(logged_in_page, live_stack):
    """Test connection shows the sandbox number; a new token is shown once and works on the API."""
    page = logged_in_page
    page.goto(f"{live_stack.url}/settings/")
    page.click("text=Test connection")
    page.wait_for_selector(".connection-ok")
    assert "Flowapp Sandbox" in page.locator("#connection-test").inner_text()
    screenshot(page, "settings")
    page.goto(f"{live_stack.url}/settings/tokens")
    page.fill("#token-name", "Browser test")
    page.click("text=Create token")
    value = page.locator("#token-value").inner_text().strip()
    assert value.startswith("fa_")
    screenshot(page, "settings-token")
    answer = requests.get(
        f"{live_stack.url}/api/contacts", headers={"Authorization": f"Bearer {value}"}, timeout=5
    )
    assert answer.status_code == 200 and answer.json()["data"] == []
    page.reload()
    assert value not in page.content()


def test_job_dashboard_loads_for_an_admin(logged_in_page, live_stack, redis):
    """The RQ dashboard lists queues with its scripts running (its CSP lets them; no console errors)."""
    Queue("browser-check", connection=redis).enqueue("flowapp.jobs.system.ping", "x")
    page = logged_in_page
    page.goto(f"{live_stack.url}/admin/rq/")
    page.wait_for_selector("text=browser-check")  # rendered by the dashboard's own JavaScript
    screenshot(page, "rq-dashboard")


def test_a_parked_event_is_retried_from_settings(logged_in_page, live_stack):
    """An admin sees a parked customer message with its error, retries it, and the live worker
    processes it: the customer's message reaches the inbox."""
    from sqlalchemy import select

    from flowapp.extensions import db
    from flowapp.models import Message, WebhookEvent, utcnow
    from flowapp.pipeline import intake
    from tests.helpers import customer_message, encode

    with live_stack.app.app_context():
        rows = intake.rows_for(encode(customer_message(text="parked then retried")), "meta")
        event = db.session.get(WebhookEvent, intake.receive(rows)[0])
        event.attempts, event.parked_at = 5, utcnow()
        event.error = "RuntimeError: a bug since fixed"
        db.session.commit()
        event_id = event.id
    page = logged_in_page
    page.goto(f"{live_stack.url}/settings/")
    page.click("text=Inbound events")
    row = page.locator(f"#event-{event_id}")
    assert "a bug since fixed" in row.inner_text()
    screenshot(page, "settings-inbound-events")
    row.locator("text=Retry").click()
    page.wait_for_selector("text=will be processed again now")

    def processed():
        with live_stack.app.app_context():
            found = db.session.scalar(select(Message).where(Message.text == "parked then retried"))
            db.session.remove()
            return found

    live.wait_for(processed, 30, "the retried event to be processed by the worker")
    page.reload()
    assert page.locator("#events-parked").inner_text() == "0"


def test_ai_provider_saved_and_tested_in_the_browser(logged_in_page, live_stack):
    """An admin points the AI provider at a local fake model, sets a key (never shown back), and
    Test connection shows the model, the latency and the tokens."""
    from flowapp.sandbox.fake_llm import FakeLLM, FakeLLMServer

    key = "sk-browser-test-0000000001"
    with FakeLLMServer(FakeLLM(api_key=key)) as fake:
        page = logged_in_page
        page.goto(f"{live_stack.url}/settings/")
        page.click("text=AI provider")
        page.fill("#ai-base_url", "not a url")
        page.click("text=Save")
        assert "Give the provider's address" in page.locator("#ai-base_url-error").inner_text()
        page.fill("#ai-base_url", fake.base_url)
        page.fill("#ai-model", "fake-model")
        page.fill("#ai-api_key", key)
        page.fill("#ai-daily_tokens", "200000")
        page.fill("#ai-prices", "fake-model 0.15 0.60")
        page.click("text=Save")
        page.wait_for_selector("text=AI provider saved")
        assert page.locator("#ai-key-state").inner_text() == "set" and key not in page.content()
        page.click("text=Test connection")
        page.wait_for_selector("#ai-test-result")
        result = page.locator("#ai-test-result").inner_text()
        assert "Connected: model fake-model answered in" in result and "tokens in" in result
        docs_screenshot(page, "pages", "settings-ai")
