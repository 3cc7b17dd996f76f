"""A contact's data: the export holds everything stored about them, and forgetting leaves no trace
of who they were or what they said anywhere in the database (checked by scanning every table),
with the messages removed or kept anonymised, and an audit entry either way."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AuditEntry, Base, Contact, ContactGroup, GroupMember, Message, WebhookEvent
from flowapp.services import privacy
from tests import factories
from tests.helpers import customer_message, deliver, status_payload
from tests.services.test_runner import MENU, publish

WA_ID = "15557654321"
NAME = "Beatriz Quintela"
SECRET = "my card ends 4242"


@pytest.fixture
def beatriz(session, redis, admin):
    """A contact with a conversation, a run that waited and logged, a status webhook, and fields."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "exact"}, MENU)
    deliver(customer_message(sender=WA_ID, name=NAME, text="menu"))
    deliver(customer_message(sender=WA_ID, name=NAME, text=SECRET))
    reply = db.session.scalar(select(Message).where(Message.direction == "out").order_by(Message.id))
    reply.wamid = "wamid.reply-to-beatriz"
    db.session.commit()
    deliver(status_payload("wamid.reply-to-beatriz", "delivered", recipient=WA_ID))
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == WA_ID))
    contact.fields = {"note": "prefers mornings"}
    contact.tags = ["vip"]
    contact.language = "pt-BR"
    group = ContactGroup(name="Spring fair visitors", kind="static")
    db.session.add(group)
    db.session.flush()
    db.session.add(GroupMember(group_id=group.id, contact_id=contact.id))
    db.session.commit()
    return contact


def traces(needles: tuple[str, ...]) -> list[tuple[str, str]]:
    """(table, needle) for every needle found in any column of any row of any table."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in db.session.execute(select(table)).all():
            text = " ".join(
                value.decode("utf-8", "replace")
                if isinstance(value, bytes)
                else json.dumps(value, default=str)
                for value in row
            )
            found += [(table.name, needle) for needle in needles if needle in text]
    return sorted(set(found))


def test_the_export_holds_everything_stored_about_them(beatriz, admin):
    assert traces((WA_ID, NAME, SECRET))  # the scan finds them while they are stored
    document = privacy.export_contact(beatriz, user=admin)
    db.session.commit()
    assert document["contact"]["wa_id"] == WA_ID and document["contact"]["profile_name"] == NAME
    assert document["contact"]["fields"] == {"note": "prefers mornings"} and document["contact"]["tags"] == [
        "vip"
    ]
    assert document["contact"]["language"] == "pt-BR"
    assert [g["name"] for g in document["groups"]] == ["Spring fair visitors"]
    assert SECRET in [m["text"] for m in document["messages"]]
    assert {m["direction"] for m in document["messages"]} == {"in", "out"}
    assert document["automation_runs"] and document["automation_runs"][0]["log"]
    json.dumps(document)  # JSON-ready as it is
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.export"))
    assert (entry.target_id, entry.actor, entry.user_id) == (beatriz.id, admin.email, admin.id)
    assert entry.detail == {"messages": len(document["messages"]), "runs": len(document["automation_runs"])}


@pytest.mark.parametrize("mode", privacy.MODES)
def test_forgetting_leaves_no_trace_anywhere(beatriz, admin, mode):
    """Delete or anonymise: afterwards no table holds their number, name or words (the audit entry
    keeps ids and counts only)."""
    messages = db.session.scalar(select(db.func.count()).select_from(Message))
    counts = privacy.forget_contact(beatriz, mode, user=admin)
    db.session.commit()
    assert traces((WA_ID, NAME, SECRET, "prefers mornings")) == []
    assert counts["mode"] == mode and counts["messages"] == messages and counts["webhook_bodies"] >= 3
    remaining = db.session.scalar(select(db.func.count()).select_from(Message))
    assert remaining == (messages if mode == "anonymise" else 0)  # kept for the counts, or gone
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "contact.forget"))
    assert entry.detail == counts and entry.actor == admin.email
    assert db.session.scalar(select(db.func.count()).select_from(GroupMember)) == 0
    assert db.session.scalar(select(ContactGroup.name)) == "Spring fair visitors"  # the group stays
    if mode == "anonymise":
        left = db.session.scalar(select(Contact))
        assert left.opted_out and left.display_name == "Forgotten contact" and left.language is None


def test_unprocessed_webhook_bodies_are_left_to_the_pipeline(beatriz):
    """A body not yet processed is not deleted under the pipeline's feet."""
    waiting = WebhookEvent(
        body=json.dumps(customer_message(sender=WA_ID, text="late")).encode(),
        dedupe_key="late-one",
        lane="contact",
        contact_key=WA_ID,
    )
    db.session.add(waiting)
    db.session.commit()
    privacy.forget_contact(beatriz, "delete")
    db.session.commit()
    assert db.session.get(WebhookEvent, waiting.id) is not None


def test_an_unknown_mode_is_refused(beatriz):
    with pytest.raises(privacy.PrivacyError):
        privacy.forget_contact(beatriz, "shred")


def test_other_contacts_are_untouched(beatriz):
    other = factories.make_contact(wa_id="15550001234", display_name="Other")
    db.session.commit()
    privacy.forget_contact(beatriz, "anonymise")
    db.session.commit()
    assert db.session.get(Contact, other.id).display_name == "Other"
