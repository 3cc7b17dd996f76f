"""The automation list and the editor's routes: access, CSRF, 404s, drafts and conflicts,
publishing, versions and diffs, import and export."""

import io
import json
import re

import pytest
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Automation, AutomationRun, utcnow
from flowapp.services import automations
from tests import factories

GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 40}},
        {
            "id": "hi",
            "type": "send_text",
            "config": {"text": "Hi {{ contact.name }}"},
            "position": {"x": 320, "y": 40},
        },
    ],
    "edges": [{"from": "start", "port": "next", "to": "hi"}],
}
TRIGGER = {"type": "keyword", "keywords": ["hi"], "match": "first_word"}
IDS = {"automation_id": 1, "number": 1, "run_id": 1}


@pytest.fixture
def token(logged_in):
    return factories.csrf_token(logged_in, "/automations/")


@pytest.fixture
def automation(session):
    automation = automations.create("Greeter", trigger=TRIGGER, graph=GRAPH)
    db.session.commit()
    return automation


def post(client, url, token, **kwargs):
    return client.post(url, headers={"X-CSRFToken": token, **kwargs.pop("headers", {})}, **kwargs)


def routes(app):
    """(method, url) of every route of the automations blueprint, with ids filled in."""
    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("automations."):
            continue
        url = adapter.build(rule.endpoint, {key: IDS[key] for key in rule.arguments})
        found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_route_needs_login(app, client, automation):
    """Logged out, every page and endpoint answers a redirect to the login page (or 401), never data."""
    token = factories.csrf_token(client, "/login")
    refused = {}
    for method, url in routes(app):
        response = client.open(url, method=method, headers={"X-CSRFToken": token})
        refused[(method, url)] = response.status_code
        assert response.status_code in (302, 401), (method, url, response.status_code)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
    assert len(refused) >= 34  # every route of the list, editor, forms, simulator and runs


def test_every_post_needs_the_csrf_token(app, logged_in, automation):
    """A POST without the CSRF token is refused before it does anything."""
    for method, url in routes(app):
        if method == "POST":
            response = logged_in.post(url, data={"name": "x"})
            assert response.status_code == 400, url
            assert b"expired or came from another site" in response.data, url
    assert db.session.get(Automation, automation.id).name == "Greeter"


def test_unknown_automation_is_404(app, logged_in, token):
    """Every route of an automation that does not exist answers 404."""
    for method, url in routes(app):
        if "/1/" not in url and not url.endswith("/1"):
            continue
        url = url.replace("/automations/1/", "/automations/999999/")
        response = logged_in.open(url, method=method, headers={"X-CSRFToken": token}, json={})
        assert response.status_code == 404, (method, url, response.status_code)


def test_list_shows_trigger_status_version_and_runs(logged_in, automation):
    """The list shows each automation's name, trigger, status, version and runs of the last 7 days."""
    automations.publish(automation)
    contact = factories.make_contact()
    db.session.add(
        AutomationRun(
            automation=automation,
            version=automation.published_version,
            contact=contact,
            status="completed",
            started_at=utcnow(),
        )
    )
    db.session.commit()
    html = logged_in.get("/automations/").get_data(as_text=True)
    row = re.search(rf'<tr id="automation-{automation.id}".*?</tr>', html, re.S).group(0)
    assert "Greeter" in row and "Keyword &#34;hi&#34; (first word)" in row
    assert "badge-active" in row and "<td>1</td>" in row
    assert "Example: Keyword menu" in html  # start from an example


def test_list_fragment_for_htmx(logged_in, automation):
    """With HX-Request the list answers the table alone, and says it varies on that header."""
    response = logged_in.get("/automations/", headers={"HX-Request": "true"})
    assert "HX-Request" in response.headers["Vary"]
    html = response.get_data(as_text=True)
    assert "<table" in html and "<html" not in html
    assert "<html" in logged_in.get("/automations/").get_data(as_text=True)


def test_names_are_escaped(logged_in, token, session):
    """A name with markup is shown as text, in the list and in the editor."""
    automation = automations.create("<script>alert(1)</script>")
    db.session.commit()
    for url in ("/automations/", f"/automations/{automation.id}/edit"):
        html = logged_in.get(url).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def create_form(**fields) -> dict:
    return {"name": "Blank", "example": "", "t.type": "keyword", "t.keywords": "hi", **fields}


def test_create_empty_and_from_example(logged_in, token):
    """Create opens the editor on a new draft: empty (a start node) or from an example, whose trigger
    it keeps whatever the trigger fields say."""
    response = post(logged_in, "/automations/new", token, data=create_form())
    blank = db.session.scalar(select(Automation).where(Automation.name == "Blank"))
    assert response.headers["Location"].endswith(f"/automations/{blank.id}/edit")
    assert [node["type"] for node in blank.draft["nodes"]] == ["start"]
    post(
        logged_in,
        "/automations/new",
        token,
        data=create_form(name="", example="keyword_menu", **{"t.type": "manual"}),
    )
    menu = db.session.scalar(select(Automation).where(Automation.name == "Keyword menu"))
    assert menu.trigger["keywords"] == ["menu"] and len(menu.draft["nodes"]) > 5
    refused = post(logged_in, "/automations/new", token, data=create_form(name=" "))
    assert refused.status_code == 400 and "Give the automation a name" in refused.get_data(as_text=True)


def test_the_create_form_asks_for_the_trigger(logged_in):
    """The list's create form asks for the trigger, a keyword by default, and offers every kind."""
    html = logged_in.get("/automations/").get_data(as_text=True)
    select_html = re.search(r'<select id="new-trigger" name="t.type">.*?</select>', html, re.S).group(0)
    kinds = re.findall(r'<option value="(\w+)"', select_html)
    assert sorted(kinds) == sorted(
        ["any_message", "keyword", "new_contact", "date_field", "schedule", "manual"]
    )
    assert '<option value="keyword" selected>' in select_html
    assert 'name="t.keywords"' in html


@pytest.mark.parametrize(
    ("fields", "trigger"),
    [
        ({}, {"type": "keyword", "keywords": ["hi"], "match": "first_word"}),
        ({"t.keywords": "  Menu  "}, {"type": "keyword", "keywords": ["Menu"], "match": "first_word"}),
        ({"t.type": "new_contact", "t.keywords": ""}, {"type": "new_contact"}),
        ({"t.type": "any_message"}, {"type": "any_message"}),
        ({"t.type": "date_field"}, {"type": "date_field", "field": "birthday"}),
        ({"t.type": "manual"}, {"type": "manual"}),
        ({"t.type": "schedule"}, {"type": "schedule", "cron": ""}),  # its time is set in the editor
    ],
)
def test_create_with_a_trigger(logged_in, token, fields, trigger):
    """An empty automation starts with the trigger the form chose."""
    response = post(logged_in, "/automations/new", token, data=create_form(**fields))
    assert response.status_code == 302
    assert db.session.scalar(select(Automation).where(Automation.name == "Blank")).trigger == trigger


def test_a_keyword_trigger_needs_its_keyword(logged_in, token):
    """Without a keyword (or without the trigger field at all) nothing is created, and the form keeps
    what was typed."""
    for fields in ({"t.keywords": "  "}, {"t.type": None, "t.keywords": None}):
        data = {key: value for key, value in create_form(name="Mine", **fields).items() if value is not None}
        refused = post(logged_in, "/automations/new", token, data=data)
        html = refused.get_data(as_text=True)
        assert refused.status_code == 400 and "Type the keyword that starts this automation" in html
        assert 'id="new-name" name="name" placeholder="Welcome message" maxlength="200" value="Mine"' in html
    assert db.session.scalar(select(func.count()).select_from(Automation)) == 0


def test_duplicate_rename_status_and_delete(logged_in, token, automation):
    """Duplicate, rename, activate (refused before publishing), pause and delete from the list."""
    post(logged_in, f"/automations/{automation.id}/duplicate", token)
    assert db.session.scalar(select(Automation).where(Automation.name == "Greeter (copy)")) is not None
    assert 'name="name"' in logged_in.get(f"/automations/{automation.id}/rename").get_data(as_text=True)
    row = post(logged_in, f"/automations/{automation.id}/rename", token, data={"name": "Hello"})
    assert row.status_code == 200 and "Hello" in row.get_data(as_text=True)
    assert (
        post(logged_in, f"/automations/{automation.id}/rename", token, data={"name": ""}).status_code == 422
    )
    refused = post(logged_in, f"/automations/{automation.id}/status", token, data={"status": "active"})
    assert refused.status_code == 422 and "Publish the automation before activating" in refused.get_data(
        as_text=True
    )
    automations.publish(automation)
    db.session.commit()
    paused = post(logged_in, f"/automations/{automation.id}/status", token, data={"status": "paused"})
    assert "badge-paused" in paused.get_data(as_text=True) and ">Activate<" in paused.get_data(as_text=True)
    assert db.session.get(Automation, automation.id).status == "paused"
    assert ">Rename<" in logged_in.get(f"/automations/{automation.id}/row").get_data(as_text=True)
    response = post(logged_in, f"/automations/{automation.id}/delete", token)
    assert response.status_code == 302 and db.session.get(Automation, automation.id) is None


def test_delete_confirmation_counts_waiting_runs(logged_in, automation):
    """The confirmation says how many runs are waiting in the automation."""
    automations.publish(automation)
    for wa_id in ("15550000001", "15550000002"):
        db.session.add(
            AutomationRun(
                automation=automation,
                version=automation.published_version,
                contact=factories.make_contact(wa_id=wa_id),
                status="waiting",
                started_at=utcnow(),
            )
        )
    db.session.commit()
    fragment = logged_in.get(f"/automations/{automation.id}/delete", headers={"HX-Request": "true"})
    assert 'data-waiting="2"' in fragment.get_data(as_text=True)
    assert "2 runs are waiting" in fragment.get_data(as_text=True)
    page = logged_in.get(f"/automations/{automation.id}/delete").get_data(as_text=True)
    assert "<html" in page and "2 runs are waiting" in page


def test_export_and_import_round_trip(logged_in, token, automation):
    """Export downloads the JSON file; importing it creates the same automation."""
    response = logged_in.get(f"/automations/{automation.id}/export")
    assert response.headers["Content-Disposition"] == 'attachment; filename="greeter.json"'
    document = json.loads(response.data)
    assert document == {"name": "Greeter", "description": "", "trigger": TRIGGER, "graph": GRAPH}
    upload = {"file": (io.BytesIO(response.data), "greeter.json")}
    imported = post(logged_in, "/automations/import", token, data=upload, content_type="multipart/form-data")
    copy = db.session.scalars(
        select(Automation).where(Automation.name == "Greeter").order_by(Automation.id.desc())
    ).first()
    assert copy.id != automation.id and imported.headers["Location"].endswith(f"/automations/{copy.id}/edit")
    assert (copy.trigger, copy.draft) == (TRIGGER, GRAPH)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json at all", "The file is not valid JSON"),
        (b"\xff\xfe", "The file is not valid JSON"),
        (json.dumps({"nodes": []}).encode(), "it has no name, trigger, graph"),
        (
            json.dumps({"name": "x", "trigger": {"type": "x"}, "graph": GRAPH}).encode(),
            "whose type is one of",
        ),
        (
            json.dumps(
                {
                    "name": "x",
                    "trigger": TRIGGER,
                    "graph": {"spec_version": 2, "nodes": [{"id": 1}], "edges": []},
                }
            ).encode(),
            "not a valid automation document",
        ),
    ],
)
def test_import_refuses_malformed_files(logged_in, token, session, content, message):
    """A malformed file is refused with a clear message (and nothing is created)."""
    before = db.session.scalar(select(db.func.count()).select_from(Automation))
    upload = {"file": (io.BytesIO(content), "bad.json")}
    response = post(logged_in, "/automations/import", token, data=upload, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(select(db.func.count()).select_from(Automation)) == before


def test_import_without_a_file(logged_in, token):
    """Import with no file asks for one."""
    response = post(logged_in, "/automations/import", token, data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a JSON file" in response.get_data(as_text=True)


def editor_data(client, automation_id):
    html = client.get(f"/automations/{automation_id}/edit").get_data(as_text=True)
    return json.loads(
        re.search(r'<script type="application/json" id="editor-data">(.*?)</script>', html, re.S).group(1)
    )


def test_editor_page_embeds_the_draft_views_palette_and_urls(logged_in, automation):
    """The editor page carries the draft, each node's ports and summary, the palette and its URLs."""
    data = editor_data(logged_in, automation.id)
    assert data["graph"] == GRAPH and data["trigger"] == TRIGGER and data["revision"] == 1
    assert data["views"]["hi"]["ports"] == ["next"] and data["views"]["start"]["inputs"] == 0
    assert data["views"]["hi"]["summary"] == 'Send "Hi {{ contact.name }}"'
    assert [entry["type"] for entry in data["palette"]][:2] == ["start", "send_text"]
    assert data["palette"][4]["view"]["labels"] == {"yes": "Yes", "no": "No", "other": "other"}
    assert data["urls"]["save_draft"] == f"/automations/{automation.id}/draft"


def test_save_draft_returns_the_revision_and_the_problems(logged_in, token, automation):
    """A save stores the draft, answers the new revision, its problems and the Server-Timing."""
    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"][1]["config"]["text"] = ""
    response = post(
        logged_in,
        f"/automations/{automation.id}/draft",
        token,
        json={"graph": graph, "trigger": TRIGGER, "base_revision": 1},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["revision"] == 2
    assert {"level": "error", "node": "hi", "field": "text", "message": "is required"} in body["issues"]
    assert 'data-issue-node="hi"' in body["issues_html"]
    assert re.match(r'app;desc="save and validate";dur=[\d.]+', response.headers["Server-Timing"])
    assert db.session.get(Automation, automation.id).draft == graph


def test_save_from_a_stale_revision_is_a_conflict(logged_in, token, automation):
    """A save based on an older revision answers 409 with the stored draft; the stored one is kept."""
    post(logged_in, f"/automations/{automation.id}/draft", token, json={"graph": GRAPH, "base_revision": 1})
    mine = {**GRAPH, "nodes": GRAPH["nodes"][:1], "edges": []}
    response = post(
        logged_in, f"/automations/{automation.id}/draft", token, json={"graph": mine, "base_revision": 1}
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["conflict"] is True and body["revision"] == 2 and body["graph"] == GRAPH
    assert body["views"]["hi"]["ports"] == ["next"]
    kept = post(
        logged_in, f"/automations/{automation.id}/draft", token, json={"graph": mine, "base_revision": 2}
    )
    assert kept.status_code == 200 and db.session.get(Automation, automation.id).draft == mine


def test_save_refuses_a_malformed_graph(logged_in, token, automation):
    """A graph that is not a valid document is refused (422) and not stored; non-JSON is 400."""
    response = post(
        logged_in,
        f"/automations/{automation.id}/draft",
        token,
        json={"graph": {"spec_version": 2, "nodes": "x", "edges": []}, "base_revision": 1},
    )
    assert response.status_code == 422 and response.get_json()["issues"]
    assert db.session.get(Automation, automation.id).draft_revision == 1
    assert post(logged_in, f"/automations/{automation.id}/draft", token, data="nope").status_code == 400


def test_get_draft(logged_in, automation):
    """The stored draft, as "load theirs" reads it."""
    body = logged_in.get(f"/automations/{automation.id}/draft").get_json()
    assert body["graph"] == GRAPH and body["revision"] == 1 and body["trigger_summary"].startswith("Keyword")


def test_publish_is_refused_while_there_are_errors(logged_in, token, session):
    """Errors refuse publishing (422, with the problems); nothing is published."""
    broken = automations.create(
        "Broken",
        trigger=TRIGGER,
        graph={
            **GRAPH,
            "edges": [],
            "nodes": [GRAPH["nodes"][0], {"id": "hi", "type": "send_text", "config": {"text": ""}}],
        },
    )
    db.session.commit()
    response = post(logged_in, f"/automations/{broken.id}/publish", token, json={"revision": 1})
    assert response.status_code == 422
    body = response.get_json()
    assert body["needs_confirmation"] is False and any(i["field"] == "text" for i in body["issues"])
    assert db.session.get(Automation, broken.id).published_version_id is None


def test_publish_without_warnings_needs_no_confirmation(logged_in, token, automation):
    """A "keyword, send text" automation (its last port open) publishes at once: 200, active."""
    done = post(logged_in, f"/automations/{automation.id}/publish", token, json={"revision": 1})
    answer = {"version": 1, "status": "active", "revision": 2, "message": "Published version 1."}
    assert done.status_code == 200 and done.get_json() == answer


def test_publish_with_warnings_asks_for_a_confirmation(logged_in, token, session):
    """Warnings (a reply nothing answers) are a question, not an error: 200 with
    "needs_confirmation" and nothing published; a stale confirmation is 409; "confirm" publishes."""
    ask = {"id": "ask", "type": "wait_reply", "config": {"variable": "answer"}}
    asking = automations.create(
        "Asking",
        trigger=TRIGGER,
        graph={
            **GRAPH,
            "nodes": [*GRAPH["nodes"], ask],
            "edges": [*GRAPH["edges"], {"from": "hi", "port": "next", "to": "ask"}],
        },
    )
    db.session.commit()
    url = f"/automations/{asking.id}/publish"
    response = post(logged_in, url, token, json={"revision": 1})
    assert response.status_code == 200
    body = response.get_json()
    assert body["needs_confirmation"] is True and "version" not in body
    assert [(i["level"], i["node"], i["field"]) for i in body["issues"]] == [("warning", "ask", "ports")]
    row = db.session.get(Automation, asking.id)
    assert row.published_version_id is None and row.status == "draft" and row.draft_revision == 1
    stale = post(logged_in, url, token, json={"revision": 5, "confirm": True})
    assert stale.status_code == 409 and stale.get_json()["conflict"] and stale.get_json()["revision"] == 1
    done = post(logged_in, url, token, json={"revision": 1, "confirm": True})
    answer = {"version": 1, "status": "active", "revision": 2, "message": "Published version 1."}
    assert done.status_code == 200 and done.get_json() == answer


def test_versions_restore_and_diff(logged_in, token, automation):
    """The history lists versions; restore makes one the draft; diff compares two of them."""
    automations.publish(automation)
    changed = {
        **GRAPH,
        "nodes": [
            GRAPH["nodes"][0],
            {**GRAPH["nodes"][1], "config": {"text": "Bye"}},
            {"id": "end", "type": "end", "config": {}},
        ],
    }
    automations.save_draft(automation, changed)
    db.session.commit()
    html = logged_in.get(f"/automations/{automation.id}/versions").get_data(as_text=True)
    assert "Version 1" in html and f"/automations/{automation.id}/versions/1/restore" in html
    diff = logged_in.get(f"/automations/{automation.id}/diff?from=1&to=draft").get_json()
    assert diff["diff"]["added"] == ["end"] and diff["diff"]["changed"] == ["hi"]
    assert diff["from"]["title"] == "Version 1" and diff["to"]["views"]["end"]["ports"] == []
    assert logged_in.get(f"/automations/{automation.id}/diff?from=9").status_code == 404
    restored = post(logged_in, f"/automations/{automation.id}/versions/1/restore", token)
    assert restored.get_json()["graph"] == GRAPH and restored.get_json()["revision"] == 4
    assert db.session.get(Automation, automation.id).draft == GRAPH
    assert post(logged_in, f"/automations/{automation.id}/versions/7/restore", token).status_code == 404
