"""One contact's page: login and CSRF, every section, escaping of what customers wrote, the details
form (saved, or refused with the problem beside it and nothing saved), opting out and back in with
the history, and the timeline's "Older" pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import ConsentChange, Contact, ContactGroup, GroupMember, Message, utcnow
from flowapp.services import contact_fields, groups
from tests import factories
from tests.helpers import customer_message, deliver
from tests.services.test_runner import MENU, publish

WA_ID = "351912345678"


def post(client, path, data):
    headers = {"X-CSRFToken": factories.csrf_token(client, "/contacts/"), "HX-Request": "true"}
    return client.post(path, data=data, headers=headers)


@pytest.fixture
def ana(session, redis):
    """A contact who wrote "menu" to a published automation (a run, a reply) and is in a group."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "exact"}, MENU)
    deliver(customer_message(sender=WA_ID, name="Ana <b>Bold</b>", text="menu"))
    deliver(customer_message(sender=WA_ID, name="Ana <b>Bold</b>", text="<script>alert(1)</script>"))
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == WA_ID))
    contact.tags = ["vip"]
    contact.fields = {"city": "Porto"}
    group = ContactGroup(name="Spring <i>fair</i>", kind="static")
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupMember(group_id=group.id, contact_id=contact.id))
    db.session.commit()
    return contact


def test_the_page_needs_login(client, ana):
    response = client.get(f"/contacts/{ana.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for path in (f"/contacts/{ana.id}", f"/contacts/{ana.id}/consent", f"/contacts/{ana.id}/groups"):
        refused = client.post(path, data={"opted_out": "1"}, headers={"HX-Request": "true"})
        assert refused.status_code == 401


@pytest.mark.parametrize("path", ["/contacts/{id}", "/contacts/{id}/consent", "/contacts/{id}/groups"])
def test_changes_need_the_csrf_token(logged_in, ana, path):
    response = logged_in.post(
        path.format(id=ana.id), data={"opted_out": "1", "display_name": "X"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    db.session.refresh(ana)
    assert not ana.opted_out and ana.display_name is None


def test_every_section_is_shown_and_customer_text_is_escaped(logged_in, ana):
    html = logged_in.get(f"/contacts/{ana.id}").get_data(as_text=True)
    for title in (
        "Details",
        "Marketing consent",
        "Groups and segments",
        "Conversation",
        "Automation runs",
        "Activity",
    ):
        assert f">{title}</h2>" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html and "Ana &lt;b&gt;Bold&lt;/b&gt;" in html
    assert "Spring &lt;i&gt;fair&lt;/i&gt;" in html
    assert re.search(r'<tr data-run-id="\d+">\s*<td><a href="/automations/\d+/runs/\d+">Menu</a>', html)
    assert 'value="Porto"' in html and 'value="vip"' in html
    assert 'href="/inbox/c/' in html  # the conversation


def test_the_contacts_list_links_each_name_to_its_page(logged_in, ana):
    html = logged_in.get("/contacts/").get_data(as_text=True)
    assert f'<a href="/contacts/{ana.id}">' in html


def test_an_unknown_contact_is_a_404(logged_in, session):
    assert logged_in.get("/contacts/999999").status_code == 404


def test_saving_the_details(logged_in, ana):
    data = {
        "display_name": "Ana Lima",
        "language": "pt_br",
        "birthday": "1990-04-25",
        "timezone": "Europe/Lisbon",
        "tags": "vip, spring",
        "field_key": ["city", "", "plan"],
        "field_value": ["", "", "gold"],
    }
    response = post(logged_in, f"/contacts/{ana.id}", data)
    assert response.status_code == 200 and "Saved." in response.get_data(as_text=True)
    db.session.refresh(ana)
    assert (ana.display_name, ana.language, ana.timezone) == ("Ana Lima", "pt-BR", "Europe/Lisbon")
    assert ana.tags == ["vip", "spring"] and ana.fields == {"plan": "gold"}  # an emptied field is removed


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("language", "Portuguese", "language"),
        ("timezone", "Mars/Olympus", "timezone"),
        ("birthday", "25/04/1990", "birthday"),
        ("display_name", "x" * 300, "display_name"),
    ],
)
def test_a_refused_value_is_named_kept_in_the_form_and_nothing_is_saved(logged_in, ana, field, value, named):
    data = {"display_name": "Changed", "tags": "vip", "field_key": ["city"], "field_value": ["Porto"]}
    data[field] = value
    response = post(logged_in, f"/contacts/{ana.id}", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f"{named}:" in html
    assert 'aria-invalid="true"' in html
    db.session.refresh(ana)
    assert ana.display_name is None and ana.language is None and ana.timezone is None


def test_opting_out_and_back_in_is_recorded_with_who_did_it(logged_in, ana, admin):
    out = post(logged_in, f"/contacts/{ana.id}/consent", {"opted_out": "1"})
    assert out.status_code == 200 and "Opted out." in out.get_data(as_text=True)
    back = post(logged_in, f"/contacts/{ana.id}/consent", {"opted_out": "0"})
    assert "Opted in." in back.get_data(as_text=True)
    changes = db.session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
    assert [(c.opted_out, c.source, c.user_id) for c in changes] == [
        (True, "agent", admin.id),
        (False, "agent", admin.id),
    ]
    assert post(logged_in, f"/contacts/{ana.id}/consent", {"opted_out": "maybe"}).status_code == 400
    assert out.headers["HX-Trigger"] == "contact-changed"  # the page's timeline redraws itself
    timeline = logged_in.get(f"/contacts/{ana.id}/timeline").get_data(as_text=True)
    assert re.search(r"Opted back in</span>\s*by admin@example.com", timeline)


def test_the_timeline_pages_back_with_older(logged_in, ana):
    """75 older messages: the first page ends with "Older", whose pages together show them all once."""
    conversation_id = db.session.scalar(select(Message.conversation_id))
    start = utcnow() - timedelta(days=30)
    for n in range(75):
        at = start + timedelta(minutes=n)
        db.session.add(
            Message(conversation_id=conversation_id, direction="in", text=f"old {n}", created_at=at)
        )
    db.session.commit()
    html = logged_in.get(f"/contacts/{ana.id}").get_data(as_text=True)
    seen = re.findall(r"<q>(old \d+)</q>", html)
    older = re.search(r'hx-get="(/contacts/\d+/timeline\?cursor=[^"]+)"', html)
    while older:
        fragment = logged_in.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
        seen += re.findall(r"<q>(old \d+)</q>", fragment)
        older = re.search(r'hx-get="(/contacts/\d+/timeline\?cursor=[^"]+)"', fragment)
    assert sorted(seen) == sorted(f"old {n}" for n in range(75))
    assert seen[0] == "old 74"  # newest first


def test_declared_fields_get_typed_inputs_and_a_misfit_is_marked_beside_its_input(logged_in, ana):
    contact_fields.create({"key": "visits", "label": "Visits", "type": "number"})
    contact_fields.create({"key": "plan", "label": "Plan", "type": "choice", "choices": ["Free", "Gold"]})
    db.session.commit()
    html = logged_in.get(f"/contacts/{ana.id}").get_data(as_text=True)
    assert re.search(r'<input id="contact-field-visits" name="field_value" type="number"', html)
    assert re.search(r'<select id="contact-field-plan" name="field_value">\s*<option value="">', html)

    data = {"field_key": ["visits", "plan", "city"], "field_value": ["many", "gold", "Porto"], "tags": "vip"}
    response = post(logged_in, f"/contacts/{ana.id}", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Visits" in html
    assert re.search(r'id="contact-field-visits"[^>]*value="many" aria-invalid="true"', html)
    db.session.refresh(ana)
    assert ana.fields == {"city": "Porto"}

    data["field_value"] = ["12", "gold", "Porto"]
    assert post(logged_in, f"/contacts/{ana.id}", data).status_code == 200
    db.session.refresh(ana)
    assert ana.fields == {"city": "Porto", "visits": 12, "plan": "Gold"}


def test_groups_are_joined_and_left_here_and_matching_segments_are_named(logged_in, ana):
    fair = db.session.scalar(select(ContactGroup))
    jury = groups.create_static("Jury")
    vips = groups.create_segment("VIPs", {"conditions": [{"kind": "tag", "op": "has", "value": "vip"}]})
    groups.create_segment("Wholesale", {"conditions": [{"kind": "tag", "op": "has", "value": "b2b"}]})
    db.session.commit()
    html = logged_in.get(f"/contacts/{ana.id}").get_data(as_text=True)
    assert f'Matches the segments <a class="label" href="/contacts/?group={vips.id}">VIPs</a></p>' in html
    assert f'<option value="{jury.id}">Jury</option>' in html and f'<option value="{fair.id}">' not in html

    added = post(logged_in, f"/contacts/{ana.id}/groups", {"group_id": jury.id})
    assert added.status_code == 200 and added.headers["HX-Trigger"] == "contact-changed"
    removed = post(logged_in, f"/contacts/{ana.id}/groups", {"remove": fair.id})
    assert removed.status_code == 200 and 'aria-label="Remove from Jury"' in removed.get_data(as_text=True)
    members = db.session.scalars(select(GroupMember.group_id).where(GroupMember.contact_id == ana.id)).all()
    assert members == [jury.id]
    # A segment fills itself: it cannot be joined by hand.
    refused = post(logged_in, f"/contacts/{ana.id}/groups", {"group_id": vips.id})
    assert refused.status_code == 422 and "segments fill themselves" in refused.get_data(as_text=True)
    assert post(logged_in, f"/contacts/{ana.id}/groups", {"group_id": "x"}).status_code == 422
