"""The app shell in a real browser: login, navigation, the sandbox banner."""

import pytest
import requests
from playwright.sync_api import expect

from tests.browser_support import screenshot, settled

pytestmark = pytest.mark.browser


def test_login_and_navigate(logged_in_page, live_stack):
    """After login every main page opens from the navigation, with the sandbox banner on it."""
    page = logged_in_page
    for label, path in (
        ("Inbox", "/inbox/"),
        ("Contacts", "/contacts/"),
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


def test_sandbox_banner_does_not_make_a_short_page_scroll(logged_in_page, live_stack):
    """At 1366x768 with the sandbox banner shown, a page whose content fits has nothing to scroll."""
    page = logged_in_page
    for path in ("/settings/tokens", "/automations/"):
        page.goto(f"{live_stack.url}{path}")
        banner = page.locator(".sandbox-banner")
        assert banner.is_visible() and banner.bounding_box()["height"] > 20
        # The sidebar still fills the viewport, and the content is short enough to fit beside it.
        assert page.locator("nav.sidebar").bounding_box()["height"] == 768
        assert page.locator("main.content > *").last.bounding_box()["y"] < 500
        assert _scroll_and_viewport_heights(page) == (768, 768), path
    page.click("text=Log out")  # logged out, the banner sits above the login form
    page.wait_for_url("**/login*")
    assert page.locator(".sandbox-banner").is_visible()
    assert _scroll_and_viewport_heights(page) == (768, 768)


def test_the_inbox_fits_the_window_beside_the_banner(logged_in_page, live_stack):
    """The inbox fills what the banner leaves of the window, however tall the banner is (two lines in
    a narrower window): the page does not scroll, its columns do, and Send is on screen."""
    page = logged_in_page
    page.set_viewport_size({"width": 1180, "height": 700})  # wide enough for three columns
    requests.post(
        f"{live_stack.mock.url}/_mock/inbound",
        json={"from": "15551110009", "name": "Nuno", "text": "Hello"},
        timeout=10,
    ).raise_for_status()
    page.goto(f"{live_stack.url}/inbox/")
    row = page.locator(".conv", has=page.locator(".conv-name", has_text="Nuno"))
    expect(row).to_be_visible(timeout=20_000)
    row.locator("a").click()
    expect(page.locator(".thread-name")).to_have_text("Nuno")
    # It wrapped (waited for: under load the swap can be measured before the layout settles).
    page.wait_for_function("document.querySelector('.sandbox-banner').getBoundingClientRect().height > 40")
    settled(page)
    assert _scroll_and_viewport_heights(page) == (700, 700)
    send = page.locator("#composer button.send").bounding_box()
    assert send["y"] + send["height"] <= 700


def _scroll_and_viewport_heights(page) -> tuple[int, int]:
    return tuple(page.evaluate("[document.documentElement.scrollHeight, window.innerHeight]"))


def test_banner_links_the_phone_simulator(logged_in_page, live_stack):
    """The sandbox banner's link opens the phone simulator."""
    page = logged_in_page
    page.click(".sandbox-banner >> text=Open the phone simulator")
    page.wait_for_url("**/sandbox/phone")
