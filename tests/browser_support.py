"""Browser tests: Debian's Chromium driven by Playwright, against a live Flowapp (`live_stack`).

Chromium is /usr/bin/chromium (`apt-get install chromium`). Without it browser tests are skipped
with a message, except under CI=true, where a missing browser fails the run. Screenshots go to
test-artifacts/screenshots/ (kept by CI as artifacts).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
EDITOR_READY = "html[data-editor-ready=true]"  # set by the editor's script once the canvas is drawn


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium for the whole run."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message + ": browser tests must run in CI")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh page (its own cookies) at 1366x768; script errors in the page fail the test."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Script errors only: "Failed to load resource" is the browser noting a 4xx the test expects.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.set_default_timeout(10_000)
    yield page
    context.close()
    assert [e for e in errors if "favicon" not in e] == [], f"errors in the browser console: {errors}"


@pytest.fixture
def logged_in_page(live_stack, browser_page):
    """A page logged in to the live stack as an admin."""
    live_stack.create_admin()
    page = browser_page
    page.goto(f"{live_stack.url}/login")
    page.fill("#email", "admin@example.com")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/automations/.*"))
    return page


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def docs_screenshot(page, folder: str, name: str) -> Path:
    """Save a screenshot the documentation shows: under test-artifacts/screenshots/docs/<folder>/,
    or under $FLOWAPP_DOCS_SCREENSHOTS/<folder>/ (docs/img refreshes the docs' own copies)."""
    base = os.environ.get("FLOWAPP_DOCS_SCREENSHOTS")
    directory = Path(__file__).resolve().parents[1] / base if base else SCREENSHOTS / "docs"
    path = directory / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=False)
    return path


def settled(page) -> None:
    """htmx has swapped and processed every fragment (its hx- attributes work only after the
    settle step, a few milliseconds after the new content appears)."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
