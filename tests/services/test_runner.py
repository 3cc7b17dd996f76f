"""Runs around the engine: triggers, replies to waiting runs, interrupts, deadlines, hand-off."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.jobs.automations import fire_deadline, sweep_deadlines
from flowapp.models import AutomationLog, AutomationRun, AutomationVersion, Conversation, Message, utcnow
from flowapp.services import automations, runner
from tests.helpers import customer_message
from tests.helpers import deliver as pipeline_deliver


def node(node_id, kind, config=None, x=0):
    return {"id": node_id, "type": kind, "config": config or {}, "position": {"x": x, "y": 0}}


def edge(source, port, target):
    return {"from": source, "port": port, "to": target}


MENU = {
    "spec_version": 2,
    "nodes": [
        node("start", "start"),
        node(
            "menu",
            "send_buttons",
            {
                "text": "Hi {{ contact.name }}! Pick one",
                "timeout": "1h",
                "buttons": [
                    {"id": "hours", "title": "Opening hours"},
                    {"id": "human", "title": "Talk to us"},
                ],
            },
        ),
        node("hours", "send_text", {"text": "We open 9-17."}),
        node("human", "handoff", {"reason": "asked for a person"}),
        node("other", "send_text", {"text": "Please tap a button."}),
        node("late", "log", {"message": "no answer"}),
    ],
    "edges": [
        edge("start", "next", "menu"),
        edge("menu", "hours", "hours"),
        edge("menu", "human", "human"),
        edge("menu", "other", "other"),
        edge("menu", "timeout", "late"),
    ],
}


def publish(name, trigger, graph, priority=0):
    automation = automations.create(name, trigger=trigger, graph=graph)
    automation.priority = priority
    automations.publish(automation)
    db.session.commit()
    return automation


def deliver(**spec) -> Message | None:
    pipeline_deliver(customer_message(**spec))
    return db.session.scalar(select(Message).where(Message.direction == "in").order_by(Message.id.desc()))


def outgoing() -> list[str]:
    return list(
        db.session.scalars(select(Message.text).where(Message.direction == "out").order_by(Message.id))
    )


@pytest.fixture
def menu(session, redis):
    return publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)


def test_keyword_starts_a_run_and_sends_buttons(menu):
    """'Menu please' matches the keyword; the run sends its buttons and waits for the choice."""
    deliver(text="Menu please", name="Ana")
    run = db.session.scalar(select(AutomationRun))
    assert run.status == "waiting" and run.current_node == "menu"
    assert outgoing() == ["Hi Ana! Pick one"]
    assert run.wait_deadline is not None and run.wait_deadline > utcnow() + timedelta(minutes=59)


def test_button_reply_takes_its_port(menu):
    """Tapping a button continues the waiting run down that button's port."""
    deliver(text="menu")
    deliver(button_reply={"id": "hours", "title": "Opening hours"})
    run = db.session.scalar(select(AutomationRun))
    assert run.status == "completed"
    assert outgoing()[-1] == "We open 9-17."


def test_other_text_takes_the_other_port(menu):
    """A reply that is no button goes to 'other'."""
    deliver(text="menu")
    deliver(text="what?")
    assert outgoing()[-1] == "Please tap a button."


def test_handoff_pauses_the_bot(menu):
    """The hand-off node marks the conversation for a person and pauses automations there."""
    deliver(text="menu")
    deliver(button_reply={"id": "human", "title": "Talk to us"})
    conversation = db.session.scalar(select(Conversation))
    assert conversation.needs_human and conversation.bot_paused
    assert conversation.handoff_reason == "asked for a person"
    deliver(text="menu")  # the bot stays quiet while a person has the conversation
    assert db.session.scalar(select(AutomationRun).where(AutomationRun.status == "waiting")) is None


def test_timeout_fires_once_and_stale_tokens_do_nothing(menu):
    """The deadline job takes the timeout port; a second firing (stale token) changes nothing."""
    deliver(text="menu")
    run = db.session.scalar(select(AutomationRun))
    token = run.state["wait"]["token"]
    assert fire_deadline(run.id, "not-the-token") == "stale"
    assert fire_deadline(run.id, token) == "completed"
    assert fire_deadline(run.id, token) == "stale"
    events = list(db.session.scalars(select(AutomationLog.event).where(AutomationLog.run_id == run.id)))
    assert "timeout" in events


def test_overdue_deadline_is_swept(menu):
    """A deadline whose job was lost (Redis flushed) is fired by the sweep."""
    deliver(text="menu")
    run = db.session.scalar(select(AutomationRun))
    run.wait_deadline = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert sweep_deadlines() == 1
    assert db.session.get(AutomationRun, run.id).status == "completed"


def test_interrupting_keyword_replaces_the_waiting_run(menu):
    """A keyword marked 'interrupts' ends the waiting run and starts its own."""
    publish(
        "Cancel",  # not "stop": that is an opt-out keyword, handled before any automation
        {"type": "keyword", "keywords": ["cancel"], "match": "exact", "interrupts": True},
        {
            "spec_version": 2,
            "nodes": [node("start", "start"), node("bye", "send_text", {"text": "Bye"})],
            "edges": [edge("start", "next", "bye")],
        },
    )
    deliver(text="menu")
    deliver(text="CANCEL")
    statuses = list(db.session.scalars(select(AutomationRun.status).order_by(AutomationRun.id)))
    assert statuses == ["interrupted", "completed"]
    assert outgoing()[-1] == "Bye"


def test_waiting_run_gets_the_reply_before_other_triggers(menu):
    """A non-interrupting keyword does not steal a reply from the waiting run."""
    publish(
        "Any",
        {"type": "any_message"},
        {
            "spec_version": 2,
            "nodes": [node("start", "start"), node("x", "send_text", {"text": "any"})],
            "edges": [edge("start", "next", "x")],
        },
    )
    deliver(text="menu")
    deliver(text="hmm")
    assert outgoing()[-1] == "Please tap a button."


def test_priority_picks_the_most_specific_trigger(session, redis):
    """Exact keyword beats contains, which beats any message; the automation's priority breaks ties."""

    def graph(text):
        nodes = [node("start", "start"), node("t", "send_text", {"text": text})]
        return {"spec_version": 2, "nodes": nodes, "edges": [edge("start", "next", "t")]}

    publish("any", {"type": "any_message"}, graph("any"), priority=99)
    publish("contains", {"type": "keyword", "keywords": ["price"], "match": "contains"}, graph("contains"))
    publish("exact", {"type": "keyword", "keywords": ["price list"], "match": "exact"}, graph("exact"))
    deliver(text="Price List")
    assert outgoing() == ["exact"]


def test_version_pinning(menu, session):
    """Publishing a new version never changes a waiting run: it finishes on the version it started on."""
    deliver(text="menu")
    changed = {
        **MENU,
        "nodes": [
            n if n["id"] != "hours" else node("hours", "send_text", {"text": "NEW"}) for n in MENU["nodes"]
        ],
    }
    automations.save_draft(menu, changed)
    automations.publish(menu)
    deliver(button_reply={"id": "hours", "title": "Opening hours"})
    assert outgoing()[-1] == "We open 9-17."
    deliver(text="menu")
    deliver(button_reply={"id": "hours", "title": "Opening hours"})
    assert outgoing()[-1] == "NEW"


def test_one_active_run_per_contact_and_automation(menu):
    """Starting the same automation again while one runs does nothing."""
    message = deliver(text="menu")
    contact = message.conversation.contact
    assert runner.start_run(menu, contact) is None
    assert db.session.scalar(select(AutomationRun).where(AutomationRun.status == "waiting")) is not None


def test_handoff_pauses_the_contacts_other_waiting_runs(menu):
    """A hand-off in one automation quiets the contact's other waiting runs until hand-back."""
    publish(
        "Human",
        {"type": "keyword", "keywords": ["human"], "match": "exact", "interrupts": False},
        {
            "spec_version": 2,
            "nodes": [node("start", "start"), node("h", "handoff", {"reason": "asked"})],
            "edges": [edge("start", "next", "h")],
        },
    )
    deliver(text="menu")
    waiting = db.session.scalar(select(AutomationRun).where(AutomationRun.status == "waiting"))
    contact = waiting.contact
    human = db.session.scalar(select(automations.Automation).where(automations.Automation.name == "Human"))
    runner.start_run(human, runner.lock_contact(contact.id))
    db.session.commit()
    db.session.refresh(waiting)
    assert waiting.status == "waiting" and waiting.paused


def test_a_reply_taken_by_the_waiting_run_names_the_keywords_it_beat(menu):
    """The waiting run takes "help" although the Help automation's keyword matches it (by design);
    the run's log says so, naming Help, so the inbox, the phone and the trace can show it. Letting
    Help interrupt publishes a version with only that flag, and the next "help" goes to Help."""
    helper = publish(
        "Help",
        {"type": "keyword", "keywords": ["help"], "match": "exact"},
        {
            "spec_version": 2,
            "nodes": [node("start", "start"), node("h", "send_text", {"text": "How can we help?"})],
            "edges": [edge("start", "next", "h")],
        },
    )
    deliver(text="menu")
    taken = deliver(text="help")
    waiting = db.session.scalar(select(AutomationRun).where(AutomationRun.automation_id != helper.id))
    log = db.session.scalar(select(AutomationLog).where(AutomationLog.event == "took_reply"))
    assert log.run_id == waiting.id and log.node_id == "menu"
    assert log.detail == {
        "message_id": taken.id,
        "text": "help",
        "matched": [{"id": helper.id, "name": "Help", "keyword": True}],
    }
    assert outgoing()[-1] == "Please tap a button."  # the menu took it

    helper.draft = {
        **helper.draft,
        "nodes": [*helper.draft["nodes"], node("x", "end")],
    }  # an unpublished edit
    version = automations.let_interrupt(helper)
    db.session.commit()
    assert version.number == 2 and version.trigger["interrupts"] is True
    assert version.graph == db.session.get(AutomationVersion, version.id - 1).graph  # not the draft
    deliver(text="menu")
    deliver(text="help")
    assert outgoing()[-1] == "How can we help?"


def test_no_note_when_nothing_else_matched(menu):
    deliver(text="menu")
    deliver(text="hours?")
    assert db.session.scalar(select(AutomationLog).where(AutomationLog.event == "took_reply")) is None
