"""Groups and segments pages: login and CSRF on every route, the list with counts, static groups,
the segment editor (rows, live count, errors beside the field with a 4xx, nothing saved), escaping,
and the contacts page's "in a group" filter and group bulk actions."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from flowapp.extensions import db
from flowapp.models import ContactGroup, GroupMember, utcnow
from flowapp.services import groups
from tests import factories
from tests.web.test_contacts import names
from tests.web.test_contacts import post as post_form


def post(client, path, data):
    """An HTMX POST with the CSRF token; a list of pairs may repeat names (the editor's rows)."""
    return post_form(client, path, MultiDict(data) if isinstance(data, list) else data)


VIP_RECENT = [
    ("name", "Recent VIPs"),
    ("match", "all"),
    ("c.0.kind", "tag"),
    ("c.0.op", "has"),
    ("c.0.value", "vip"),
    ("c.1.kind", "last_inbound"),
    ("c.1.op", "within_days"),
    ("c.1.value", "30"),
]
POSTS = [
    "/contacts/groups",
    "/contacts/groups/segments",
    "/contacts/groups/segments/rows",
    "/contacts/groups/segments/count",
    "/contacts/groups/1/edit",
    "/contacts/groups/1/delete",
    "/contacts/bulk/add-to-group",
    "/contacts/bulk/remove-from-group",
]


@pytest.fixture
def people(session):
    now = utcnow()
    make = factories.make_contact
    return {
        "ana": make(
            "15550000001", profile_name="Ana", tags=["vip"], last_inbound_at=now - timedelta(days=2)
        ).id,
        "bea": make(
            "15550000002", profile_name="Bea", tags=["vip"], last_inbound_at=now - timedelta(days=60)
        ).id,
        "cid": make("15550000003", profile_name="Cid", tags=[]).id,
    }


def group_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ContactGroup))


@pytest.mark.parametrize(
    "path", ["/contacts/groups", "/contacts/groups/segments/new", "/contacts/groups/1/edit"]
)
def test_pages_need_login(client, path):
    """Logged out, every page sends to the login page."""
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", POSTS)
def test_every_post_needs_the_csrf_token(client, logged_in, people, path):
    """Without the CSRF token nothing is saved (400)."""
    group = groups.create_static("Fair")
    db.session.commit()
    path = path.replace("/1/", f"/{group.id}/")
    data = [*VIP_RECENT, ("ids", people["ana"]), ("group_id", group.id)]
    response = logged_in.post(path, data=MultiDict(data))
    assert response.status_code == 400
    assert group_count() == 1 and db.session.scalar(select(func.count()).select_from(GroupMember)) == 0


def test_list_shows_kind_and_count_and_escapes_names(logged_in, people):
    """Each group with its kind and live count; names are escaped."""
    fair = groups.create_static("<b>Fair</b>")
    groups.add_contacts(fair, [people["ana"], people["cid"]])
    groups.create_segment("VIPs", {"conditions": [{"kind": "tag", "op": "has", "value": "vip"}]})
    db.session.commit()
    html = logged_in.get("/contacts/groups").get_data(as_text=True)
    assert "&lt;b&gt;Fair&lt;/b&gt;" in html and "<b>Fair</b>" not in html
    rows = {name: count for name, count in _rows(html)}
    assert rows == {"&lt;b&gt;Fair&lt;/b&gt;": "2", "VIPs": "2"}


def _rows(html: str):
    pattern = r'<td class="name"><a [^>]*>([^<]*)</a></td>\s*<td>[^<]*</td>\s*<td class="count">([^<]*)</td>'
    return re.findall(pattern, html)


def test_create_a_static_group_and_refuse_a_taken_name(logged_in, session):
    """A new group opens its (empty) contacts list; a taken name re-renders with the error and a 422."""
    response = post(logged_in, "/contacts/groups", {"name": "Fair"})
    assert response.status_code == 302 and "group=" in response.headers["Location"]
    taken = post(logged_in, "/contacts/groups", {"name": "fair"})
    html = taken.get_data(as_text=True)
    assert taken.status_code == 422 and 'id="group-name-error"' in html and "already a group" in html
    assert group_count() == 1


def test_save_a_segment_from_the_editor(logged_in, people):
    """The editor's rows become the stored query; the list then counts it."""
    response = post(logged_in, "/contacts/groups/segments", VIP_RECENT)
    assert response.status_code == 302
    segment = db.session.scalars(select(ContactGroup)).one()
    assert segment.kind == "dynamic" and segment.query == {
        "match": "all",
        "conditions": [
            {"kind": "tag", "op": "has", "value": "vip"},
            {"kind": "last_inbound", "op": "within_days", "value": 30},
        ],
    }
    assert groups.count(segment) == 1


def test_a_bad_condition_is_shown_beside_its_row_with_a_422(logged_in, people):
    """A condition missing its value re-renders the editor, the error in that row; nothing is saved."""
    data = [(k, "" if k == "c.1.value" else v) for k, v in VIP_RECENT]
    response = post(logged_in, "/contacts/groups/segments", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and group_count() == 0
    row = html.split('data-row="1"')[1].split('data-row="2"')[0]
    assert "Condition 2 (last_inbound): within_days needs a value" in row
    no_name = post(logged_in, "/contacts/groups/segments", [("name", ""), *VIP_RECENT[1:]])
    assert no_name.status_code == 422 and 'id="segment-name-error"' in no_name.get_data(as_text=True)


def test_the_live_count_answers_the_matches_and_a_sample(logged_in, people):
    """The count endpoint says how many match and names a few; a bad query gets its error instead."""
    html = post(logged_in, "/contacts/groups/segments/count", VIP_RECENT[1:]).get_data(as_text=True)
    assert 'data-count="1"' in html and "Ana" in html and "Bea" not in html
    wider = [(k, "90" if k == "c.1.value" else v) for k, v in VIP_RECENT[1:]]
    html = post(logged_in, "/contacts/groups/segments/count", wider).get_data(as_text=True)
    assert 'data-count="2"' in html
    bad = [(k, "abc" if k == "c.1.value" else v) for k, v in VIP_RECENT[1:]]
    html = post(logged_in, "/contacts/groups/segments/count", bad).get_data(as_text=True)
    assert "Condition 2 (last_inbound)" in html and "data-count" not in html


def test_rows_are_added_removed_and_rekinded_on_the_server(logged_in, session):
    """The rows fragment adds a row, removes the one asked, and offers the ops of a row's kind."""
    added = post(logged_in, "/contacts/groups/segments/rows", [*VIP_RECENT, ("op", "add")])
    assert added.get_data(as_text=True).count('class="segment-row"') == 3
    assert added.headers["HX-Trigger"] == "segment-rows"
    removed = post(logged_in, "/contacts/groups/segments/rows", [*VIP_RECENT, ("op", "remove:0")])
    html = removed.get_data(as_text=True)
    assert html.count('class="segment-row"') == 1 and 'value="within_days" selected' in html
    field = [("c.0.kind", "field"), ("c.0.op", "has")]
    html = post(logged_in, "/contacts/groups/segments/rows", field).get_data(as_text=True)
    assert 'name="c.0.key"' in html and 'value="gt"' in html


def test_edit_update_and_delete(logged_in, people):
    """A segment's editor holds its conditions; saving changes them; deleting removes it."""
    segment = groups.create_segment("VIPs", {"conditions": [{"kind": "tag", "op": "has", "value": "vip"}]})
    db.session.commit()
    html = logged_in.get(f"/contacts/groups/{segment.id}/edit").get_data(as_text=True)
    assert 'value="VIPs"' in html and 'data-count="2"' in html
    response = post(logged_in, f"/contacts/groups/{segment.id}/edit", VIP_RECENT)
    assert response.status_code == 302 and groups.count(db.session.get(ContactGroup, segment.id)) == 1
    assert post(logged_in, f"/contacts/groups/{segment.id}/delete", {}).status_code == 302
    assert group_count() == 0
    assert logged_in.get(f"/contacts/groups/{segment.id}/edit").status_code == 404


def test_contacts_page_filters_by_group_and_adds_and_removes(logged_in, people):
    """ "In a group" lists its members; "add to group" and "remove from" answer the list with a count."""
    fair = groups.create_static("Fair")
    db.session.commit()
    html = post(
        logged_in, "/contacts/bulk/add-to-group", {"ids": [people["ana"], people["cid"]], "group_id": fair.id}
    )
    assert "2 contacts added to “Fair”" in html.get_data(as_text=True)
    listed = logged_in.get(f"/contacts/?group={fair.id}").get_data(as_text=True)
    assert names(listed) == ["Cid", "Ana"] and "Remove from “Fair”" in listed
    data = {"ids": [people["cid"]], "group": fair.id}
    answer = post(logged_in, "/contacts/bulk/remove-from-group", data).get_data(as_text=True)
    assert "1 contact removed from “Fair”" in answer and names(answer) == ["Ana"]
    refused = post(logged_in, "/contacts/bulk/add-to-group", {"ids": [people["ana"]], "group_id": "x"})
    assert refused.status_code == 422 and "Choose a group" in refused.get_data(as_text=True)


def test_save_filters_as_a_segment_prefills_the_editor(logged_in, people):
    """The contacts page's filters open the editor with the matching conditions."""
    html = logged_in.get("/contacts/groups/segments/new?tag=vip&seen_days=30").get_data(as_text=True)
    assert 'value="vip"' in html and 'value="within_days" selected' in html and 'data-count="1"' in html


def test_sample_names_and_condition_values_are_escaped(logged_in, session):
    """A customer's name in the live count's sample, and a typed value in a row, come back escaped."""
    factories.make_contact("15550000009", profile_name="<img src=x onerror=alert(1)>", tags=["<b>"])
    db.session.commit()
    rows = [("c.0.kind", "tag"), ("c.0.op", "has"), ("c.0.value", "<b>")]
    html = post(logged_in, "/contacts/groups/segments/count", rows).get_data(as_text=True)
    assert 'data-count="1"' in html and "&lt;img src=x" in html and "<img" not in html
    html = post(logged_in, "/contacts/groups/segments/rows", rows).get_data(as_text=True)
    assert 'value="&lt;b&gt;"' in html and "<b>" not in html
