"""Links in templates name endpoints that exist: a misspelt endpoint once hid the phone simulator's
link from every page (the banner checked for "sandbox.phone"; the view is "sandbox.phone_page")."""

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_every_endpoint_a_template_names_exists(app):
    named = {
        (path.relative_to(TEMPLATES).as_posix(), endpoint)
        for path in TEMPLATES.rglob("*.html")
        for endpoint in re.findall(r"""url_for\(\s*['"]([\w.]+)['"]""", path.read_text())
    }
    assert len(named) > 50  # the pattern finds them
    missing = sorted(
        (template, endpoint) for template, endpoint in named if endpoint not in app.view_functions
    )
    assert missing == []


def test_the_sandbox_banner_links_to_the_phone(logged_in):
    """In sandbox mode every page says so and links to the phone simulator."""
    for page in ("/automations/", "/inbox/", "/settings/"):
        html = logged_in.get(page).get_data(as_text=True)
        assert 'class="sandbox-banner"' in html and 'href="/sandbox/phone"' in html, page
