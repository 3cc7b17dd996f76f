"""The editor's simulator: the pure engine run as a test contact, with nothing sent and nothing stored."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import AutomationLog, AutomationRun, Message, MessageTemplate, OutboxEntry
from flowapp.services import simulator

KEY = simulator.key(1, 1)


def node(node_id, kind, config=None):
    return {"id": node_id, "type": kind, "config": config or {}, "position": {"x": 0, "y": 0}}


def edge(source, port, target):
    return {"from": source, "port": port, "to": target}


def graph(nodes, edges):
    return {"spec_version": 2, "nodes": nodes, "edges": edges}


MENU = graph(
    [
        node("start", "start"),
        node(
            "menu",
            "send_buttons",
            {
                "text": "Hi {{ contact.name }}",
                "buttons": [
                    {"id": "hours", "title": "Opening hours"},
                    {"id": "human", "title": "Talk to us"},
                ],
                "timeout": "1h",
                "variable": "choice",
            },
        ),
        node("hours", "send_text", {"text": "We open at 9 ({{ vars.choice }})"}),
        node("agent", "handoff", {"reason": "asked for {{ message.text }}"}),
        node("late", "log", {"message": "no answer"}),
    ],
    [
        edge("start", "next", "menu"),
        edge("menu", "hours", "hours"),
        edge("menu", "human", "agent"),
        edge("menu", "timeout", "late"),
    ],
)
KEYWORD = {"type": "keyword", "keywords": ["menu"], "match": "first_word"}


@pytest.fixture
def store(app, session, redis):
    with app.test_request_context():
        yield redis


def kinds(sim):
    return [item["type"] for item in sim["items"]]


def test_start_sends_buttons_and_waits(store):
    """The first message starts the draft: the buttons arrive as a chat bubble and the run waits."""
    sim = simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    assert kinds(sim) == ["business"]
    bubble = sim["items"][0]["content"]
    assert bubble["type"] == "buttons" and bubble["body"] == "Hi Test contact"
    assert [b["title"] for b in bubble["buttons"]] == ["Opening hours", "Talk to us"]
    assert sim["state"]["status"] == "waiting" and sim["state"]["node"] == "menu"
    assert sim["path"] == ["start", "menu"] and sim["ports"] == ["start:next"]
    assert simulator.load(store, KEY) == sim


def test_tapping_a_button_takes_its_port(store):
    """A tapped button (its reply id) takes that button's port; the variable holds its title."""
    simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    sim = simulator.reply(store, KEY, reply_id="hours", title="Opening hours")
    assert sim["items"][-3]["type"] == "customer" and sim["items"][-3]["tapped"]
    assert sim["items"][-2]["content"]["text"] == "We open at 9 (Opening hours)"
    assert sim["state"]["status"] == "completed"
    assert sim["state"]["vars"] == {"choice": "Opening hours"}
    assert "menu:hours" in sim["ports"]


def test_handoff_is_shown_as_an_event(store):
    """A hand-off ends the run and shows as an event, with its rendered reason."""
    simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    sim = simulator.reply(store, KEY, text="talk to us")
    assert any(item.get("text") == "Handed off to a person: asked for talk to us" for item in sim["items"])


def test_timeout_can_be_skipped_with_the_waits_token(store):
    """Skipping sends the timeout event with the wait's token: the run takes the timeout port."""
    first = simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    deadline = datetime.fromisoformat(first["state"]["wait"]["deadline"])
    sim = simulator.skip_wait(store, KEY)
    assert "menu:timeout" in sim["ports"] and sim["state"]["status"] == "completed"
    assert any(item.get("text") == "Log: no answer" for item in sim["items"])
    assert datetime.fromisoformat(sim["clock"]) >= deadline


def test_delay_is_skipped_with_delay_over(store):
    """A delay waits until skipped, then the run goes on."""
    flow = graph(
        [
            node("start", "start"),
            node("wait", "delay", {"seconds": "2d"}),
            node("hi", "send_text", {"text": "Hi"}),
        ],
        [edge("start", "next", "wait"), edge("wait", "next", "hi")],
    )
    sim = simulator.start(store, KEY, flow, {"type": "manual"}, window_open=True)
    assert sim["state"]["wait"]["kind"] == "delay"
    sim = simulator.skip_wait(store, KEY)
    assert sim["items"][-2]["content"] == {"type": "text", "text": "Hi", "preview_url": False}


def test_http_is_answered_by_the_person_not_the_network(store):
    """An HTTP request waits for the person's answer; success with JSON takes the success port."""
    flow = graph(
        [
            node("start", "start"),
            node(
                "crm",
                "http_request",
                {"method": "POST", "url": "https://crm.example/leads", "save_as": "crm"},
            ),
            node("ok", "send_text", {"text": "Saved as {{ vars.crm.json.id }}"}),
            node("bad", "send_text", {"text": "Failed"}),
        ],
        [edge("start", "next", "crm"), edge("crm", "success", "ok"), edge("crm", "failure", "bad")],
    )
    sim = simulator.start(store, KEY, flow, None, text="hi", window_open=True)
    assert sim["pending"]["kind"] == "http"
    assert sim["pending"]["request"]["url"] == "https://crm.example/leads"
    assert sim["items"][-1]["type"] == "http"
    sim = simulator.answer_http(store, KEY, success=True, status=201, body={"id": 42})
    assert sim["items"][-2]["content"]["text"] == "Saved as 42"
    simulator.start(store, KEY, flow, None, text="hi", window_open=True)
    sim = simulator.answer_http(store, KEY, success=False, status=500)
    assert sim["items"][-2]["content"]["text"] == "Failed"


def test_update_contact_changes_the_test_contact(store):
    """update_contact is applied to the simulated contact, and later nodes see it."""
    flow = graph(
        [
            node("start", "start"),
            node("tag", "update_contact", {"name": "Ana", "fields": {"city": "Lima"}, "add_tags": ["vip"]}),
            node("ask", "wait_reply", {"variable": "x"}),
            node("say", "send_text", {"text": "{{ contact.name }} in {{ contact.fields.city }}"}),
        ],
        [edge("start", "next", "tag"), edge("tag", "next", "ask"), edge("ask", "reply", "say")],
    )
    sim = simulator.start(store, KEY, flow, None, text="hi", window_open=True)
    assert sim["contact"]["name"] == "Ana" and sim["contact"]["tags"] == ["vip"]
    assert sim["contact"]["fields"] == {"city": "Lima"}
    sim = simulator.reply(store, KEY, text="ok")
    assert sim["items"][-2]["content"]["text"] == "Ana in Lima"


def test_closed_window_fails_a_free_form_send(store):
    """With the 24-hour window closed (a manual start), a free-form send fails, as it would for real."""
    flow = graph(
        [node("start", "start"), node("hi", "send_text", {"text": "Hi"})], [edge("start", "next", "hi")]
    )
    sim = simulator.start(store, KEY, flow, {"type": "manual"})
    assert sim["state"]["status"] == "failed"
    assert sim["items"][-1]["type"] == "error" and "24-hour" in sim["items"][-1]["text"]


def test_templates_are_rendered_from_their_parameters(store):
    """A template send shows the approved template's text with its parameters filled in."""
    db.session.add(
        MessageTemplate(
            name="reminder",
            language="en_US",
            status="APPROVED",
            components=[
                {"type": "BODY", "text": "Hi {{1}}, see you at {{2}}"},
                {"type": "FOOTER", "text": "Bye"},
            ],
            parameters={"body": 2},
        )
    )
    db.session.flush()
    flow = graph(
        [
            node("start", "start"),
            node(
                "remind",
                "send_template",
                {
                    "name": "reminder",
                    "language": "en_US",
                    "parameters": {"body": ["{{ contact.name }}", "9:00"]},
                },
            ),
        ],
        [edge("start", "next", "remind")],
    )
    sim = simulator.start(store, KEY, flow, {"type": "manual"})
    preview = sim["items"][0]["content"]["preview"]
    assert preview == {
        "header": None,
        "body": "Hi Test contact, see you at 9:00",
        "footer": "Bye",
        "buttons": [],
        "known": True,
    }


def test_replies_while_not_waiting_start_a_new_run(store):
    """After the run ended, the contact's next message starts the automation again."""
    simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    simulator.reply(store, KEY, reply_id="hours", title="Opening hours")
    sim = simulator.reply(store, KEY, text="hello")
    assert sim["runs"] == 2 and sim["state"]["status"] == "waiting"
    assert any("would not match the keyword" in item.get("text", "") for item in sim["items"])


def test_refusals(store):
    """Skipping or answering HTTP when the run does not wait for it is refused."""
    with pytest.raises(simulator.SimulatorError):
        simulator.reply(store, KEY, text="hi")
    simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    with pytest.raises(simulator.SimulatorError):
        simulator.answer_http(store, KEY, success=True)
    with pytest.raises(simulator.SimulatorError):
        simulator.finish_child(store, KEY)
    with pytest.raises(simulator.SimulatorError):
        simulator.reply(store, KEY, text="  ")


def test_nothing_is_stored_or_queued(store):
    """A whole simulated conversation writes no message, outbox entry, run or log row."""
    tables = (Message, OutboxEntry, AutomationRun, AutomationLog)
    before = [db.session.scalar(select(func.count()).select_from(table)) for table in tables]
    simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    simulator.reply(store, KEY, reply_id="hours", title="Opening hours")
    after = [db.session.scalar(select(func.count()).select_from(table)) for table in tables]
    assert after == before


def test_reset_forgets_the_simulation(store):
    """Reset deletes the key."""
    simulator.start(store, KEY, MENU, KEYWORD, text="menu")
    simulator.reset(store, KEY)
    assert simulator.load(store, KEY) is None
