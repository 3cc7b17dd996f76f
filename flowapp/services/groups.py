"""Groups: static lists of contacts, and dynamic segments (a stored query). Flushes, never commits.

A static group holds GroupMember rows, added and removed in bulk (adding a contact twice, or
removing one that is not there, changes nothing). A segment stores its query (flowapp.services.
segments) and has no member rows: its contacts are whoever the query matches now.

An opted-out contact may be in a group (so it is still there if they opt back in), but is never in
an audience: flowapp.services.audiences leaves them out.
"""

from __future__ import annotations

from sqlalchemy import delete, exists, func, insert, select

from flowapp.extensions import db
from flowapp.models import Automation, Contact, ContactGroup, GroupMember, User
from flowapp.services import segments

MAX_NAME = 100
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
MAX_ADD = 10_000  # contacts added in one call; the contacts page sends at most a page's selection


class GroupError(ValueError):
    """A change refused; `field` is the form field at fault ("name", "query"), `index` the query's
    condition at fault, and `conflict` says it clashes with other rows (a taken name, a group in use)."""

    def __init__(self, message: str, field: str = "name", index: int | None = None, conflict: bool = False):
        super().__init__(message)
        self.field, self.index, self.conflict = field, index, conflict


def all_groups() -> list[ContactGroup]:
    """Every group and segment, by name."""
    return list(db.session.scalars(select(ContactGroup).order_by(func.lower(ContactGroup.name))))


def get(group_id: int | None) -> ContactGroup | None:
    """The group with this id, or None (also for a number no row id can be)."""
    return db.session.get(ContactGroup, group_id) if group_id and 0 < group_id <= MAX_ID else None


def create_static(name: str, user: User | None = None) -> ContactGroup:
    """A new, empty static group (GroupError when the name is empty, too long or taken)."""
    group = ContactGroup(name=_clean_name(name), kind="static", created_by_id=user.id if user else None)
    db.session.add(group)
    db.session.flush()
    return group


def create_segment(name: str, query: object, user: User | None = None) -> ContactGroup:
    """A new segment (GroupError naming the field at fault, or the condition for a bad query)."""
    name = _clean_name(name)
    _check_query(query, None)
    group = ContactGroup(name=name, kind="dynamic", query=query, created_by_id=user.id if user else None)
    db.session.add(group)
    db.session.flush()
    return group


def update_segment(group: ContactGroup, name: str, query: object) -> ContactGroup:
    """Rename a segment and replace its query, both checked first; nothing changes on an error."""
    name = _clean_name(name, group.id)
    _check_query(query, group.id)
    group.name, group.query = name, query
    db.session.flush()
    return group


def rename(group: ContactGroup, name: str) -> ContactGroup:
    """Give a group or segment a new name."""
    group.name = _clean_name(name, group.id)
    db.session.flush()
    return group


def delete_group(group: ContactGroup) -> None:
    """Delete a group (its member rows go with it; the contacts stay).

    Refused while a segment or an automation's audience refers to it: they would stop working."""
    for other in all_groups():
        if other.kind == "dynamic" and group.id in _referred(other.query):
            message = f"The segment “{other.name}” refers to it; change that segment first."
            raise GroupError(message, "group", conflict=True)
    for automation in db.session.scalars(select(Automation)):
        if group.id in _audience_groups(automation):
            message = f"The automation “{automation.name}” sends to it; change its trigger first."
            raise GroupError(message, "group", conflict=True)
    db.session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    db.session.delete(group)
    db.session.flush()


def add_contacts(group: ContactGroup, contact_ids: list[int]) -> int:
    """Add the contacts (those that exist) to a static group; returns how many were new to it."""
    _require_static(group)
    wanted = set(contact_ids)
    if len(wanted) > MAX_ADD:
        raise GroupError(f"Add at most {MAX_ADD} contacts at once.", "ids")
    existing = select(Contact.id).where(Contact.id.in_(wanted))
    present = select(GroupMember.contact_id).where(GroupMember.group_id == group.id)
    new = list(db.session.scalars(existing.where(Contact.id.not_in(present))))
    if new:
        db.session.execute(insert(GroupMember), [{"group_id": group.id, "contact_id": i} for i in new])
    db.session.flush()
    return len(new)


def remove_contacts(group: ContactGroup, contact_ids: list[int]) -> int:
    """Take the contacts out of a static group; returns how many were in it."""
    _require_static(group)
    gone = db.session.execute(
        delete(GroupMember).where(
            GroupMember.group_id == group.id, GroupMember.contact_id.in_(set(contact_ids))
        )
    )
    db.session.flush()
    return gone.rowcount or 0


def members_clause(group: ContactGroup):
    """The group's contacts as a WHERE clause on Contact: members of a static group, or the contacts a
    segment's query matches (evaluated by the database)."""
    return segments.group_clause(group)


def of_contact(contact: Contact, max_segments: int = 100) -> tuple[list[ContactGroup], list[ContactGroup]]:
    """The static groups the contact is in, and the segments that match them now (one EXISTS query
    per segment, each on the contact's primary key; at most `max_segments` segments are tried)."""
    static = list(
        db.session.scalars(
            select(ContactGroup)
            .join(GroupMember, GroupMember.group_id == ContactGroup.id)
            .where(GroupMember.contact_id == contact.id)
            .order_by(func.lower(ContactGroup.name))
        )
    )
    candidates = db.session.scalars(
        select(ContactGroup)
        .where(ContactGroup.kind == "dynamic")
        .order_by(func.lower(ContactGroup.name))
        .limit(max_segments)
    )
    matching = []
    for segment in candidates:
        try:
            clause = members_clause(segment)
        except segments.SegmentError:  # one that refers to a deleted group matches nobody
            continue
        if db.session.scalar(select(exists().where(Contact.id == contact.id, clause))):
            matching.append(segment)
    return static, matching


def count(group: ContactGroup) -> int:
    """How many contacts are in the group (opted-out ones included)."""
    if group.kind != "dynamic":  # the primary key answers it without touching contacts
        query = select(func.count()).where(GroupMember.group_id == group.id)
        return db.session.scalar(query) or 0
    return segments.count(members_clause(group))


def counts(groups: list[ContactGroup]) -> dict[int, int | None]:
    """Each group's count for the list; None for a segment whose query no longer works."""
    found = {}
    for group in groups:
        try:
            found[group.id] = count(group)
        except segments.SegmentError:
            found[group.id] = None
    return found


def _require_static(group: ContactGroup) -> None:
    if group.kind == "dynamic":
        raise GroupError(
            "A segment's contacts come from its conditions; add them to a static group.", "group"
        )


def _check_query(query: object, segment_id: int | None) -> None:
    try:
        segments.clause(query, segment_id=segment_id)
    except segments.SegmentError as exc:
        raise GroupError(str(exc), "query", exc.index) from None


def _referred(query: dict | None) -> set[int]:
    conditions = (query or {}).get("conditions") or []
    return {c.get("value") for c in conditions if isinstance(c, dict) and c.get("kind") == "group"}


def _audience_groups(automation: Automation) -> set:
    triggers = [
        automation.trigger,
        automation.published_version.trigger if automation.published_version else None,
    ]
    return {
        group_id
        for trigger in triggers
        if isinstance(trigger, dict) and isinstance(trigger.get("audience"), dict)
        for group_id in trigger["audience"].get("groups") or []
    }


def _clean_name(name: str, group_id: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise GroupError("Give it a name.")
    if len(name) > MAX_NAME:
        raise GroupError(f"A name is at most {MAX_NAME} characters.")
    taken = select(ContactGroup.id).where(func.lower(ContactGroup.name) == name.lower())
    if group_id:
        taken = taken.where(ContactGroup.id != group_id)
    if db.session.scalar(taken.limit(1)):
        raise GroupError(f"There is already a group named “{name}”.", conflict=True)
    return name
