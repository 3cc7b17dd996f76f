"""Opt-out and opt-in: keyword matching, the history, and the pipeline handling STOP before automations."""

import pytest
from sqlalchemy import select

from flowapp.extensions import db, get_queue
from flowapp.models import AutomationRun, ConsentChange, Contact, Conversation, Message
from flowapp.services import consent
from tests import factories
from tests.helpers import customer_message, status_payload
from tests.helpers import deliver as pipeline_deliver
from tests.services.test_runner import MENU, publish


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("STOP", "out"),
        ("stop", "out"),
        ("  Stop!  ", "out"),
        ("Unsubscribe", "out"),
        ("stopp", "out"),  # German, Scandinavian
        ("ARRÊT", "out"),  # French, with its accent
        ("arret", "out"),  # ...and without
        ("Arrêt.", "out"),
        ("parar", "out"),
        ("BAJA", "out"),
        ("¡Baja!", "out"),
        ("abmelden", "out"),
        ("cancelar", "out"),
        ("opt   out", "out"),  # inner spaces collapse
        ("START", "in"),
        ("subscribe", "in"),
        ("Démarrer", "in"),
        ("demarrer", "in"),
        ("please stop calling", None),  # whole message only
        ("stop it", None),
        ("stopping", None),
        ("don't unsubscribe me", None),
        ("", None),
        (None, None),
        ("hi", None),
    ],
)
def test_keyword_matching(session, text, kind):
    """The whole message, trimmed, any case, with or without accents, in several languages."""
    assert consent.keyword_kind(text) == kind


def test_keywords_come_from_settings(session):
    """Settings replace the default lists; a default word no longer listed is an ordinary message."""
    consent.save({**consent.current(), "opt_out_keywords": ["Basta ya"]})
    assert consent.keyword_kind("BASTA YA") == "out"
    assert consent.keyword_kind("stop") is None
    consent.save({**consent.current(), "opt_in_keywords": []})
    assert consent.keyword_kind("start") is None  # no opt-in keyword: only people opt contacts back in


def test_parse_keywords():
    """One per line or comma separated; blanks and repeats (ignoring case and accents) dropped."""
    assert consent.parse_keywords("STOP, stop\nArrêt\n\n arret ,  opt  out") == ["STOP", "Arrêt", "opt out"]


def test_set_opted_out_records_changes_only(session, user):
    """A change of the flag adds a history row with its source and author; no change, no row."""
    contact = factories.make_contact()
    change = consent.set_opted_out(contact, True, source="agent", user_id=user.id)
    assert contact.opted_out and change.source == "agent" and change.user_id == user.id
    assert consent.set_opted_out(contact, True, source="api") is None
    consent.set_opted_out(contact, False, source="api")
    rows = consent.history(contact)
    assert [(c.opted_out, c.source, by) for c, by in rows] == [
        (False, "api", None),
        (True, "agent", "agent@example.com"),
    ]


# -- through the pipeline -----------------------------------------------------------------------


def deliver(text, sender="15551230001"):
    pipeline_deliver(customer_message(sender=sender, text=text))


def outgoing() -> list[tuple[str, str]]:
    query = select(Message.text, Message.author_type).where(Message.direction == "out").order_by(Message.id)
    return [tuple(row) for row in db.session.execute(query)]


def contact() -> Contact:
    return db.session.scalar(select(Contact).where(Contact.wa_id == "15551230001"))


def history() -> list[tuple]:
    rows = db.session.scalars(select(ConsentChange).order_by(ConsentChange.id))
    return [(row.opted_out, row.source, row.text, row.message_id is not None) for row in rows]


@pytest.fixture
def menu(session, redis):
    return publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)


def test_stop_opts_out_and_confirms(session, redis):
    """A customer's STOP opts them out, keeps the history and sends the confirmation as free text."""
    deliver("hello")
    deliver("Stop")
    assert contact().opted_out
    assert history() == [(True, "keyword", "Stop", True)]
    assert outgoing() == [(consent.DEFAULT_OPT_OUT_REPLY, "system")]


def test_stop_from_a_new_contact(session, redis):
    """A first message that is STOP creates the contact already opted out."""
    deliver("UNSUBSCRIBE")
    assert contact().opted_out and len(outgoing()) == 1


def test_stop_goes_before_a_waiting_run(menu):
    """A run waiting for a reply does not take STOP: it still waits, and sends nothing more."""
    deliver("menu")
    run = db.session.scalar(select(AutomationRun))
    assert run.status == "waiting"
    deliver("stop")
    db.session.refresh(run)
    assert run.status == "waiting" and run.current_node == "menu"
    assert [text for text, _ in outgoing()] == ["Hi Ana! Pick one", consent.DEFAULT_OPT_OUT_REPLY]


def test_stop_is_not_an_automation_keyword(session, redis):
    """An automation whose keyword is STOP never sees it: consent comes first."""
    publish("Catch stop", {"type": "keyword", "keywords": ["stop"]}, MENU)
    deliver("STOP")
    assert db.session.scalar(select(AutomationRun)) is None


def test_a_sentence_with_stop_goes_to_the_automations(menu):
    """'menu, please stop calling' is an ordinary message: no opt-out, the keyword automation runs."""
    deliver("menu please stop calling")
    assert not contact().opted_out and history() == []
    assert db.session.scalar(select(AutomationRun)).status == "waiting"


def test_start_opts_back_in_with_its_confirmation(session, redis):
    """START after STOP opts the contact back in, with its own confirmation and history row."""
    deliver("stop")
    deliver("Start")
    assert not contact().opted_out
    assert [(out, source) for out, source, _, _ in history()] == [(True, "keyword"), (False, "keyword")]
    assert [text for text, _ in outgoing()] == [consent.DEFAULT_OPT_OUT_REPLY, consent.DEFAULT_OPT_IN_REPLY]


def test_start_from_someone_subscribed_is_an_ordinary_message(session, redis):
    """START from a contact who never opted out changes nothing and may start an automation."""
    publish("Start", {"type": "keyword", "keywords": ["start"]}, MENU)
    deliver("start")
    assert history() == [] and db.session.scalar(select(AutomationRun)) is not None


def test_confirmations_are_configurable(session, redis):
    """Settings' confirmation is sent; an empty one sends nothing, the opt-out still happens."""
    consent.save({**consent.current(), "opt_out_reply": "Done, no more offers.", "opt_in_reply": ""})
    db.session.commit()
    deliver("stop")
    deliver("start")
    assert outgoing() == [("Done, no more offers.", "system")]
    assert not contact().opted_out


def test_opted_out_contact_still_gets_automation_replies(menu):
    """After STOP, a customer who writes again is answered: replies in an open conversation go."""
    deliver("stop")
    deliver("menu")
    assert contact().opted_out
    assert outgoing()[-1] == ("Hi Ana! Pick one", "run")


def test_stop_works_while_a_person_has_taken_over(menu):
    """A paused bot (a person took over) still honours STOP: consent is not an automation."""
    deliver("hi")
    conversation = db.session.scalar(select(Conversation))
    conversation.bot_paused = True
    db.session.commit()
    deliver("stop")
    assert contact().opted_out and outgoing() == [(consent.DEFAULT_OPT_OUT_REPLY, "system")]


# -- Meta's error 131050: the customer stopped marketing messages in WhatsApp ---------------------


STOPPED = [
    {
        "code": 131050,
        "title": "User has stopped marketing messages",
        "message": "User has stopped marketing messages",
        "error_data": {"details": "The user has opted out of marketing messages."},
    }
]


def _run_queued_opt_outs() -> list:
    """Perform the queued stopped_marketing jobs as a worker would; their results."""
    queue = get_queue("default")
    jobs = [queue.fetch_job(job_id) for job_id in queue.job_ids]
    return [job.perform() for job in jobs if job.func_name.endswith("stopped_marketing")]


def test_a_failed_status_with_131050_opts_the_customer_out_after_the_batch(session, redis):
    contact = factories.make_contact("15551230077")
    conversation = factories.make_conversation(contact)
    db.session.add(
        Message(conversation=conversation, direction="out", type="template", status="sent", wamid="wamid.MKT")
    )
    db.session.commit()
    pipeline_deliver(status_payload("wamid.MKT", "failed", recipient="15551230077", errors=STOPPED))
    db.session.refresh(contact)
    assert not contact.opted_out  # not inside the status batch, which holds message locks
    assert _run_queued_opt_outs() == [1]
    db.session.refresh(contact)
    assert contact.opted_out
    change = db.session.scalar(select(ConsentChange).where(ConsentChange.contact_id == contact.id))
    assert change.source == "whatsapp" and "131050" in change.text
    assert _run_queued_opt_outs() == [0]  # the same job again (a retry) changes nothing


def test_other_failures_opt_nobody_out(session, redis):
    contact = factories.make_contact("15551230078")
    conversation = factories.make_conversation(contact)
    db.session.add(Message(conversation=conversation, direction="out", status="sent", wamid="wamid.X"))
    db.session.commit()
    errors = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}]
    pipeline_deliver(status_payload("wamid.X", "failed", recipient="15551230078", errors=errors))
    assert _run_queued_opt_outs() == []
    db.session.refresh(contact)
    assert not contact.opted_out


def test_a_send_refused_with_131050_opts_the_customer_out(graph_mock, session, redis):
    from flowapp.services import delivery
    from tests.services.test_delivery import contact_conversation, fault, queue_texts

    (message,) = queue_texts(contact_conversation("15551230079"), "our spring offer")
    fault(graph_mock, code=131050, count=1)
    delivery.drain()
    db.session.commit()
    db.session.refresh(message)
    assert message.status == "failed" and message.error_code == 131050
    assert _run_queued_opt_outs() == [1]
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == "15551230079"))
    assert contact.opted_out
