"""The Answer from knowledge node at run time, end to end: the host searches the knowledge base
when it builds the call (on the "ai" queue), the passages go to the fake model as numbered sources
in a system message and the question as the user message, and the answer is queued as a message;
nothing relevant takes the unknown port without any request to the model."""

from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select

from flowapp.extensions import AI_QUEUE, db
from flowapp.models import AICall, Contact
from flowapp.services import automations, knowledge
from tests.services.test_ai_nodes import edge, log_of, node, outgoing, publish, say, the_run, work

HOURS = "We open from 8 to 18, Monday to Saturday. On Sundays the bakery is closed."


def faq_base() -> int:
    base = knowledge.create_base("Bakery FAQ")
    knowledge.add_text(base, "Opening hours", HOURS)
    db.session.commit()
    return base.id


def faq_graph(base: int, **config) -> dict:
    """start -> answer; unknown hands off, failure logs."""
    nodes = [
        node("start", "start"),
        node("faq", "answer", {"base": base, "instructions": "Be brief.", **config}),
        node("person", "send_text", {"text": "A person will answer you."}),
        node("failed", "log", {"message": "answer failed"}),
    ]
    edges = [edge("start", "next", "faq"), edge("faq", "unknown", "person"), edge("faq", "failure", "failed")]
    return {"spec_version": 2, "nodes": nodes, "edges": edges}


def fake(fake_llm) -> dict:
    return requests.get(f"{fake_llm.url}/_fake/requests", timeout=5).json()


def test_the_answer_comes_from_the_passages_found_and_is_sent(app, session, redis, fake_llm):
    """The job searches the base: the passage is a numbered source in a system message, the
    question only the user message; the model's answer is queued as the run's message."""
    publish(faq_graph(faq_base()), keywords=("open",))
    say("when do you open on saturday?")
    assert the_run().state["wait"]["kind"] == "ai"
    work(app, redis, [AI_QUEUE])
    body = fake(fake_llm)["last_body"]
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "system", "user"]
    assert "only the numbered sources" in body["messages"][0]["content"]
    assert body["messages"][0]["content"].endswith("Be brief.")
    assert body["messages"][1]["content"] == f"Sources:\n\n[1] Opening hours\n{HOURS}"
    assert body["messages"][2]["content"] == "when do you open on saturday?"
    assert outgoing() == ["We open from 8 to 18, Monday to Saturday. [1]"]  # the fake answers from the source
    [answer] = log_of(the_run(), "ai_answer")
    assert answer["added"] == [body["messages"][1]]


def test_nothing_relevant_takes_unknown_without_calling_the_model(app, session, redis, fake_llm):
    """A question the base has nothing on: the unknown port, no request to the model, no call row."""
    publish(faq_graph(faq_base()), keywords=("price",))
    say("what is the price of a wedding cake?")
    work(app, redis, [AI_QUEUE])
    assert fake(fake_llm)["count"] == 0
    assert db.session.scalars(select(AICall)).all() == []
    assert outgoing() == ["A person will answer you."]
    assert len(log_of(the_run(), "no_passages")) == 1


def test_a_window_closed_meanwhile_takes_failure_and_sends_nothing(app, session, redis, fake_llm):
    """The customer's last message is over 24 hours old when the answer comes: nothing is sent."""
    publish(faq_graph(faq_base()), keywords=("open",))
    say("when do you open?")
    contact = db.session.scalars(select(Contact)).one()
    contact.last_inbound_at -= timedelta(hours=25)
    db.session.commit()
    work(app, redis, [AI_QUEUE])
    assert fake(fake_llm)["count"] == 1 and outgoing() == []
    [refused] = log_of(the_run(), "send_refused")
    assert "24-hour window" in refused["reason"]


def test_a_base_that_does_not_exist_is_a_validation_error(app, session):
    """The validator checks the base against the knowledge bases there are."""
    base = faq_base()
    assert [i for i in automations.check(faq_graph(base), None) if i.level == "error"] == []
    [problem] = [i for i in automations.check(faq_graph(base + 1), None) if i.level == "error"]
    assert (problem.node, problem.field) == ("faq", "base")
