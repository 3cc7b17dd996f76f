"""Stale edits, as a class: every way of changing an automation (the list, the editor, the API)
honours the revision the client read and answers 409 when it is stale, changing nothing.

The table below names each route that changes an automation and how to call it with a revision;
a completeness check fails when a new state-changing route appears in neither the table nor the
list of routes that change no automation, so the next mutation is covered too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from flowapp.extensions import db
from flowapp.models import Automation, AutomationVersion
from flowapp.services import api_tokens, automations
from tests import factories

GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 40}},
        {"id": "hi", "type": "send_text", "config": {"text": "Hi"}, "position": {"x": 320, "y": 40}},
        {"id": "end", "type": "end", "config": {}, "position": {"x": 600, "y": 40}},
    ],
    "edges": [{"from": "start", "port": "next", "to": "hi"}, {"from": "hi", "port": "next", "to": "end"}],
}
TRIGGER = {"type": "keyword", "keywords": ["hi"], "match": "first_word"}


# How each mutation is asked for, given the automation's id and the revision the client holds:
# (method, path, request keyword arguments). "form" requests carry the CSRF token.
def _form(data):
    return {"form": data}


MUTATIONS = {
    "automations.rename": lambda a, rev: (
        "POST",
        f"/automations/{a}/rename",
        _form({"name": "New", "revision": rev}),
    ),
    "automations.set_status": lambda a, rev: (
        "POST",
        f"/automations/{a}/status",
        _form({"status": "paused", "revision": rev}),
    ),
    "automations.let_interrupt": lambda a, rev: (
        "POST",
        f"/automations/{a}/interrupts",
        _form({"revision": rev, "next": "/inbox/"}),
    ),
    "automations.delete": lambda a, rev: ("POST", f"/automations/{a}/delete", _form({"revision": rev})),
    "automations.save_draft": lambda a, rev: (
        "POST",
        f"/automations/{a}/draft",
        {"json": {"graph": GRAPH, "name": "New", "base_revision": rev}},
    ),
    "automations.publish": lambda a, rev: (
        "POST",
        f"/automations/{a}/publish",
        {"json": {"revision": rev, "confirm": True}},
    ),
    "automations.restore": lambda a, rev: (
        "POST",
        f"/automations/{a}/versions/1/restore",
        {"json": {"base_revision": rev}},
    ),
    "api.update_automation": lambda a, rev: (
        "PUT",
        f"/api/automations/{a}",
        {"api": {"name": "New", "base_revision": rev}},
    ),
    "api.delete_automation": lambda a, rev: (
        "DELETE",
        f"/api/automations/{a}?base_revision={rev}",
        {"api": None},
    ),
    "api.publish": lambda a, rev: (
        "POST",
        f"/api/automations/{a}/publish?base_revision={rev}",
        {"api": None},
    ),
}

# Every field the API can change, each alone: a rename is as much a conflict as a graph.
API_FIELDS = {
    "name": "Renamed",
    "description": "Says hello",
    "priority": 5,
    "status": "paused",
    "graph": GRAPH,
    "trigger": {"type": "any_message"},
}

# State-changing routes that never change an automation row: they read it (forms, checks, the
# simulator, which keeps its state in Redis), copy it (duplicate) or start runs of it (execute).
NOT_MUTATING = {
    "automations.duplicate",
    "automations.node_form",
    "automations.node_check",
    "automations.node_apply",
    "automations.trigger_form",
    "automations.trigger_check",
    "automations.trigger_apply",
    "automations.simulator_start",
    "automations.simulator_reply",
    "automations.simulator_skip",
    "automations.simulator_http",
    "automations.simulator_child",
    "automations.simulator_reset",
    "api.execute",
}


@pytest.fixture
def published(session):
    """A published, active automation (version 1) whose draft changed since."""
    automation = automations.create("Greeter", trigger=TRIGGER, graph=GRAPH)
    automations.publish(automation)
    automations.update(automation, description="changed after publishing")
    session.commit()
    return automation


@pytest.fixture
def bearer(admin):
    _, value = api_tokens.create(admin, "stale edits")
    return {"Authorization": f"Bearer {value}"}


def _send(client, token, bearer, method, path, kwargs):
    if "form" in kwargs:
        return client.open(path, method=method, data={**kwargs["form"], "csrf_token": token})
    if "json" in kwargs:
        return client.open(path, method=method, json=kwargs["json"], headers={"X-CSRFToken": token})
    return client.open(path, method=method, json=kwargs["api"], headers=bearer)


def _stored(automation_id: int) -> tuple:
    db.session.expire_all()
    row = db.session.get(Automation, automation_id)
    versions = db.session.scalar(
        select(db.func.count())
        .select_from(AutomationVersion)
        .where(AutomationVersion.automation_id == automation_id)
    )
    return (row.draft_revision, row.name, row.status, row.description, row.draft, versions)


def test_every_state_changing_route_is_in_the_table(app):
    """A new route that can change an automation must say how it honours the revision."""
    routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "automation_id" in rule.arguments and (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert routes == set(MUTATIONS) | NOT_MUTATING


@pytest.mark.parametrize("endpoint", sorted(MUTATIONS))
def test_a_stale_revision_is_409_and_changes_nothing(logged_in, bearer, published, endpoint):
    """Each mutation, sent with the revision before the last change, is refused with 409; the stored
    automation (revision, fields, draft, versions) is exactly as it was."""
    token = factories.csrf_token(logged_in, "/automations/")
    before = _stored(published.id)
    stale = before[0] - 1
    method, path, kwargs = MUTATIONS[endpoint](published.id, stale)
    response = _send(logged_in, token, bearer, method, path, kwargs)
    assert response.status_code == 409, (endpoint, response.status_code, response.get_data()[:300])
    assert _stored(published.id) == before
    if response.is_json:
        body = response.get_json()
        error = body.get("error")
        current = error["revision"] if isinstance(error, dict) else body["revision"]
        assert current == before[0]  # the answer says which revision to start again from


@pytest.mark.parametrize("endpoint", sorted(MUTATIONS))
def test_the_current_revision_is_accepted_and_bumps_it_once(logged_in, bearer, published, endpoint):
    """The same request with the current revision goes through, as one new revision (or a delete)."""
    token = factories.csrf_token(logged_in, "/automations/")
    before = _stored(published.id)
    method, path, kwargs = MUTATIONS[endpoint](published.id, before[0])
    response = _send(logged_in, token, bearer, method, path, kwargs)
    assert response.status_code in (200, 204, 302), (
        endpoint,
        response.status_code,
        response.get_data()[:300],
    )
    db.session.expire_all()
    row = db.session.get(Automation, published.id)
    if endpoint.endswith("delete") or endpoint == "api.delete_automation":
        assert row is None
    else:
        assert row.draft_revision == before[0] + 1


@pytest.mark.parametrize("field", sorted(API_FIELDS))
def test_the_api_honours_the_revision_for_every_field(client, bearer, published, field):
    """PUT with any one field and a stale base_revision is 409, not only a graph."""
    before = _stored(published.id)
    url = f"/api/automations/{published.id}"
    stale = client.put(url, json={field: API_FIELDS[field], "base_revision": before[0] - 1}, headers=bearer)
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"
    assert _stored(published.id) == before
    fresh = client.put(url, json={field: API_FIELDS[field], "base_revision": before[0]}, headers=bearer)
    assert fresh.status_code == 200, fresh.get_json()
    assert fresh.get_json()["draft_revision"] == before[0] + 1


def test_the_list_answers_the_current_row_on_a_conflict(logged_in, published):
    """The list's rename form from before someone else's change shows their change and says so."""
    token = factories.csrf_token(logged_in, "/automations/")
    form = logged_in.get(f"/automations/{published.id}/rename").get_data(as_text=True)
    assert f'name="revision" value="{published.draft_revision}"' in form
    automations.rename(published, "Theirs")
    db.session.commit()
    response = logged_in.post(
        f"/automations/{published.id}/rename",
        data={"name": "Mine", "revision": published.draft_revision - 1, "csrf_token": token},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "Theirs" in html and "changed elsewhere" in html
    assert db.session.get(Automation, published.id).name == "Theirs"


def test_a_write_racing_another_is_refused_not_merged(session, published):
    """Two writers that both read revision N: the second UPDATE finds the row moved on and is refused,
    even without a base revision (the ORM's version check, not only the client's)."""
    read = published.draft_revision
    # The other writer commits first; this session's object is left believing it read `read`.
    session.execute(
        update(Automation)
        .where(Automation.id == published.id)
        .values(name="Other", draft_revision=read + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    set_committed_value(published, "draft_revision", read)
    with pytest.raises(automations.DraftConflict):
        automations.rename(published, "Mine")
    session.rollback()
    assert _stored(published.id)[:2] == (read + 1, "Other")


def test_a_malformed_revision_is_400(logged_in, published):
    """A revision that is not a whole number is a bad request, not ignored."""
    token = factories.csrf_token(logged_in, "/automations/")
    response = logged_in.post(
        f"/automations/{published.id}/rename", data={"name": "X", "revision": "abc", "csrf_token": token}
    )
    assert response.status_code == 400
    response = logged_in.post(
        f"/automations/{published.id}/publish", json={"revision": "1"}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 400


def test_publishing_with_the_old_version_loaded_points_at_the_new_one(session, published):
    """The published version is set by its column; a loaded relationship must not write the old one
    back (its post-update would), and publishing is one revision."""
    assert published.published_version.number == 1  # loaded
    before = published.draft_revision
    version = automations.publish(published)
    session.commit()
    session.expire_all()
    assert published.published_version.number == version.number == 2
    assert published.draft_revision == before + 1
