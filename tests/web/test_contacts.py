"""The contacts page: login and CSRF, the list and its fragment, search, filters, pages, escaping, and
each bulk action answering the refreshed list with how many contacts changed."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Broadcast, Contact
from flowapp.services import automations
from tests import factories
from tests.services.test_maintenance import LOG_ONLY

BULK_ROUTES = [
    "/contacts/bulk/add-tag",
    "/contacts/bulk/remove-tag",
    "/contacts/bulk/opt-out",
    "/contacts/bulk/start",
]


def names(html: str) -> list[str]:
    return re.findall(r'<td class="name"><a href="/contacts/\d+">([^<]*)</a></td>', html)


def post(client, path, data):
    """An HTMX POST as the page makes it (the CSRF token in the header, as static/js/app.js sends it)."""
    headers = {"X-CSRFToken": factories.csrf_token(client, "/contacts/"), "HX-Request": "true"}
    return client.post(path, data=data, headers=headers)


@pytest.fixture
def people(session):
    ana = factories.make_contact("351912345678", profile_name="Ana", tags=["vip"], fields={"city": "Porto"})
    bruno = factories.make_contact("447700900123", profile_name="Bruno", fields={"city": "Leeds"})
    factories.make_conversation(ana, status="open")
    return {"ana": ana.id, "bruno": bruno.id}


def test_page_needs_login(client):
    """Logged out, the page sends to the login page."""
    response = client.get("/contacts/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", BULK_ROUTES)
def test_every_bulk_action_needs_login(client, path):
    """Logged out, every bulk action is refused."""
    response = client.post(path, data={"ids": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


@pytest.mark.parametrize("path", BULK_ROUTES)
def test_every_bulk_action_needs_the_csrf_token(logged_in, people, path):
    """Logged in but without the CSRF token, nothing changes."""
    data = {"ids": [people["ana"], people["bruno"]], "bulk_tag": "x"}
    response = logged_in.post(path, data=data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert db.session.get(Contact, people["bruno"]).tags in ([], None)
    assert db.session.get(Contact, people["bruno"]).opted_out is False


def test_page_lists_contacts_with_number_tags_and_conversation_link(logged_in, people):
    """The page, in the nav, shows each contact newest first with the formatted number, tags and a
    link to the open conversation."""
    html = logged_in.get("/contacts/").get_data(as_text=True)
    assert 'aria-current="page"' in html and "Contacts</a>" in html
    assert names(html) == ["Bruno", "Ana"]
    assert "+351 912 345 678" in html and '<span class="label">vip</span>' in html
    conversation = db.session.get(Contact, people["ana"])
    assert re.search(r'href="/inbox/c/\d+">Open</a>', html), conversation


def test_htmx_gets_the_list_alone(logged_in, people):
    """An HTMX request gets the list fragment (no layout), and the answer varies on HX-Request."""
    response = logged_in.get("/contacts/?q=ana", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="contact-list"') and names(html) == ["Ana"]
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=%2B351+912+345+678", ["Ana"]),
        ("q=00351912345678", ["Ana"]),
        ("q=912345678", ["Ana"]),
        ("q=leeds", ["Bruno"]),
        ("tag=vip", ["Ana"]),
        ("field=city&value=Leeds", ["Bruno"]),
        ("opted_out=yes", []),
        ("open=1", ["Ana"]),
        ("seen_days=7", []),
        ("seen_days=5&opted_out=maybe", ["Bruno", "Ana"]),  # unknown values are ignored
    ],
)
def test_search_and_filters_from_the_query_string(logged_in, people, query, expected):
    """Search and every filter work from the URL (so a filtered list can be bookmarked)."""
    assert names(logged_in.get(f"/contacts/?{query}").get_data(as_text=True)) == expected


def test_next_page_link_carries_the_cursor_and_filters(logged_in, session):
    """With more than a page, "Next page" carries the filters and an `after` cursor, and the pages
    together list every contact once."""
    for n in range(55):
        factories.make_contact(f"3519120{n:05d}", profile_name=f"P{n}", tags=["t"])
    first = logged_in.get("/contacts/?tag=t").get_data(as_text=True)
    link = re.search(r'class="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "tag=t" in link and "after=" in link
    second = logged_in.get(link).get_data(as_text=True)
    assert 'class="next"' not in second and 'class="first"' in second
    assert sorted(names(first) + names(second)) == sorted(f"P{n}" for n in range(55))


def test_customer_content_is_escaped(logged_in, session):
    """A name and a tag with markup show as text."""
    factories.make_contact("351912000002", profile_name="<b>x</b>", tags=["<i>t</i>"])
    html = logged_in.get("/contacts/").get_data(as_text=True)
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;i&gt;t&lt;/i&gt;" in html


def test_add_tag_answers_the_list_with_a_count(logged_in, people):
    """Adding a tag to two contacts, one of which has it, says 1 changed and shows the tag."""
    response = post(logged_in, "/contacts/bulk/add-tag", {"ids": list(people.values()), "bulk_tag": "vip"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "1 contact tagged." in html
    assert db.session.get(Contact, people["bruno"]).tags == ["vip"]


def test_bulk_answer_keeps_the_filters(logged_in, people):
    """The refreshed list is the one the user was looking at (its filters came with the form)."""
    data = {"ids": [people["ana"]], "bulk_tag": "vip", "q": "ana"}
    html = post(logged_in, "/contacts/bulk/remove-tag", data).get_data(as_text=True)
    assert "1 contact untagged." in html and names(html) == ["Ana"]
    assert db.session.get(Contact, people["ana"]).tags == []


def test_opt_out_answers_the_count(logged_in, people):
    """Opting out the selection says how many changed and marks them."""
    html = post(logged_in, "/contacts/bulk/opt-out", {"ids": list(people.values())}).get_data(as_text=True)
    assert "2 contacts opted out." in html
    assert db.session.get(Contact, people["ana"]).opted_out is True


def test_start_automation_creates_a_broadcast(logged_in, people):
    """Starting a published automation for the selection records a broadcast and says so."""
    automation = automations.create("Welcome <1>", trigger={"type": "manual"}, graph=LOG_ONLY)
    automations.publish(automation)
    data = {"ids": list(people.values()), "automation_id": automation.id}
    html = post(logged_in, "/contacts/bulk/start", data).get_data(as_text=True)
    assert "Starting “Welcome &lt;1&gt;” for 2 contacts." in html
    broadcast = db.session.scalar(select(Broadcast))
    assert broadcast.total == 2 and broadcast.automation_id == automation.id


@pytest.mark.parametrize(
    ("path", "data", "reason"),
    [
        ("/contacts/bulk/add-tag", {"bulk_tag": "x"}, "Select at least one contact."),
        ("/contacts/bulk/add-tag", {"ids": "1", "bulk_tag": " "}, "A tag is 1 to 64 characters."),
        ("/contacts/bulk/start", {"ids": "1", "automation_id": "999"}, "Choose a published automation."),
    ],
)
def test_bulk_refusals_say_why(logged_in, people, path, data, reason):
    """A refused bulk action answers 422 with the list and the reason, and changes nothing."""
    response = post(logged_in, path, data)
    assert response.status_code == 422 and reason in response.get_data(as_text=True)
    assert db.session.scalar(select(Broadcast)) is None


def test_select_all_that_match_counts_and_acts_on_every_page(logged_in, session):
    """60 "shop" contacts (two pages): the banner counts all of them, and a bulk action with
    all_matching takes every page of the filter and nobody else."""
    for n in range(60):
        factories.make_contact(f"3519130{n:05d}", profile_name=f"S{n}", tags=["shop"])
    other = factories.make_contact("351913999999", profile_name="Other", tags=["b2b"])
    db.session.commit()
    page = logged_in.get("/contacts/?tag=shop").get_data(as_text=True)
    assert 'hx-get="/contacts/matching?tag=shop"' in page
    banner = logged_in.get("/contacts/matching?tag=shop").get_data(as_text=True)
    assert "All <strong>60</strong> contacts" in banner and 'name="all_matching" value="1"' in banner

    response = post(
        logged_in, "/contacts/bulk/add-tag", {"all_matching": "1", "tag": "shop", "bulk_tag": "spring"}
    )
    assert "60 contacts tagged." in response.get_data(as_text=True)
    tagged = db.session.scalars(select(Contact).where(Contact.id != other.id)).all()
    assert len(tagged) == 60 and all("spring" in c.tags for c in tagged)
    db.session.refresh(other)
    assert other.tags == ["b2b"]


def test_select_all_that_match_refuses_more_than_its_limit(logged_in, session, monkeypatch):
    from flowapp.services import contact_bulk

    monkeypatch.setattr(contact_bulk, "MAX_MATCHING", 5)
    for n in range(6):
        factories.make_contact(f"3519140{n:05d}", tags=["shop"])
    db.session.commit()
    banner = logged_in.get("/contacts/matching?tag=shop").get_data(as_text=True)
    assert "match 6 contacts; a bulk action takes at most 5" in banner and "all_matching" not in banner
    response = post(logged_in, "/contacts/bulk/opt-out", {"all_matching": "1", "tag": "shop"})
    assert response.status_code == 422 and "more than 5 contacts" in response.get_data(as_text=True)
    assert not any(c.opted_out for c in db.session.scalars(select(Contact)))
