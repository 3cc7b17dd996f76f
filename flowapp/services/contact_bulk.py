"""Changes to many contacts at once, from the contacts page's selection. Flushes, never commits.

Each returns how many contacts it changed, so the page can say so: a contact that already had the
tag, or had opted out already, is not counted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Automation, Contact, ContactGroup, User, utcnow
from flowapp.services import broadcasts, contact_list, groups
from flowapp.services.contacts import MAX_TAGS

# A page shows 50; the cap only refuses a forged form that names thousands.
MAX_SELECTED = 500
# "Select all that match": more than this is a job for a segment used as an audience.
MAX_MATCHING = 5000


class BulkError(ValueError):
    """A bulk change refused as a whole; the message is for people."""


@dataclass
class Outcome:
    changed: int
    skipped: int = 0


def selected(ids: list[int]) -> list[Contact]:
    """The contacts with these ids (those that still exist), newest first."""
    if not ids:
        raise BulkError("Select at least one contact.")
    if len(ids) > MAX_SELECTED:
        raise BulkError(f"Select at most {MAX_SELECTED} contacts at once.")
    query = select(Contact).where(Contact.id.in_(set(ids))).order_by(Contact.id.desc())
    return list(db.session.scalars(query))


def matching(filters) -> list[Contact]:
    """Every contact the list's filters match, all pages ("select all that match"), newest first.
    Raises BulkError past MAX_MATCHING: the change would be one long request."""
    ids = contact_list.matching_ids(dataclasses.replace(filters, after=None), MAX_MATCHING + 1)
    if len(ids) > MAX_MATCHING:
        raise BulkError(
            f"These filters match more than {MAX_MATCHING:,} contacts: narrow them, or save them as a "
            "segment and use it as an audience."
        )
    if not ids:
        raise BulkError("No contact matches these filters.")
    query = select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id.desc())
    return list(db.session.scalars(query))


def clean_tag(tag: str) -> str:
    """The tag as stored (trimmed); raises BulkError when empty or longer than 64 characters."""
    tag = (tag or "").strip()
    if not 0 < len(tag) <= 64:
        raise BulkError("A tag is 1 to 64 characters.")
    return tag


def add_tag(contacts: list[Contact], tag: str) -> Outcome:
    """Add `tag` to each contact that lacks it; a contact already at the tag limit is skipped."""
    tag = clean_tag(tag)
    outcome = Outcome(0)
    for contact in contacts:
        tags = list(contact.tags or [])
        if tag in tags:
            continue
        if len(tags) >= MAX_TAGS:
            outcome.skipped += 1
            continue
        # A new list, not an append: the JSON column only notices a new value.
        contact.tags = [*tags, tag]
        contact.updated_at = utcnow()
        outcome.changed += 1
    db.session.flush()
    return outcome


def remove_tag(contacts: list[Contact], tag: str) -> Outcome:
    """Remove `tag` from each contact that has it."""
    tag = clean_tag(tag)
    outcome = Outcome(0)
    for contact in contacts:
        if tag in (contact.tags or []):
            contact.tags = [t for t in contact.tags if t != tag]
            contact.updated_at = utcnow()
            outcome.changed += 1
    db.session.flush()
    return outcome


def opt_out(contacts: list[Contact]) -> Outcome:
    """Mark each contact opted out: automations and broadcasts leave them out from now on."""
    outcome = Outcome(0)
    for contact in contacts:
        if not contact.opted_out:
            contact.opted_out = True
            contact.updated_at = utcnow()
            outcome.changed += 1
    db.session.flush()
    return outcome


def start_automation(
    contacts: list[Contact], automation_id: int | None, user: User
) -> tuple[Automation, Outcome]:
    """Start a published automation for the contacts, as a broadcast a worker runs once committed.

    Opted-out contacts are left out (counted as skipped); so, when the worker gets to them, are
    contacts already in a run of it."""
    automation = db.session.get(Automation, automation_id) if automation_id else None
    if automation is None or automation.published_version_id is None:
        raise BulkError("Choose a published automation.")
    audience = {"contact_ids": [contact.id for contact in contacts]}
    broadcast = broadcasts.create(automation, audience, user=user, note="contacts page")
    return automation, Outcome(broadcast.total, len(contacts) - broadcast.total)


def add_to_group(contacts: list[Contact], group_id: int | None) -> tuple[ContactGroup, Outcome]:
    """Add the contacts to a static group; those already in it are counted as skipped."""
    group = groups.get(group_id)
    if group is None or group.kind != "static":
        raise BulkError("Choose a group (a segment's contacts come from its conditions).")
    added = groups.add_contacts(group, [contact.id for contact in contacts])
    return group, Outcome(added, len(contacts) - added)


def remove_from_group(contacts: list[Contact], group_id: int | None) -> tuple[ContactGroup, Outcome]:
    """Take the contacts out of a static group (the contacts themselves stay)."""
    group = groups.get(group_id)
    if group is None or group.kind != "static":
        raise BulkError("Choose a group (a segment's contacts come from its conditions).")
    removed = groups.remove_contacts(group, [contact.id for contact in contacts])
    return group, Outcome(removed, len(contacts) - removed)


def static_groups() -> list[tuple[int, str]]:
    """(id, name) of the static groups contacts can be added to, by name."""
    return [(group.id, group.name) for group in groups.all_groups() if group.kind == "static"]


def published_automations() -> list[tuple[int, str]]:
    """(id, name) of the automations that can be started, by name."""
    query = (
        select(Automation.id, Automation.name)
        .where(Automation.published_version_id.is_not(None))
        .order_by(Automation.name)
    )
    return [(row.id, row.name) for row in db.session.execute(query)]
