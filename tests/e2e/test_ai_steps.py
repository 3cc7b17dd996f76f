"""AI steps end to end on the live stack (gunicorn, a worker for the pipeline's queues, a worker for
the "ai" queue, the mock Graph API, the fake model over HTTP): a slow model call holds neither the
pipeline's worker nor other contacts, and the contact's own message sent meanwhile is held and
answered in order after the step."""

import pytest
import requests
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AICall, AutomationLog, AutomationRun, Contact
from flowapp.services import automations
from flowapp.whatsapp.signature import sign
from tests import live
from tests.conftest import TEST_SECRETS
from tests.helpers import customer_message, encode

pytestmark = pytest.mark.e2e
# The slow call's latency: far beyond what the other contact's reply takes (a worker that had to
# wait for the model would miss it by seconds, not milliseconds).
SLOW_MS = 10_000


def node(node_id, kind, config=None):
    return {"id": node_id, "type": kind, "config": config or {}, "position": {"x": 0, "y": 0}}


def edge(source, port, target):
    return {"from": source, "port": port, "to": target}


TRIAGE = {
    "spec_version": 2,
    "nodes": [
        node("start", "start"),
        node("triage", "classify", {"categories": [{"name": "refund", "description": "money back"}]}),
        node("sorry", "send_text", {"text": "refund it is"}),
        node("ask", "wait_reply", {"variable": "order"}),
        node("got", "send_text", {"text": "got {{ vars.order }}"}),
    ],
    "edges": [
        edge("start", "next", "triage"),
        edge("triage", "refund", "sorry"),
        edge("sorry", "next", "ask"),
        edge("ask", "reply", "got"),
    ],
}
HELLO = {
    "spec_version": 2,
    "nodes": [node("start", "start"), node("hello", "send_text", {"text": "hello there"})],
    "edges": [edge("start", "next", "hello")],
}


def publish(app) -> None:
    with app.app_context():
        for name, keyword, graph in (("Triage", "refund", TRIAGE), ("Hello", "hi", HELLO)):
            automation = automations.create(
                name, trigger={"type": "keyword", "keywords": [keyword], "match": "contains"}, graph=graph
            )
            automations.publish(automation)
        db.session.commit()


def write(stack, sender: str, text: str) -> None:
    raw = encode(customer_message(sender=sender, text=text))
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(raw, TEST_SECRETS["APP_SECRET"]),
    }
    assert (
        requests.post(f"{stack.url}/webhooks/whatsapp", data=raw, headers=headers, timeout=5).status_code
        == 200
    )


def sent_to(stack, wa_id: str) -> list[str]:
    found = requests.get(f"{stack.mock.url}/_mock/messages", params={"to": wa_id}, timeout=5).json()
    return [m["body"]["text"]["body"] for m in found["messages"]]


def run_of(app, wa_id: str) -> tuple[str, str | None, int]:
    """(status, wait kind, held messages) of the contact's run."""
    with app.app_context():
        run = db.session.scalar(select(AutomationRun).join(Contact).where(Contact.wa_id == wa_id))
        if run is None:
            return ("none", None, 0)
        held = db.session.scalars(
            select(AutomationLog).where(AutomationLog.run_id == run.id, AutomationLog.event == "held")
        )
        return (run.status, (run.state.get("wait") or {}).get("kind"), len(held.all()))


def test_a_slow_model_call_holds_no_one_else_and_messages_wait_behind_it(live_stack):
    """Ana's step waits 10 s for the model on the ai worker; meanwhile Bo gets his keyword reply and
    Ana's next message is held; then Ana gets the step's answer and her held message is answered."""
    app = live_stack.app
    publish(app)
    fake = live_stack.fake_llm.url
    requests.post(f"{fake}/_fake/faults", json={"latency_ms": SLOW_MS}, timeout=5)
    write(live_stack, "15557770101", "I want a refund")
    live.wait_for(
        lambda: run_of(app, "15557770101")[:2] == ("waiting", "ai"), 30, "Ana's run to wait on the model"
    )
    write(live_stack, "15557770101", "order 42")
    write(live_stack, "15557770102", "hi")
    live.wait_for(lambda: sent_to(live_stack, "15557770102") == ["hello there"], 30, "Bo's reply")
    live.wait_for(lambda: run_of(app, "15557770101")[2] == 1, 30, "Ana's second message to be held")
    with app.app_context():
        assert db.session.scalars(select(AICall)).all() == []  # the model has not answered yet
    assert sent_to(live_stack, "15557770101") == []
    live.wait_for(
        lambda: sent_to(live_stack, "15557770101") == ["refund it is", "got order 42"],
        60,
        "Ana's two replies in order",
    )
    assert run_of(app, "15557770101") == ("completed", None, 0)
