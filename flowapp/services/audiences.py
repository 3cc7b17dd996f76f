"""Audiences: who a broadcast goes to (the manual or API start, a schedule), as one SQL clause.

An audience is a dict of optional parts, and a contact is in it when every part given holds:
- "contact_ids": [ids]  the contact is one of these;
- "groups": [ids]       the contact is in at least one of these groups or segments (a union);
- "tags": [tags]        the contact has every one of these tags;
- "fields": {key: v}    each of these custom fields equals its value ("42" matches 42 too).
So {"groups": [1, 2], "tags": ["vip"]} is "in group 1 or 2, and tagged vip". An empty audience is
everyone; an empty list of contact_ids or groups is nobody. Opted-out contacts are never in an
audience, whatever names them (documented in docs/contacts.md, "Groups and segments").
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select

from flowapp.extensions import db
from flowapp.models import Contact, ContactGroup
from flowapp.services import segments
from flowapp.services.contact_clauses import field_equals, has_tag

MAX_GROUPS = 20


class AudienceError(ValueError):
    """An audience that cannot be evaluated; `field` names the part at fault ("groups[0]")."""

    def __init__(self, message: str, field: str = "audience"):
        super().__init__(message)
        self.field = field


def clause(audience: dict):
    """The WHERE clause (on Contact) of the audience; AudienceError when a group is unknown or a
    segment's query no longer works."""
    parts = [Contact.opted_out.is_(False)]
    # Present but empty is nobody, not everyone: a list emptied by mistake must not send to all.
    if "contact_ids" in audience:
        parts.append(Contact.id.in_([int(i) for i in audience["contact_ids"] or []]))
    if "groups" in audience:
        parts.append(_in_any(audience["groups"] or []))
    parts += [has_tag(tag) for tag in audience.get("tags") or []]
    parts += [field_equals(key, str(value)) for key, value in (audience.get("fields") or {}).items()]
    return and_(*parts)


def _in_any(group_ids: list) -> object:
    if len(group_ids) > MAX_GROUPS:
        raise AudienceError(f"At most {MAX_GROUPS} groups in an audience.", "groups")
    clauses = []
    for index, group_id in enumerate(group_ids):
        possible = isinstance(group_id, int) and 0 < group_id < 2**31
        group = db.session.get(ContactGroup, group_id) if possible else None
        if group is None:
            raise AudienceError(f"No group with id {group_id}.", f"groups[{index}]")
        try:
            clauses.append(segments.group_clause(group))
        except segments.SegmentError as exc:
            raise AudienceError(
                f"The segment “{group.name}” cannot be used: {exc}", f"groups[{index}]"
            ) from None
    return or_(*clauses) if clauses else false()


def ids(audience: dict) -> list[int]:
    """The ids of the audience's contacts, in id order (selected by the database)."""
    return list(db.session.scalars(select(Contact.id).where(clause(audience)).order_by(Contact.id)))


def count(audience: dict) -> int:
    """How many contacts the audience has now."""
    return segments.count(clause(audience))
