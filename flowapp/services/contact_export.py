"""The contacts list as CSV, for the filters on screen: streamed in batches (100,000 rows never sit
in memory at once) and safe to open in a spreadsheet.

A cell a spreadsheet would read as a formula (starting with = + - @, or a tab or carriage return
that some read past) gets a leading apostrophe, OWASP's advice for CSV injection: a customer who
named themselves "=HYPERLINK(...)" cannot make an agent's spreadsheet run it. Phone numbers never
start with those, and are written as digits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Contact, Conversation
from flowapp.services import contact_list

BATCH = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = (
    "number",
    "name",
    "whatsapp_name",
    "tags",
    "opted_out",
    "last_inbound_at",
    "birthday",
    "timezone",
    "language",
)


def safe_cell(value: object) -> str:
    """The value as CSV text, neutralised when a spreadsheet would take it for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rows(filters: contact_list.Filters) -> Iterator[str]:
    """The CSV, a chunk of lines at a time: the header, then every matching contact, newest first.
    Custom fields are columns after the fixed ones, one per field name any matching contact has (a
    first pass collects the names: reading twice keeps memory flat, where holding the rows would not)."""
    fields = sorted(
        {key for batch in _batches(filters) for contact in batch for key in (contact.fields or {})}
    )
    yield _line([*COLUMNS, *(f"field:{name}" for name in fields)])
    for batch in _batches(filters):
        out = io.StringIO()
        writer = csv.writer(out)
        for contact in batch:
            writer.writerow([safe_cell(value) for value in _values(contact, fields)])
        yield out.getvalue()


def _batches(filters: contact_list.Filters) -> Iterator[list[Contact]]:
    after: int | None = None
    while True:
        query = contact_list.narrow(
            select(Contact).outerjoin(Conversation, Conversation.contact_id == Contact.id), filters
        )
        if after is not None:
            query = query.where(Contact.id < after)
        batch = list(db.session.scalars(query.order_by(Contact.id.desc()).limit(BATCH)))
        if batch:
            yield batch
        if len(batch) < BATCH:
            return
        after = batch[-1].id
        db.session.expunge_all()  # what was written is not kept: memory stays flat


def _values(contact: Contact, fields: list[str]) -> list:
    custom = contact.fields or {}
    return [
        contact.wa_id,
        contact.display_name,
        contact.profile_name,
        "; ".join(contact.tags or []),
        "yes" if contact.opted_out else "no",
        contact.last_inbound_at.isoformat() if contact.last_inbound_at else "",
        contact.birthday.isoformat() if contact.birthday else "",
        contact.timezone,
        contact.language,
        *(custom.get(name) for name in fields),
    ]


def _line(values: list) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([safe_cell(value) for value in values])
    return out.getvalue()
