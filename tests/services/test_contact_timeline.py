"""A contact's activity timeline: every source merged newest first, and pages that together list
every event exactly once, even when events share an instant or a run ends long after it began."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AutomationRun, Contact, ContactGroup, GroupMember, Message, utcnow
from flowapp.services import audit, consent, contact_timeline
from tests import factories
from tests.helpers import customer_message, deliver
from tests.services.test_runner import MENU, publish

WA_ID = "351912000111"


def all_pages(contact, size):
    events, cursor, pages = [], None, 0
    while True:
        page = contact_timeline.page(contact, cursor, size=size)
        events += page.events
        pages += 1
        if page.cursor is None:
            return events, pages
        cursor = page.cursor


def test_every_source_is_merged_newest_first(session, redis, admin):
    """Messages both ways, the run, an opt-out by keyword, a group, an export and the creation."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "exact"}, MENU)
    deliver(customer_message(sender=WA_ID, text="menu"))
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == WA_ID))
    group = ContactGroup(name="Fair", kind="static")
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupMember(group_id=group.id, contact_id=contact.id))
    consent.set_opted_out(contact, True, source="keyword", text="STOP")
    audit.record("contact.export", "contact", contact.id, user=admin)
    db.session.commit()

    events = contact_timeline.page(contact).events
    kinds = {event.kind for event in events}
    assert {
        "message_in",
        "message_out",
        "run_started",
        "opted_out",
        "group_added",
        "audit",
        "created",
    } <= kinds
    assert [(e.at, e.key) for e in events] == sorted(((e.at, e.key) for e in events), reverse=True)
    inbound = next(e for e in events if e.kind == "message_in")
    assert inbound.text == "menu" and inbound.ref["conversation_id"]


def test_pages_list_every_event_once_even_at_the_same_instant(session):
    """Forty messages written at one instant, split over pages of 7: none repeated, none lost."""
    contact = factories.make_contact(WA_ID)
    conversation = factories.make_conversation(contact)
    instant = utcnow() - timedelta(minutes=5)
    for n in range(40):
        db.session.add(
            Message(conversation_id=conversation.id, direction="in", text=f"m{n}", created_at=instant)
        )
    db.session.add(
        Message(conversation_id=conversation.id, direction="in", text="later", created_at=utcnow())
    )
    db.session.commit()

    events, pages = all_pages(contact, size=7)
    texts = [e.text for e in events if e.kind == "message_in"]
    assert len(texts) == 41 and len(set(texts)) == 41 and texts[0] == "later"
    assert pages == 6  # 41 messages and the creation, 7 a page
    assert [e.kind for e in events].count("created") == 1


def test_a_run_that_ends_long_after_it_began_shows_its_end_where_it_happened(session, redis):
    """A run waited two days while 30 newer ones began and ended: its end is still on page one."""
    automation = publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "exact"}, MENU)
    contact = factories.make_contact(WA_ID)
    now = utcnow()
    old = AutomationRun(
        automation_id=automation.id,
        version_id=automation.published_version_id,
        contact_id=contact.id,
        status="completed",
        started_at=now - timedelta(days=2),
        ended_at=now,
    )
    db.session.add(old)
    for n in range(30):
        begun = now - timedelta(days=1) + timedelta(minutes=n)
        db.session.add(
            AutomationRun(
                automation_id=automation.id,
                version_id=automation.published_version_id,
                contact_id=contact.id,
                status="completed",
                started_at=begun,
                ended_at=begun + timedelta(seconds=5),
            )
        )
    db.session.commit()

    first = contact_timeline.page(contact, size=10).events
    assert (first[0].kind, first[0].ref["run_id"]) == ("run_ended", old.id)
    events, _ = all_pages(contact, size=10)
    keys = [e.key for e in events]
    assert len(keys) == len(set(keys)) == 31 * 2 + 1


def test_an_unreadable_cursor_starts_at_the_newest(session):
    contact = factories.make_contact(WA_ID)
    assert contact_timeline.page(contact, "yesterday|x").events[0].kind == "created"
    assert contact_timeline.page(contact, "no-bar").events[0].kind == "created"
