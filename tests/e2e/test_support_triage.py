"""The "Support triage with AI" example end to end on the live stack (gunicorn, the pipeline's worker,
an "ai" worker, the mock Graph API, the built-in fake model): created from the example as a new user
would (with its Support FAQ knowledge base), published, then three customers write through Meta's
signed webhook: one is asked for the order number until she gives it and is handed to a person, one
gets an answer from the FAQ, one who wants a person is handed over at once."""

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Contact, Conversation, KnowledgeBase
from flowapp.services import automations, examples
from tests import live
from tests.e2e.test_ai_steps import sent_to, write

pytestmark = pytest.mark.e2e

MARTA, RUI, INES = "15557770201", "15557770202", "15557770203"


def needs_person(app, wa_id: str) -> bool:
    with app.app_context():
        conversation = db.session.scalar(select(Conversation).join(Contact).where(Contact.wa_id == wa_id))
        return bool(conversation and conversation.needs_human)


def test_the_support_triage_example_runs_end_to_end(live_stack):
    app = live_stack.app
    with app.app_context():
        automation = examples.create_from("support_triage")
        assert automations.check(automation.draft, automation.trigger) == []
        automations.publish(automation)
        db.session.commit()
        assert db.session.scalar(select(KnowledgeBase.name)) == "Support FAQ (example)"

    write(live_stack, MARTA, "Where is my order? It should have arrived")
    asked = "Sure, I can look into it. What is your order number? (like #40721)"
    live.wait_for(lambda: sent_to(live_stack, MARTA) == [asked], 60, "the question for the order number")
    write(live_stack, MARTA, "It is #40721")
    thanks = "Thanks! Order 40721: a person is checking it and will write to you here shortly."
    live.wait_for(lambda: sent_to(live_stack, MARTA) == [asked, thanks], 60, "Marta's order number taken")
    live.wait_for(lambda: needs_person(app, MARTA), 60, "Marta handed to a person")

    write(live_stack, RUI, "Can I return it and get a refund?")
    live.wait_for(lambda: len(sent_to(live_stack, RUI)) == 1, 60, "Rui's answer from the FAQ")
    [answer] = sent_to(live_stack, RUI)
    assert answer.startswith("Returns are free within 30 days of delivery.") and answer.endswith("[1]")
    assert not needs_person(app, RUI)

    write(live_stack, INES, "I have a problem and want to talk to a person")
    connecting = "Let me pass you to a person. We usually answer within a few minutes."
    live.wait_for(lambda: sent_to(live_stack, INES) == [connecting], 60, "Inês told a person is coming")
    live.wait_for(lambda: needs_person(app, INES), 60, "Inês handed to a person")
