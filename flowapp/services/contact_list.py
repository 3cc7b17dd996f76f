"""The contacts list: search, filters and keyset pages, newest contact first (id descending).

Pages follow a cursor (the last id shown), never OFFSET: page 2,000 costs what page 1 costs, and a
contact created while someone pages never shifts the rows under them. Ids are unique, so ties
cannot split a page either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from sqlalchemy import Text, and_, cast, exists, false, func, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from flowapp.extensions import db
from flowapp.models import Contact, ContactGroup, Conversation, utcnow
from flowapp.services import segments
from flowapp.services.contact_clauses import FIELD_NAME, field_equals, has_tag, postgresql

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """What the list shows. `after` is the cursor: the id of the last contact of the previous page."""

    q: str = ""
    tag: str = ""
    field: str = ""
    value: str = ""
    opted_out: str = ""  # "yes", "no" or "" for both
    seen_days: int | None = None
    open_conversation: bool = False
    group: int | None = None  # a static group's or a segment's id
    after: int | None = None

    @property
    def narrowed(self) -> bool:
        """Whether anything but the cursor narrows the list."""
        narrowing = (
            self.q,
            self.tag,
            self.field,
            self.opted_out,
            self.seen_days,
            self.open_conversation,
            self.group,
        )
        return any(narrowing)


@dataclass
class Row:
    contact: Contact
    conversation: Conversation | None


@dataclass
class Page:
    rows: list[Row]
    next_cursor: int | None


def list_contacts(filters: Filters) -> Page:
    """One page of contacts matching `filters`, each with its conversation (None when it has none)."""
    query = select(Contact, Conversation).outerjoin(Conversation, Conversation.contact_id == Contact.id)
    query = narrow(query, filters)
    if filters.after:
        query = query.where(Contact.id < filters.after)
    found = db.session.execute(query.order_by(Contact.id.desc()).limit(PAGE_SIZE + 1)).all()
    rows = [Row(contact, conversation) for contact, conversation in found[:PAGE_SIZE]]
    more = len(found) > PAGE_SIZE
    return Page(rows, rows[-1].contact.id if more else None)


def matching_ids(filters: Filters, limit: int) -> list[int]:
    """The ids of every contact `filters` match (all pages, the cursor ignored), newest first, at
    most `limit` of them."""
    query = select(Contact.id).outerjoin(Conversation, Conversation.contact_id == Contact.id)
    query = narrow(query, filters).order_by(Contact.id.desc()).limit(limit)
    return list(db.session.scalars(query))


def count(filters: Filters) -> int:
    """How many contacts `filters` match (all pages)."""
    query = narrow(select(Contact.id).outerjoin(Conversation, Conversation.contact_id == Contact.id), filters)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def narrow(query, filters: Filters):
    """`query` (contacts outer-joined to their conversation) limited to what `filters` ask for."""
    if filters.q:
        query = query.where(search_clause(filters.q))
    if filters.tag:
        query = query.where(has_tag(filters.tag))
    if filters.field and FIELD_NAME.fullmatch(filters.field):
        query = query.where(field_equals(filters.field, filters.value))
    if filters.opted_out in ("yes", "no"):
        query = query.where(Contact.opted_out.is_(filters.opted_out == "yes"))
    if filters.seen_days:
        query = query.where(Contact.last_inbound_at >= utcnow() - timedelta(days=filters.seen_days))
    if filters.open_conversation:
        query = query.where(Conversation.status != "closed")
    if filters.group:
        query = query.where(in_group(filters.group))
    return query


def in_group(group_id: int):
    """Contacts in the group or segment (none when it does not exist or its query no longer works)."""
    group = db.session.get(ContactGroup, group_id) if 0 < group_id < 2**31 else None
    try:
        return segments.group_clause(group) if group else false()
    except segments.SegmentError:
        return false()


def number_digits(q: str) -> str | None:
    """The digits to look for when `q` looks like a phone number in any usual format, else None:
    "+351 912 345 678" and "00351912345678" give 351912345678, "912-345-678" gives 912345678."""
    if not re.fullmatch(r"[\d\s()+./-]+", q):
        return None
    digits = re.sub(r"\D", "", q)
    if q.lstrip().startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= 3 else None


def search_clause(q: str):
    """Contacts whose name or number contains `q`, or one of whose custom field values does."""
    q = q.strip()[:100]
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", q) + "%"
    digits = number_digits(q)
    if digits:
        # Numbers are stored as bare digits, so any formatting the person typed must go first. Digits
        # may also be a field's value (an order number), never a name.
        return or_(Contact.wa_id.like(f"%{digits}%"), _field_value_like(pattern))
    return or_(
        Contact.display_name.ilike(pattern, escape="\\"),
        Contact.profile_name.ilike(pattern, escape="\\"),
        _field_value_like(pattern),
    )


def _field_value_like(pattern: str):
    if postgresql():
        # The trigram index on the JSON text finds candidates; jsonb_each_text then checks that the
        # match is in a value and not in a field's name.
        values = func.jsonb_each_text(type_coerce(Contact.fields, JSONB)).table_valued("key", "value")
        in_value = exists(select(1).select_from(values).where(values.c.value.ilike(pattern, escape="\\")))
        return and_(cast(Contact.fields, Text).ilike(pattern, escape="\\"), in_value)
    values = func.json_each(Contact.fields).table_valued("key", "value")
    return exists(select(1).select_from(values).where(values.c.value.ilike(pattern, escape="\\")))


def format_number(wa_id: str) -> str:
    """The number as people write it in its country (+351 912 345 678, +44 7700 900123), from libphonenumber's
    metadata; "+" and the digits when it is not a number libphonenumber knows."""
    try:
        parsed = phonenumbers.parse(f"+{wa_id}")
    except phonenumbers.NumberParseException:
        return f"+{wa_id}"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def known_tags(limit: int = 200, recent: int = 2000) -> list[str]:
    """Tags in use, for the filter's choices: those of the `recent` newest contacts, sorted.

    The database unpacks the tag lists and keeps each tag once, so a few dozen short strings come back
    instead of 2,000 JSON lists to parse on every page and every HTMX list request."""
    newest = select(Contact.tags).order_by(Contact.id.desc()).limit(recent).subquery()
    if postgresql():
        tag = func.jsonb_array_elements_text(type_coerce(newest.c.tags, JSONB)).table_valued("value")
    else:
        tag = func.json_each(newest.c.tags).table_valued("value")
    query = select(tag.c.value).select_from(newest).join(tag, true()).distinct()
    found = db.session.scalars(query.order_by(tag.c.value).limit(limit))
    return [value for value in found if isinstance(value, str)]
