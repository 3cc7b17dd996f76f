"""The simulator panel, real runs on the canvas (list, search, trace) and the analytics overlay."""

import json
import re

import pytest
import requests
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import AutomationLog, AutomationRun, Message, OutboxEntry, utcnow
from flowapp.services import automations
from tests import factories

GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {
            "id": "menu",
            "type": "send_buttons",
            "config": {
                "text": "Pick",
                "timeout": "1h",
                "buttons": [
                    {"id": "hours", "title": "Opening hours"},
                    {"id": "human", "title": "Talk to us"},
                ],
            },
        },
        {"id": "hours", "type": "send_text", "config": {"text": "We open at 9"}},
        {"id": "crm", "type": "http_request", "config": {"method": "GET", "url": "https://crm.example/x"}},
        {"id": "ok", "type": "send_text", "config": {"text": "Found"}},
    ],
    "edges": [
        {"from": "start", "port": "next", "to": "menu"},
        {"from": "menu", "port": "hours", "to": "hours"},
        {"from": "menu", "port": "human", "to": "crm"},
        {"from": "crm", "port": "success", "to": "ok"},
    ],
}
TRIGGER = {"type": "keyword", "keywords": ["menu"]}


@pytest.fixture
def token(logged_in):
    return factories.csrf_token(logged_in, "/automations/")


@pytest.fixture
def automation(session):
    automation = automations.create("Menu", trigger=TRIGGER, graph=GRAPH)
    db.session.commit()
    return automation


def post(client, url, token, data=None):
    return client.post(url, data=data or {}, headers={"X-CSRFToken": token, "HX-Request": "true"})


def sim_data(html):
    raw = re.search(r"data-sim='([^']*)'", html).group(1)
    return json.loads(raw.replace("&#34;", '"'))


def test_simulator_runs_the_draft_the_editor_sends(logged_in, token, automation):
    """Start with the editor's graph, tap a button, and see the path for the canvas."""
    base = f"/automations/{automation.id}/simulator"
    assert "Start the simulator" in logged_in.get(base).get_data(as_text=True)
    started = post(
        logged_in,
        base + "/start",
        token,
        {"graph": json.dumps(GRAPH), "trigger": json.dumps(TRIGGER), "text": "menu"},
    )
    html = started.get_data(as_text=True)
    assert "Pick" in html and 'name="reply_id" value="hours"' in html
    assert sim_data(html) == {
        "active": "menu",
        "status": "waiting",
        "path": ["start", "menu"],
        "ports": ["start:next"],
    }
    assert "Skip to the timeout" in html
    tapped = post(logged_in, base + "/reply", token, {"reply_id": "hours", "title": "Opening hours"})
    html = tapped.get_data(as_text=True)
    assert "We open at 9" in html and sim_data(html)["status"] == "completed"
    assert "menu:hours" in sim_data(html)["ports"]


def test_simulator_uses_the_stored_draft_without_a_graph(logged_in, token, automation):
    """A start without a graph simulates the stored draft."""
    html = post(logged_in, f"/automations/{automation.id}/simulator/start", token, {"text": "menu"}).get_data(
        as_text=True
    )
    assert "Pick" in html


def test_simulator_http_skip_child_and_reset(logged_in, token, automation):
    """HTTP is answered in the panel (bad JSON refused), waits can be skipped, reset clears it."""
    base = f"/automations/{automation.id}/simulator"
    post(logged_in, base + "/start", token, {"text": "menu"})
    html = post(logged_in, base + "/reply", token, {"text": "talk to us"}).get_data(as_text=True)
    assert "GET https://crm.example/x" in html and "Answer the HTTP request" in html
    refused = post(logged_in, base + "/http", token, {"outcome": "success", "status": "200", "json": "{nope"})
    assert refused.status_code == 422 and "not valid JSON" in refused.get_data(as_text=True)
    answered = post(
        logged_in, base + "/http", token, {"outcome": "success", "status": "200", "json": '{"id": 1}'}
    )
    assert "Found" in answered.get_data(as_text=True)
    assert post(logged_in, base + "/child", token, {"status": "completed"}).status_code == 422
    post(logged_in, base + "/start", token, {"text": "menu"})
    skipped = post(logged_in, base + "/skip", token).get_data(as_text=True)
    assert "Skipped to the deadline" in skipped and "The wait timed out" in skipped
    assert post(logged_in, base + "/skip", token).status_code == 422
    cleared = post(logged_in, base + "/reset", token).get_data(as_text=True)
    assert "Start the simulator" in cleared


def test_simulator_writes_no_messages(logged_in, token, automation, graph_mock):
    """A simulated conversation stores no message and queues nothing for Meta."""
    before = [
        db.session.scalar(select(func.count()).select_from(t)) for t in (Message, OutboxEntry, AutomationRun)
    ]
    base = f"/automations/{automation.id}/simulator"
    post(logged_in, base + "/start", token, {"text": "menu"})
    post(logged_in, base + "/reply", token, {"reply_id": "hours", "title": "Opening hours"})
    after = [
        db.session.scalar(select(func.count()).select_from(t)) for t in (Message, OutboxEntry, AutomationRun)
    ]
    assert after == before
    assert requests.get(f"{graph_mock.url}/_mock/stats", timeout=5).json()["accepted"] == 0


def make_run(automation, contact, steps):
    run = AutomationRun(
        automation=automation,
        version=automation.published_version,
        contact=contact,
        status="completed",
        current_node="hours",
        started_at=utcnow(),
    )
    db.session.add(run)
    for node_id, event, detail in steps:
        db.session.add(AutomationLog(run=run, node_id=node_id, event=event, detail=detail))
    db.session.commit()
    return run


STEPS = [
    ("start", "entered", {}),
    ("start", "port", {"port": "next", "to": "menu"}),
    ("menu", "entered", {}),
    ("menu", "sent", {"type": "buttons", "body": "<b>Pick</b>"}),
    ("menu", "port", {"port": "hours", "to": "hours"}),
    ("hours", "entered", {}),
]


def test_runs_list_search_and_trace(logged_in, automation):
    """Recent runs are listed and searchable; a run's trace gives its path and each step's log."""
    automations.publish(automation, confirm_warnings=True)
    ana = factories.make_contact(wa_id="34600111222", display_name="Ana")
    run = make_run(automation, ana, STEPS)
    listing = logged_in.get(f"/automations/{automation.id}/runs").get_data(as_text=True)
    assert "Ana" in listing and f"/automations/{automation.id}/runs/{run.id}" in listing
    assert "Ana" not in logged_in.get(f"/automations/{automation.id}/runs?q=bob").get_data(as_text=True)
    assert "Ana" in logged_in.get(f"/automations/{automation.id}/runs?q=600111").get_data(as_text=True)
    trace = logged_in.get(f"/automations/{automation.id}/runs/{run.id}").get_data(as_text=True)
    path = json.loads(re.search(r"data-trace='([^']*)'", trace).group(1).replace("&#34;", '"'))
    assert path == {
        "nodes": ["start", "menu", "hours"],
        "ports": ["start:next", "menu:hours"],
        "current": "hours",
    }
    assert "\\u003cb\\u003ePick" in trace  # tojson escapes markup in the step detail
    assert "<b>Pick</b>" not in trace


def test_run_of_another_automation_is_404(logged_in, automation, session):
    """A run is only traced under its own automation."""
    automations.publish(automation, confirm_warnings=True)
    other = automations.create("Other")
    db.session.commit()
    run = make_run(automation, factories.make_contact(), STEPS)
    assert logged_in.get(f"/automations/{other.id}/runs/{run.id}").status_code == 404
    assert logged_in.get(f"/automations/{automation.id}/runs/999999").status_code == 404


def test_stats_overlay(logged_in, automation):
    """The overlay's figures: visits per node and per edge, drop-off and sends, for a period."""
    automations.publish(automation, confirm_warnings=True)
    make_run(automation, factories.make_contact(), STEPS)
    body = logged_in.get(f"/automations/{automation.id}/stats?days=7").get_json()
    assert body["node_visits"] == {"start": 1, "menu": 1, "hours": 1}
    assert body["edge_visits"] == {"start:next": 1, "menu:hours": 1}
    assert body["drop_off"]["hours"] == 1 and body["runs_started"] == 1
    assert logged_in.get(f"/automations/{automation.id}/stats?days=all").status_code == 200
    assert logged_in.get(f"/automations/{automation.id}/stats?days=3").status_code == 400


AI_GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {
            "id": "triage",
            "type": "classify",
            "config": {"categories": [{"name": "refund", "description": "money back"}], "save_as": "intent"},
        },
        {"id": "details", "type": "extract", "config": {"fields": [{"name": "email", "type": "email"}]}},
        {"id": "done", "type": "send_text", "config": {"text": "Refund for {{ vars.email }}"}},
    ],
    "edges": [
        {"from": "start", "port": "next", "to": "triage"},
        {"from": "triage", "port": "refund", "to": "details"},
        {"from": "details", "port": "complete", "to": "done"},
    ],
}


def test_simulator_makes_the_ai_calls_for_real(logged_in, token, automation, fake_llm):
    """Two AI steps in a row: the simulator calls the (fake) model for each, records the calls, and
    the run goes on by the answers' ports."""
    from flowapp.models import AICall

    started = post(
        logged_in,
        f"/automations/{automation.id}/simulator/start",
        token,
        {
            "graph": json.dumps(AI_GRAPH),
            "trigger": json.dumps(TRIGGER),
            "text": "money back to ana@example.com",
        },
    )
    html = started.get_data(as_text=True)
    assert started.status_code == 200
    assert "Refund for ana@example.com" in html
    assert sim_data(html)["ports"] == ["start:next", "triage:refund", "details:complete", "done:next"]
    calls = db.session.scalars(select(AICall).order_by(AICall.id)).all()
    assert [(c.node_id, c.status, c.automation_id, c.run_id) for c in calls] == [
        ("triage", "ok", automation.id, None),
        ("details", "ok", automation.id, None),
    ]


GENERATE_GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}},
        {"id": "ask", "type": "send_text", "config": {"text": "What can I do?"}},
        {"id": "wait", "type": "wait_reply", "config": {"variable": "said"}},
        {"id": "reply", "type": "generate", "config": {"prompt": "Be kind.", "history": 3}},
    ],
    "edges": [
        {"from": "start", "port": "next", "to": "ask"},
        {"from": "ask", "port": "next", "to": "wait"},
        {"from": "wait", "port": "reply", "to": "reply"},
    ],
}


def test_simulator_generates_a_reply_from_its_own_chat(logged_in, token, automation, fake_llm):
    """The simulator plays the host of a Generate step: the chat so far follows the prompt as
    user/assistant messages, and the model's answer appears as the business's message."""
    import requests

    base = f"/automations/{automation.id}/simulator"
    start = {"graph": json.dumps(GENERATE_GRAPH), "trigger": json.dumps(TRIGGER), "text": "hello"}
    post(logged_in, f"{base}/start", token, start)
    html = post(logged_in, f"{base}/reply", token, {"text": "my cake is late"}).get_data(as_text=True)
    assert "Echo: my cake is late" in html
    assert sim_data(html)["ports"][-1] == "reply:next"
    body = requests.get(f"{fake_llm.url}/_fake/requests", timeout=5).json()["last_body"]
    assert body["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "What can I do?"},
        {"role": "user", "content": "my cake is late"},
    ]


def test_simulator_answers_from_knowledge_or_takes_unknown(logged_in, token, automation, fake_llm):
    """The simulator searches the base as the job does: a question it covers is answered by the
    model; one it does not takes unknown with no model call."""
    import requests

    from flowapp.services import knowledge

    base = knowledge.create_base("FAQ")
    knowledge.add_text(base, "Hours", "We open from 8 to 18 on weekdays.")
    db.session.commit()
    graph = {
        "spec_version": 2,
        "nodes": [
            {"id": "start", "type": "start", "config": {}},
            {"id": "faq", "type": "answer", "config": {"base": base.id}},
            {"id": "person", "type": "send_text", "config": {"text": "A person will answer."}},
        ],
        "edges": [
            {"from": "start", "port": "next", "to": "faq"},
            {"from": "faq", "port": "unknown", "to": "person"},
        ],
    }
    base_url = f"/automations/{automation.id}/simulator/start"
    for text, shown, calls in (
        ("when do you open?", "We open from 8 to 18 on weekdays. [1]", 1),
        ("gift cards?", None, 1),
    ):
        form = {"graph": json.dumps(graph), "trigger": json.dumps(TRIGGER), "text": text}
        html = post(logged_in, base_url, token, form).get_data(as_text=True)
        assert (shown or "A person will answer.") in html
        assert requests.get(f"{fake_llm.url}/_fake/requests", timeout=5).json()["count"] == calls
