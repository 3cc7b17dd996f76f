"""The conversation inbox: the list (filters, search, keyset pages), threads, reading, assignment,
labels, contact edits and canned responses. Flushes, never commits.

Unread counts are per user: a user's unread messages in a conversation are the customer's messages
after that user's read position (ConversationRead) and from at most a day before the user's account
was created (a new agent sees what is pending, not years of history as unread).
`Conversation.unread_count` stays the shared count since anyone last read the conversation.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, func, literal, or_, select, text, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased, contains_eager

from flowapp.extensions import db
from flowapp.models import (
    ACTIVE_RUN_STATUSES,
    AutomationRun,
    Contact,
    Conversation,
    ConversationRead,
    Message,
    User,
)

log = logging.getLogger("flowapp.inbox")

PAGE_SIZE = 50
MIN_TEXT_SEARCH = 3
# Search: contacts matching more than this are not listed by id. Message search (see _by_text)
# walks conversations when the words are in at least this share of the latest messages.
CONTACT_PROBE = 5000
TEXT_SAMPLE = 2000
TEXT_COMMON_SHARE = 0.005
TEXT_PLAN_BUDGET_MS = 150
BADGE_CAP = 99
UNREAD_CAP = 100
UNREAD_HORIZON = timedelta(days=1)
STATUS_FILTERS = ("", "open", "bot", "closed", "all")
ASSIGNEE_FILTERS = ("", "mine", "unassigned")
# Inbound types that change another message instead of saying something new.
NOT_COUNTED = ("reaction", "edit", "revoke")


class InboxError(ValueError):
    """A change the inbox refuses; `field` names the input, `reason` is for people."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Filters:
    """What the conversation list shows. `before` is a keyset cursor (last_message_at, id)."""

    status: str = ""
    assignee: str = ""
    needs: bool = False
    label: str = ""
    q: str = ""
    before: tuple[datetime, int] | None = None


@dataclass
class Row:
    conversation: Conversation
    unread: int
    state: str  # closed | needs | bot | open


@dataclass
class Page:
    rows: list[Row]
    next_cursor: str | None
    notice: str | None = None


def encode_cursor(conversation: Conversation) -> str:
    micros = int(conversation.last_message_at.timestamp() * 1_000_000)
    return f"{micros}-{conversation.id}"


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    """The cursor's (time, id), or None when it is not one of ours."""
    match = re.fullmatch(r"(\d{1,18})-(\d{1,12})", value or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match[1]) / 1_000_000, tz=UTC), int(match[2])


def list_conversations(filters: Filters, user: User) -> Page:
    """One page of conversations, newest first, with this user's unread counts and each one's state."""
    notice = None
    if filters.q.strip():
        found, notice = _search(filters, user)
    else:
        found = list(db.session.scalars(_filtered(filters, user).limit(PAGE_SIZE + 1)).unique())
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    unread = unread_counts(user, found)
    bots = _bot_engaged({c.contact_id for c in found})
    rows = [Row(c, unread.get(c.id, 0), _state(c, bots)) for c in found]
    return Page(rows, encode_cursor(found[-1]) if more else None, notice)


def _filtered(filters: Filters, user: User, query=None):
    query = query if query is not None else select(Conversation)
    query = query.where(Conversation.last_message_at.is_not(None))
    if filters.status != "all":
        query = query.where(Conversation.status == "closed" if filters.status == "closed" else _not_closed())
    if filters.status == "bot":
        query = query.where(_bot_clause())
    elif filters.status == "open":
        query = query.where(~_bot_clause())
    if filters.assignee == "mine":
        query = query.where(Conversation.assignee_id == user.id)
    elif filters.assignee == "unassigned":
        query = query.where(Conversation.assignee_id.is_(None))
    if filters.needs:
        query = query.where(Conversation.needs_human.is_(True))
    if filters.label:
        query = query.where(_has_label(filters.label))
    if filters.before:
        at, last_id = filters.before
        # `<=` first so that every index on last_message_at serves it; the tie on time by id.
        query = query.where(
            Conversation.last_message_at <= at,
            or_(Conversation.last_message_at < at, Conversation.id < last_id),
        )
    return query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())


def _not_closed():
    return Conversation.status != "closed"


def _bot_clause():
    """A bot has the conversation: no person took over, and a run is active (or it is 'pending')."""
    active_run = exists().where(
        AutomationRun.contact_id == Conversation.contact_id,
        AutomationRun.status.in_(ACTIVE_RUN_STATUSES),
        AutomationRun.paused.is_(False),
    )
    return and_(Conversation.bot_paused.is_(False), or_(Conversation.status == "pending", active_run))


def _has_label(label: str):
    if db.session.get_bind().dialect.name == "postgresql":
        # JSONB @>, served by the GIN index (the column's Python type is the portable JSON).
        return type_coerce(Conversation.labels, JSONB).contains([label])
    each = func.json_each(Conversation.labels).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == label))


def _search(filters: Filters, user: User) -> tuple[list[Conversation], str | None]:
    """Conversations whose contact's name or number, or any message's text, contains the query.

    Contacts and messages are searched apart and merged in order: one query OR-ing across both
    tables could use neither table's trigram index.
    """
    q = filters.q.strip()[:100]
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", q) + "%"
    found = _by_contact(filters, user, q, pattern)
    notice = None
    if len(q) >= MIN_TEXT_SEARCH:
        found += _by_text(filters, user, pattern)
    else:
        notice = f"Type at least {MIN_TEXT_SEARCH} characters to search message text too."
    unique = {c.id: c for c in found}.values()
    ordered = sorted(unique, key=lambda c: (c.last_message_at, c.id), reverse=True)
    return ordered[: PAGE_SIZE + 1], notice


def _by_contact(filters: Filters, user: User, q: str, pattern: str) -> list[Conversation]:
    """By name or number: the matching contacts first (trigram index), then their conversations.

    Asking the contacts first keeps the planner from walking the whole list in order when it
    overestimates how common a name is; only a name matching thousands of contacts (found early in
    that walk anyway) goes the other way.
    """
    digits = re.sub(r"\D", "", q)
    condition = or_(
        Contact.display_name.ilike(pattern, escape="\\"), Contact.profile_name.ilike(pattern, escape="\\")
    )
    if len(digits) >= 3 and re.fullmatch(r"[\d\s()+.-]+", q):
        condition = or_(condition, Contact.wa_id.like(f"%{digits}%"))
    with _planner(enable_seqscan="off"):
        ids = list(db.session.scalars(select(Contact.id).where(condition).limit(CONTACT_PROBE + 1)))
    query = _filtered(filters, user, select(Conversation).join(Conversation.contact))
    if len(ids) <= CONTACT_PROBE:
        query = query.where(Conversation.contact_id.in_(ids))
    else:
        query = query.where(condition)
    query = query.options(contains_eager(Conversation.contact)).limit(PAGE_SIZE + 1)
    return list(db.session.scalars(query).unique())


def _by_text(filters: Filters, user: User, pattern: str) -> list[Conversation]:
    """By message text. PostgreSQL has two good plans and picks badly between them (its guess
    comes from a 100-value sample and misses rare words by far):

    - the trigram index's complete set of matching messages: fast for rare words;
    - walking the newest conversations and probing each one's messages: fast for common words.

    So the choice is made here, from how often the words appear in the latest TEXT_SAMPLE messages,
    and forced with planner settings. Should the sample mislead (words common long ago, rare lately),
    the chosen plan gets TEXT_PLAN_BUDGET_MS (statement_timeout, in a savepoint) before the other.
    """
    matches = Message.text.ilike(pattern, escape="\\")
    base = _filtered(filters, user).limit(PAGE_SIZE + 1)
    if db.session.get_bind().dialect.name != "postgresql":
        return list(
            db.session.scalars(
                base.where(Conversation.id.in_(select(Message.conversation_id).where(matches)))
            )
        )
    recent = select(Message.text).order_by(Message.id.desc()).limit(TEXT_SAMPLE).subquery()
    sampled, seen = db.session.execute(
        select(func.count(), func.count().filter(recent.c.text.ilike(pattern, escape="\\")))
    ).one()
    plans = [_newest_first, _through_index]
    if seen < sampled * TEXT_COMMON_SHARE or not seen:
        plans.reverse()
    for plan, budget in zip(plans, (TEXT_PLAN_BUDGET_MS, 0), strict=True):
        settings_ = {"enable_seqscan" if plan is _through_index else "enable_bitmapscan": "off"}
        if budget:
            settings_["statement_timeout"] = f"{budget}ms"
        try:
            with _planner(**settings_):
                return list(db.session.scalars(plan(base, matches)).unique())
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "57014":  # query_canceled: over its budget
                raise
    raise AssertionError("unreachable: the last attempt has no time limit")  # pragma: no cover


def _through_index(base, matches):
    # MATERIALIZED: the matching messages are collected first (from the trigram index: sequential
    # scans are off), never probed conversation by conversation.
    hits = select(Message.conversation_id).where(matches).distinct().cte("hits").prefix_with("MATERIALIZED")
    return base.where(Conversation.id.in_(select(hits.c.conversation_id)))


def _newest_first(base, matches):
    # A scalar subquery with LIMIT is never turned into a join: the plan walks conversations in
    # order, and each probe reads that conversation's messages by index (bitmap scans are off, or
    # the probe would consult the trigram index once per conversation).
    probe = select(literal(1)).where(Message.conversation_id == Conversation.id, matches).limit(1)
    return base.where(probe.scalar_subquery().is_not(None))


@contextmanager
def _planner(**settings_):
    """PostgreSQL settings for the statements inside, in a savepoint (a cancelled statement rolls
    back to it and the settings with it); other databases ignore them."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    with db.session.begin_nested():
        for name, value in settings_.items():
            db.session.execute(select(func.set_config(name, value, True)))
        yield
        for name in settings_:
            db.session.execute(text(f"SET LOCAL {name} TO DEFAULT"))


def _bot_engaged(contact_ids: set[int]) -> set[int]:
    if not contact_ids:
        return set()
    return set(
        db.session.scalars(
            select(AutomationRun.contact_id).where(
                AutomationRun.contact_id.in_(contact_ids),
                AutomationRun.status.in_(ACTIVE_RUN_STATUSES),
                AutomationRun.paused.is_(False),
            )
        )
    )


def _state(conversation: Conversation, bot_contacts: set[int]) -> str:
    if conversation.status == "closed":
        return "closed"
    if conversation.needs_human:
        return "needs"
    if not conversation.bot_paused and (
        conversation.status == "pending" or conversation.contact_id in bot_contacts
    ):
        return "bot"
    return "open"


def conversation_state(conversation: Conversation) -> str:
    """closed, needs (a person), bot or open: what the list and the panel show."""
    return _state(conversation, _bot_engaged({conversation.contact_id}))


def unread_counts(user: User, conversations: list[Conversation]) -> dict[int, int]:
    """{conversation id: the user's unread customer messages, at most UNREAD_CAP} (zeros left out)."""
    ids = [c.id for c in conversations if c.last_inbound_message_id]
    if not ids:
        return {}
    read = aliased(ConversationRead)
    # The unread tail of each conversation, walked on the inbound (conversation_id, id) index and
    # capped: a conversation with thousands of unread messages costs no more than one with 100.
    tail = (
        select(Message.id)
        .where(
            Message.conversation_id == Conversation.id,
            Message.direction == "in",
            Message.id > func.coalesce(read.last_read_message_id, 0),
            Message.type.not_in(NOT_COUNTED),
            Message.created_at > _unread_since(user),
        )
        .correlate(Conversation, read)
        .limit(UNREAD_CAP)
        .subquery()
    )
    counts = db.session.execute(
        select(Conversation.id, select(func.count()).select_from(tail).scalar_subquery())
        .outerjoin(read, and_(read.conversation_id == Conversation.id, read.user_id == user.id))
        .where(Conversation.id.in_(ids))
    )
    return {conversation_id: count for conversation_id, count in counts if count}


def unread_conversations(user: User) -> int:
    """How many open conversations (mine or unassigned) have unread messages for `user`, capped at 100."""
    read = aliased(ConversationRead)
    since = _unread_since(user)
    hits = (
        select(Conversation.id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .outerjoin(read, and_(read.conversation_id == Conversation.id, read.user_id == user.id))
        .where(
            Conversation.status != "closed",
            or_(Conversation.assignee_id == user.id, Conversation.assignee_id.is_(None)),
            Conversation.last_message_at > since,
            Contact.last_inbound_at > since,
            Conversation.last_inbound_message_id > func.coalesce(read.last_read_message_id, 0),
        )
        .limit(BADGE_CAP + 1)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(hits)) or 0


def _unread_since(user: User) -> datetime:
    return user.created_at - UNREAD_HORIZON


def list_fingerprint(user: User) -> tuple:
    """Changes whenever the list could look different for `user` (a cheap query per poll)."""
    # max(id) rather than count(*): both maxima are index lookups, a count walks the whole table.
    # (A deleted conversation therefore shows until the next change.) One round trip for all.
    parts = (
        select(func.max(Conversation.updated_at)),
        select(func.max(Conversation.id)),
        select(func.max(ConversationRead.read_at)).where(ConversationRead.user_id == user.id),
        select(func.count(AutomationRun.id)).where(
            AutomationRun.status.in_(ACTIVE_RUN_STATUSES), AutomationRun.paused.is_(False)
        ),
    )
    return tuple(db.session.execute(select(*(part.scalar_subquery() for part in parts))).one())


# -- threads -----------------------------------------------------------------------------------
