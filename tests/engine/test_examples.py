"""The example automations: valid (no errors, no warnings) and doing what they describe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flowapp.engine import Event, keyword_matches, resume, start, validate
from flowapp.sandbox.templates import TEMPLATES
from flowapp.whatsapp.templates import count_parameters
from tests.engine.helpers import NOW, context, reply

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "automations"
NAMES = [
    "appointment_reminder",
    "birthday",
    "handoff",
    "keyword_menu",
    "lead_capture",
    "support_triage",
    "welcome",
]
# What the sandbox's mock Graph API approves, in the shape the services pass as known["templates"].
KNOWN = {
    "templates": {
        (t["name"], t["language"]): count_parameters(t["components"])
        for t in TEMPLATES
        if t["status"] == "APPROVED"
    },
    "automations": set(),
}


def load(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def test_the_examples_are_the_documented_seven():
    """examples/automations holds exactly the seven examples."""
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_example_is_valid(name):
    """Each example has its fields and validates clean against the sandbox's templates."""
    example = load(name)
    # An example may bring the knowledge base its Answer steps use (services.examples makes it).
    assert set(example) - {"knowledge"} == {"name", "description", "trigger", "graph"}
    assert validate(example["graph"], example["trigger"], KNOWN) == []


def play(name: str, ctx: dict, *events: dict):
    """Start the example and feed it events; returns every result."""
    graph = load(name)["graph"]
    results = [start(graph, ctx, NOW)]
    for item in events:
        data = dict(item.get("data", {}))
        if data.get("token") == "$token":
            data["token"] = results[-1].state.wait["token"]
        results.append(resume(graph, results[-1].state, Event(item["kind"], data), ctx, NOW))
    return results


def sends(results) -> list[dict]:
    return [effect.data for result in results for effect in result.effects if effect.kind == "send"]


def test_welcome():
    """A new contact gets the welcome text and buttons; "Opening hours" is answered."""
    results = play("welcome", context(trigger={"type": "new_contact"}), reply("Opening hours", "hours"))
    texts = sends(results)
    assert texts[0]["text"] == "Hi Ana! Welcome to Casa Lima 👋"
    assert texts[1]["type"] == "buttons" and len(texts[1]["buttons"]) == 3
    assert texts[2]["text"].startswith("We are open")
    assert results[-1].status == "completed"


def test_welcome_asks_again_when_the_reply_is_not_a_button():
    """Any other reply gets a nudge and the buttons again."""
    results = play("welcome", context(contact={"name": None}), reply("what?"))
    assert sends(results)[0]["text"] == "Hi there! Welcome to Casa Lima 👋"
    assert [s["type"] for s in sends(results)] == ["text", "buttons", "text", "buttons"]
    assert results[-1].status == "waiting"


def test_birthday():
    """The birthday template goes out with the contact's name."""
    results = play("birthday", context(trigger=load("birthday")["trigger"], window_open=False))
    assert sends(results) == [
        {
            "type": "template",
            "name": "birthday_greeting",
            "language": "en_US",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
        }
    ]
    assert results[-1].status == "completed"


def test_keyword_menu():
    """ "Menu" opens the buttons; booking a visit opens the list; Tuesday is confirmed."""
    trigger = load("keyword_menu")["trigger"]
    assert keyword_matches(trigger, "Menú please")
    results = play(
        "keyword_menu", context(trigger=trigger), reply("Book a visit", "book"), reply("Tuesday", "tue")
    )
    kinds = [s["type"] for s in sends(results)]
    assert kinds == ["buttons", "list", "text"]
    assert sum(len(section["rows"]) for section in sends(results)[1]["sections"]) == 4
    assert sends(results)[2]["text"].startswith("Booked: Tuesday")


def test_lead_capture_success():
    """Name, an email after one retry, the webhook call, then thanks and the lead tag."""
    results = play(
        "lead_capture",
        context(),
        reply("ana lópez"),
        reply("ana at example"),
        reply("ana@example.com"),
        {"kind": "http_result", "data": {"status": 201, "json": {"id": 9}, "error": None}},
    )
    texts = [s["text"] for s in sends(results)]
    assert texts[1] == "Thanks Ana López! Which email should we send the quote to?"
    assert texts[2].startswith('Hmm, "ana at example" does not look like an email')
    http = [e for r in results for e in r.effects if e.kind == "http"][0]
    assert http.data["url"] == "https://example.com/leads"
    assert http.data["body"] == {
        "name": "ana lópez",
        "email": "ana@example.com",
        "phone": "+34600111222",
        "source": "whatsapp",
    }
    updates = [e.data for r in results for e in r.effects if e.kind == "update_contact"]
    assert updates == [{"fields": {"email": "ana@example.com"}, "add_tags": ["lead"]}]
    assert texts[-1].startswith("Thank you Ana López!")
    assert results[-1].status == "completed"


def test_lead_capture_failure_hands_off():
    """A failing webhook hands the conversation to a person, with the error."""
    results = play(
        "lead_capture",
        context(),
        reply("Ana"),
        reply("ana@example.com"),
        {"kind": "http_result", "data": {"status": None, "json": None, "error": "connection refused"}},
    )
    handoff = [e.data for r in results for e in r.effects if e.kind == "handoff"]
    assert handoff == [{"reason": "Lead capture needs a person: connection refused"}]


def test_appointment_reminder():
    """The template with three parameters; "Confirm" is thanked; no answer is only logged."""
    ctx = context(
        trigger={"type": "manual"},
        contact={"fields": {"appointment_date": "12 March", "appointment_time": "10:30"}},
        window_open=False,
    )
    confirmed = play("appointment_reminder", ctx, reply("Confirm"))
    template = sends(confirmed)[0]
    assert [p["text"] for p in template["components"][0]["parameters"]] == ["Ana", "12 March", "10:30"]
    assert sends(confirmed)[1]["text"] == "Thank you Ana, see you on 12 March at 10:30!"
    silent = play(
        "appointment_reminder", ctx, {"kind": "timeout", "data": {"node": "answer", "token": "$token"}}
    )
    assert [e.kind for e in silent[-1].effects] == ["log"]
    assert silent[-1].status == "completed"


def test_handoff():
    """ "I want a HUMAN" matches; the notice is sent and the conversation handed off."""
    trigger = load("handoff")["trigger"]
    assert keyword_matches(trigger, "I want a HUMAN please") and not keyword_matches(trigger, "humane")
    results = play("handoff", context(trigger=trigger, message={"text": "I want a HUMAN please"}))
    assert [e.kind for e in results[0].effects] == ["send", "handoff"]
    assert results[0].effects[1].data == {"reason": 'Asked for a person: "I want a HUMAN please"'}
