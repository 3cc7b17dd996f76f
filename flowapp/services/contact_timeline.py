"""One contact's activity, newest first: messages, automation runs, opt-out changes, groups joined,
audit entries (exports) and when the contact was created, merged from their tables into one
timeline read a page at a time.

A page asks each source for its newest rows before the cursor (an index range on every table), then
merges them: no source is read whole, so a contact with 50,000 messages costs what a new one costs.
The cursor is the time and key of the last event shown; events at that very instant with a larger
key were shown already, so ties never repeat or go missing between pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, false, func, or_, select, true

from flowapp.extensions import db
from flowapp.models import (
    AuditEntry,
    Automation,
    AutomationRun,
    ConsentChange,
    Contact,
    ContactGroup,
    Conversation,
    GroupMember,
    Message,
    User,
)

PAGE_SIZE = 30
_MESSAGE_PREVIEW = 140


@dataclass(frozen=True)
class Event:
    """One line of the timeline. `kind` picks its icon and wording; `ref` holds ids for links."""

    at: datetime
    kind: str
    key: str  # unique across sources ("message:12"): the order of events at the same instant
    text: str
    ref: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Page:
    events: list[Event]
    cursor: str | None  # where the next page starts, None at the beginning of time


def page(contact: Contact, cursor: str | None = None, size: int = PAGE_SIZE) -> Page:
    """The `size` newest events before `cursor` (None: the newest of all)."""
    before = _parse(cursor)
    events: list[Event] = []
    for source in (_messages, _run_starts, _run_ends, _consent, _groups, _audit):
        events += source(contact, before, size + 1)
    if before is None or (contact.created_at, "contact:") < before:
        events.append(Event(contact.created_at, "created", "contact:", "Contact created"))
    events = sorted((e for e in events if before is None or (e.at, e.key) < before), key=_order, reverse=True)
    shown = events[:size]
    more = len(events) > size
    return Page(shown, f"{shown[-1].at.isoformat()}|{shown[-1].key}" if more else None)


def _key(prefix: str, row_id: int) -> str:
    return f"{prefix}:{row_id:012d}"


def _order(event: Event) -> tuple:
    return (event.at, event.key)


def _parse(cursor: str | None) -> tuple[datetime, str] | None:
    """The (time, key) a cursor names; None for none or one that cannot be read (the first page)."""
    if not cursor or "|" not in cursor:
        return None
    at, _, key = cursor.partition("|")
    try:
        return datetime.fromisoformat(at), key[:40]
    except ValueError:
        return None


def _before(at_column, id_column, prefix: str, before):
    """Rows of one source that come after the cursor in the timeline's order (time, then key).

    At the cursor's own instant, a row's key ("message:000000000012") decides: a source whose prefix
    sorts below the cursor's comes entirely after it, one above entirely before; in the cursor's own
    source, the ids below the cursor's."""
    if before is None:
        return true()
    at, key = before
    source, _, number = key.partition(":")
    if source == prefix:
        same_instant = id_column < int(number) if number.isdigit() else false()
    else:
        same_instant = true() if prefix < source else false()
    return or_(at_column < at, and_(at_column == at, same_instant))


def _messages(contact: Contact, before, limit: int) -> list[Event]:
    query = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.contact_id == contact.id,
            _before(Message.created_at, Message.id, "message", before),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    return [_message_event(m) for m in db.session.scalars(query)]


def _message_event(message: Message) -> Event:
    text = (message.text or "").strip()
    if len(text) > _MESSAGE_PREVIEW:
        text = text[: _MESSAGE_PREVIEW - 1] + "…"
    kind = "message_in" if message.direction == "in" else "message_out"
    ref = {
        "conversation_id": message.conversation_id,
        "type": message.type,
        "author": message.author_type,
        "status": message.status,
    }
    return Event(message.created_at, kind, _key("message", message.id), text, ref)


def _run_starts(contact: Contact, before, limit: int) -> list[Event]:
    return _run_events(contact, AutomationRun.started_at, "runstart", before, limit)


def _run_ends(contact: Contact, before, limit: int) -> list[Event]:
    """Read apart from the starts: a run that waited for days ends after many newer runs began."""
    return _run_events(contact, AutomationRun.ended_at, "runend", before, limit)


def _run_events(contact: Contact, column, prefix: str, before, limit: int) -> list[Event]:
    query = (
        select(AutomationRun, Automation.name)
        .join(Automation, Automation.id == AutomationRun.automation_id)
        .where(
            AutomationRun.contact_id == contact.id,
            column.is_not(None),
            _before(column, AutomationRun.id, prefix, before),
        )
        .order_by(column.desc(), AutomationRun.id.desc())
        .limit(limit)
    )
    ended = column is AutomationRun.ended_at
    events = []
    for run, name in db.session.execute(query):
        ref = {"automation_id": run.automation_id, "run_id": run.id, "status": run.status, "name": name}
        kind, at = ("run_ended", run.ended_at) if ended else ("run_started", run.started_at)
        events.append(Event(at, kind, _key(prefix, run.id), name, ref))
    return events


def _consent(contact: Contact, before, limit: int) -> list[Event]:
    query = (
        select(ConsentChange, func.coalesce(func.nullif(User.name, ""), User.email))
        .outerjoin(User, User.id == ConsentChange.user_id)
        .where(
            ConsentChange.contact_id == contact.id,
            _before(ConsentChange.created_at, ConsentChange.id, "consent", before),
        )
        .order_by(ConsentChange.created_at.desc(), ConsentChange.id.desc())
        .limit(limit)
    )
    return [
        Event(
            change.created_at,
            "opted_out" if change.opted_out else "opted_in",
            _key("consent", change.id),
            change.text or "",
            {"source": change.source, "by": by},
        )
        for change, by in db.session.execute(query)
    ]


def _groups(contact: Contact, before, limit: int) -> list[Event]:
    query = (
        select(GroupMember.added_at, ContactGroup.id, ContactGroup.name)
        .join(ContactGroup, ContactGroup.id == GroupMember.group_id)
        .where(
            GroupMember.contact_id == contact.id,
            _before(GroupMember.added_at, GroupMember.group_id, "group", before),
        )
        .order_by(GroupMember.added_at.desc(), GroupMember.group_id.desc())
        .limit(limit)
    )
    return [
        Event(added_at, "group_added", _key("group", group_id), name, {"group_id": group_id})
        for added_at, group_id, name in db.session.execute(query)
    ]


def _audit(contact: Contact, before, limit: int) -> list[Event]:
    query = (
        select(AuditEntry)
        .where(
            AuditEntry.target_type == "contact",
            AuditEntry.target_id == contact.id,
            _before(AuditEntry.at, AuditEntry.id, "audit", before),
        )
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        Event(entry.at, "audit", _key("audit", entry.id), entry.action, {"actor": entry.actor})
        for entry in db.session.scalars(query)
    ]
