"""The app shell in a real browser: login, navigation, the sandbox banner."""

import pytest

from tests.browser_support import screenshot

pytestmark = pytest.mark.browser


def test_login_and_navigate(logged_in_page, live_stack):
    """After login every main page opens from the navigation, with the sandbox banner on it."""
    page = logged_in_page
    for label, path in (
        ("Inbox", "/inbox/"),
        ("Analytics", "/analytics/"),
        ("Settings", "/settings/"),
        ("Automations", "/automations/"),
    ):
        page.click(f"nav >> text={label}")
        page.wait_for_url(f"**{path}")
        assert page.locator("h1").first.inner_text() == label
        assert page.locator(".sandbox-banner").is_visible()
    screenshot(page, "shell")


def test_wrong_password_stays_on_login(browser_page, live_stack):
    """A wrong password shows the message and no navigation."""
    live_stack.create_admin()
    page = browser_page
    page.goto(f"{live_stack.url}/login")
    page.fill("#email", "admin@example.com")
    page.fill("#password", "nope-nope-nope")
    page.click("button[type=submit]")
    assert page.locator(".flash-error").inner_text().startswith("That email and password")
    assert page.locator("nav.sidebar").count() == 0
