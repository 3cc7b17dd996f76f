"""Every page's icon exists: the tab shows Flowapp's logo and no page logs a 404 for its icon."""

from __future__ import annotations

from html.parser import HTMLParser

# The job dashboard's pages (rq-dashboard) link an icon of their own; the rest are Flowapp's.
DASHBOARD_PAGES = ("/admin/rq/", "/admin/rq/0/view/workers", "/admin/rq/0/view/jobs")


class IconLinks(HTMLParser):
    """The hrefs of a page's <link rel="icon"> (or "shortcut icon") tags."""

    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and "icon" in (attributes.get("rel") or "").split():
            self.hrefs.append(attributes["href"])


def icon_urls(response) -> list[str]:
    """What a browser fetches as the page's icon: its links, else /favicon.ico."""
    if not response.mimetype == "text/html":
        return ["/favicon.ico"]
    parser = IconLinks()
    parser.feed(response.get_data(as_text=True))
    return parser.hrefs or ["/favicon.ico"]


def assert_icons_load(client, path: str) -> None:
    page = client.get(path)
    urls = icon_urls(page)
    page.close()
    for url in urls:
        icon = client.get(url)
        icon.close()  # a file response: release the file
        assert (icon.status_code, icon.mimetype.split("/")[0]) == (200, "image"), f"{path}: {url}"


def test_every_page_has_an_icon_that_loads(app, logged_in):
    """Each page without arguments, the job dashboard and the 404 page: its icon answers 200."""
    paths = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not rule.rule.endswith(".ico")
    ]
    for path in [*paths, *DASHBOARD_PAGES, "/no-such-page"]:
        assert_icons_load(logged_in, path)


def test_icon_loads_before_login(client):
    """The login page's icon, and /favicon.ico for a JSON answer (/healthz), load without a session."""
    for path in ("/login", "/healthz"):
        assert_icons_load(client, path)
