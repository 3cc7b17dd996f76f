"""The automations API: CRUD with the documented graph format, 422 with node-level issues, publish,
execute for one contact or an audience, stats, examples, runs and broadcasts."""

from __future__ import annotations

from datetime import timedelta

from rq import Queue

from flowapp.extensions import QUEUES
from flowapp.jobs.worker import FlowappWorker
from flowapp.models import utcnow
from tests import factories
from tests.web.test_api import api  # noqa: F401  (fixture)

GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {"id": "hello", "type": "send_text", "config": {"text": "Hello {{ contact.name }}"}},
        {"id": "done", "type": "end", "config": {}},
    ],
    "edges": [
        {"from": "start", "port": "next", "to": "hello"},
        {"from": "hello", "port": "next", "to": "done"},
    ],
}
TRIGGER = {"type": "keyword", "keywords": ["hello"]}


def create(api, **fields):  # noqa: F811
    response = api.post(
        "/api/automations", json={"name": "Hello", "trigger": TRIGGER, "graph": GRAPH, **fields}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_get_list_update_delete(api):  # noqa: F811
    """The life of an automation through the API; the graph comes back as it was saved."""
    body = create(api)
    assert body["status"] == "draft" and body["graph"]["nodes"][1]["id"] == "hello" and body["issues"] == []
    url = f"/api/automations/{body['id']}"
    listed = api.get("/api/automations").get_json()["data"]
    assert listed[0]["id"] == body["id"] and "graph" not in listed[0]
    graph = {
        **GRAPH,
        "nodes": [*GRAPH["nodes"][:1], {**GRAPH["nodes"][1], "config": {"text": "Hi"}}, GRAPH["nodes"][2]],
    }
    updated = api.put(url, json={"name": "Hi", "graph": graph, "base_revision": body["draft_revision"]})
    assert updated.status_code == 200, updated.get_json()
    assert updated.get_json()["graph"]["nodes"][1]["config"]["text"] == "Hi"
    assert updated.get_json()["draft_revision"] == body["draft_revision"] + 1
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_malformed_graph_is_422_with_issues(api):  # noqa: F811
    """A graph that is not a valid document is refused with the issues, naming nodes and fields."""
    bad = {
        "spec_version": 2,
        "nodes": [{"id": "start", "type": "start", "config": {}}, {"id": "x", "type": "warp"}],
    }
    response = api.post("/api/automations", json={"name": "Bad", "graph": bad})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_automation" and error["issues"]
    assert all({"level", "node", "field", "message"} <= set(issue) for issue in error["issues"])


def test_stale_base_revision_is_409(api):  # noqa: F811
    """Saving over a draft someone else changed is a conflict, not a silent overwrite."""
    body = create(api)
    url = f"/api/automations/{body['id']}"
    assert api.put(url, json={"graph": GRAPH, "base_revision": body["draft_revision"]}).status_code == 200
    stale = api.put(url, json={"graph": GRAPH, "base_revision": body["draft_revision"]})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "conflict"


def test_publish_refuses_errors_with_node_issues(api):  # noqa: F811
    """Publishing a draft whose send node has no text is 422 with that node named."""
    graph = {
        **GRAPH,
        "nodes": [
            GRAPH["nodes"][0],
            {"id": "hello", "type": "send_text", "config": {"text": ""}},
            GRAPH["nodes"][2],
        ],
    }
    body = create(api, graph=graph)
    assert body["issues"] and any(issue["node"] == "hello" for issue in body["issues"])
    response = api.post(f"/api/automations/{body['id']}/publish")
    assert response.status_code == 422
    assert any(issue["node"] == "hello" for issue in response.get_json()["error"]["issues"])


def test_publish_with_warnings_needs_no_confirmation(api):  # noqa: F811
    """The API publishes a draft whose only problems are warnings (a reply nothing answers) at once."""
    ask = {"id": "ask", "type": "wait_reply", "config": {"variable": "answer"}}
    graph = {
        **GRAPH,
        "nodes": [*GRAPH["nodes"][:2], ask],
        "edges": [*GRAPH["edges"][:1], {"from": "hello", "port": "next", "to": "ask"}],
    }
    body = create(api, graph=graph)
    assert [(i["level"], i["node"]) for i in body["issues"]] == [("warning", "ask")]
    response = api.post(f"/api/automations/{body['id']}/publish")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1 and response.get_json()["status"] == "active"


def test_publish_then_execute_for_one_contact(api, session):  # noqa: F811
    """A published automation started for a contact answers the run, readable at /api/runs/<id>."""
    contact = factories.make_contact(wa_id="15551230001", last_inbound_at=utcnow() - timedelta(minutes=1))
    body = create(api)
    execute = f"/api/automations/{body['id']}/execute"
    assert api.post(execute, json={"contact_id": contact.id}).status_code == 409  # not published yet
    published = api.post(f"/api/automations/{body['id']}/publish")
    assert published.status_code == 200 and published.get_json()["version"] == 1
    started = api.post(execute, json={"wa_id": "+1 555 123 0001"})
    assert started.status_code == 201, started.get_json()
    run = started.get_json()["run"]
    assert run["status"] == "completed" and run["contact_id"] == contact.id
    assert api.get(started.headers["Location"]).get_json()["id"] == run["id"]
    stats = api.get(f"/api/automations/{body['id']}/stats").get_json()
    assert stats["runs_started"] == 1 and stats["runs"]["completed"] == 1
    messages = api.get("/api/messages?direction=out").get_json()["data"]
    assert messages[0]["run_id"] == run["id"] and messages[0]["text"].startswith("Hello")


def test_execute_for_an_audience_is_a_broadcast_with_progress(api, app, redis, session):  # noqa: F811
    """An audience gets a broadcast (202); its progress shows once a worker ran it."""
    for n in range(3):
        factories.make_contact(
            wa_id=f"155512300{n:02d}", tags=["vip"] if n < 2 else [], fields={}, last_inbound_at=utcnow()
        )
    body = create(api)
    api.post(f"/api/automations/{body['id']}/publish")
    response = api.post(f"/api/automations/{body['id']}/execute", json={"audience": {"tags": ["vip"]}})
    assert response.status_code == 202, response.get_json()
    broadcast = response.get_json()["broadcast"]
    assert broadcast["total"] == 2 and broadcast["status"] == "queued"
    FlowappWorker([Queue(n, connection=redis) for n in QUEUES], connection=redis, app=app).work(burst=True)
    done = api.get(response.headers["Location"]).get_json()
    assert done["status"] == "done" and done["started"] == 2


def test_execute_refuses_bad_targets(api, session):  # noqa: F811
    """No target, an unknown contact, or a malformed audience are refused with their status."""
    body = create(api)
    api.post(f"/api/automations/{body['id']}/publish")
    url = f"/api/automations/{body['id']}/execute"
    assert api.post(url, json={}).status_code == 400
    assert api.post(url, json={"contact_id": 999999}).status_code == 404
    assert api.post(url, json={"audience": {"everyone": True}}).status_code == 400
    assert api.post(url, json={"audience": {"contact_ids": ["a"]}}).status_code == 400


def test_examples_and_creating_from_one(api):  # noqa: F811
    """The examples are listed, and {"example": slug} makes a draft of one."""
    examples = api.get("/api/automations/examples").get_json()["data"]
    slugs = {e["slug"] for e in examples}
    assert "welcome" in slugs
    created = api.post("/api/automations", json={"example": "welcome"})
    assert created.status_code == 201 and created.get_json()["trigger"]["type"] == "new_contact"
    assert api.post("/api/automations", json={"example": "nope"}).status_code == 422


def test_wrong_types_are_400(api):  # noqa: F811
    """A graph that is not an object, or a name that is not text, is 400 naming the field."""
    response = api.post("/api/automations", json={"name": "X", "graph": [1, 2]})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "graph"
    body = create(api)
    assert api.put(f"/api/automations/{body['id']}", json={"name": 5}).status_code == 400
    assert api.put(f"/api/automations/{body['id']}", json={"status": "active"}).status_code == 422


def test_missing_rows_are_404(api):  # noqa: F811
    """Unknown automations, runs and broadcasts are 404 in the error shape."""
    for path in ("/api/automations/999999", "/api/runs/999999", "/api/broadcasts/999999"):
        response = api.get(path)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
