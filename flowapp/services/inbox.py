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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal, or_, select, text, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased, contains_eager

from flowapp.extensions import after_commit, db
from flowapp.models import (
    ACTIVE_RUN_STATUSES,
    AutomationLog,
    AutomationRun,
    CannedResponse,
    Contact,
    Conversation,
    ConversationRead,
    Message,
    User,
    utcnow,
)
from flowapp.services import settings
from flowapp.services.upsert import insert_or_ignore

log = logging.getLogger("flowapp.inbox")

PAGE_SIZE = 50
THREAD_PAGE = 50
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
HIDDEN_IN_THREAD = ("edit", "revoke")
THREAD_EVENTS = ("version", "ended", "handed_off", "paused_by_person", "resumed_by_person")
LABELS_KEY = "inbox_labels"
RECEIPTS_KEY = "inbox_read_receipts"
MAX_LABELS = 20
_LABEL = re.compile(r"^[\w][\w .:/+-]{0,39}$")
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# Status ranks for the thread fingerprint: statuses only move forward, so their sum only grows.
_RANKS = {"received": 0, "queued": 1, "sent": 2, "delivered": 3, "read": 4, "played": 5, "failed": 7}


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


@dataclass
class Thread:
    messages: list[Message]
    events: list[AutomationLog]
    quoted: dict[str, Message] = field(default_factory=dict)
    has_earlier: bool = False


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


def load_thread(
    conversation: Conversation, *, since: Message | None = None, before: Message | None = None
) -> Thread:
    """The conversation's messages in time order: from `since` on (what an open page shows), the page
    before `before` (scrolling back), or the latest page; with the automation events among them."""
    query = select(Message).where(
        Message.conversation_id == conversation.id, Message.type.not_in(HIDDEN_IN_THREAD)
    )
    if since is not None:
        messages = list(db.session.scalars(query.where(_at_or_after(since)).order_by(*_ASC)))
        has_earlier = _exists_before(conversation, since)
    else:
        if before is not None:
            query = query.where(~_at_or_after(before))
        newest = list(db.session.scalars(query.order_by(*_DESC).limit(THREAD_PAGE + 1)))
        has_earlier = len(newest) > THREAD_PAGE
        messages = newest[:THREAD_PAGE][::-1]
    thread = Thread(messages, [], has_earlier=has_earlier)
    if messages:
        start = messages[0].created_at if has_earlier else None
        end = before.created_at if before is not None else None
        thread.events = _events(conversation.contact_id, start, end)
        thread.quoted = _quoted(messages)
    return thread


_ASC = (Message.created_at, Message.id)
_DESC = (Message.created_at.desc(), Message.id.desc())


def _at_or_after(anchor: Message):
    return or_(
        Message.created_at > anchor.created_at,
        and_(Message.created_at == anchor.created_at, Message.id >= anchor.id),
    )


def _exists_before(conversation: Conversation, anchor: Message) -> bool:
    query = select(Message.id).where(
        Message.conversation_id == conversation.id,
        Message.type.not_in(HIDDEN_IN_THREAD),
        ~_at_or_after(anchor),
    )
    return db.session.scalar(query.limit(1)) is not None


def _events(contact_id: int, start: datetime | None, end: datetime | None) -> list[AutomationLog]:
    query = (
        select(AutomationLog)
        .join(AutomationRun, AutomationRun.id == AutomationLog.run_id)
        .where(AutomationRun.contact_id == contact_id, AutomationLog.event.in_(THREAD_EVENTS))
    )
    if start is not None:
        query = query.where(AutomationLog.created_at >= start)
    if end is not None:
        query = query.where(AutomationLog.created_at < end)
    return list(db.session.scalars(query.order_by(AutomationLog.id.desc()).limit(200)))[::-1]


def _quoted(messages: list[Message]) -> dict[str, Message]:
    """Messages quoted by these ones (replies, reactions) that are not among them."""
    present = {m.wamid: m for m in messages if m.wamid}
    wanted = {m.reply_to_wamid for m in messages if m.reply_to_wamid} - set(present)
    if wanted:
        present.update(
            {m.wamid: m for m in db.session.scalars(select(Message).where(Message.wamid.in_(wanted)))}
        )
    return present


def find_message(conversation: Conversation, message_id: int | None) -> Message | None:
    """A message of this conversation by id (None for another conversation's or an unknown id)."""
    if not message_id:
        return None
    message = db.session.get(Message, message_id)
    return message if message is not None and message.conversation_id == conversation.id else None


def find_by_wamid(conversation: Conversation, wamid: str | None) -> Message | None:
    """A message of this conversation by Meta's id (what a reply quotes), or None."""
    if not wamid:
        return None
    return db.session.scalar(
        select(Message).where(Message.wamid == wamid, Message.conversation_id == conversation.id)
    )


def thread_fingerprint(conversation: Conversation, since: Message | None) -> tuple:
    """Changes with any new message, status, edit or deletion in view, and any automation event."""
    ranks = case(*((Message.status == s, r) for s, r in _RANKS.items()), else_=9)
    query = select(
        func.count(Message.id),
        func.max(Message.id),
        func.sum(ranks),
        func.max(Message.edited_at),
        func.max(Message.revoked_at),
    ).where(Message.conversation_id == conversation.id)
    if since is not None:
        query = query.where(_at_or_after(since))
    query = query.add_columns(_latest_log(conversation.contact_id).scalar_subquery())
    return tuple(db.session.execute(query).one())


def _latest_log(contact_id: int):
    """The newest activity-log id of the contact's runs (every step of a run writes one)."""
    return (
        select(func.max(AutomationLog.id))
        .join(AutomationRun, AutomationRun.id == AutomationLog.run_id)
        .where(AutomationRun.contact_id == contact_id)
    )


def panel_fingerprint(conversation: Conversation) -> tuple:
    """Changes with the conversation, its contact or any step of the contact's runs."""
    latest_log = db.session.scalar(_latest_log(conversation.contact_id))
    return (conversation.updated_at, conversation.contact.updated_at, latest_log)


def user_read_position(conversation: Conversation, user: User) -> int:
    row = db.session.get(ConversationRead, (conversation.id, user.id))
    return row.last_read_message_id if row else 0


# -- reading -----------------------------------------------------------------------------------


def mark_read(conversation: Conversation, user: User, upto_id: int) -> Message | None:
    """Move the user's read position to the customer's last message up to `upto_id` (flushed).

    When read receipts are on and nobody had read that message yet, a job marks it read on
    WhatsApp once this transaction commits. Returns the message read up to, or None.
    """
    message = db.session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.direction == "in", Message.id <= upto_id)
        .order_by(Message.id.desc())
        .limit(1)
    )
    if message is None:
        return None
    anyone = db.session.scalar(
        select(func.max(ConversationRead.last_read_message_id)).where(
            ConversationRead.conversation_id == conversation.id
        )
    )
    insert_or_ignore(
        ConversationRead,
        {
            "conversation_id": conversation.id,
            "user_id": user.id,
            "last_read_message_id": 0,
            "read_at": utcnow(),
        },
        ["conversation_id", "user_id"],
    )
    row = db.session.get(ConversationRead, (conversation.id, user.id), populate_existing=True)
    if message.id > row.last_read_message_id:
        row.last_read_message_id = message.id
        row.read_at = utcnow()
    if message.id >= (conversation.last_inbound_message_id or 0) and conversation.unread_count:
        conversation.unread_count = 0
    if read_receipts_enabled() and message.wamid and message.id > (anyone or 0):
        after_commit(_enqueue_receipt, message.id)
    db.session.flush()
    return message


def read_receipts_enabled() -> bool:
    return bool(settings.get(RECEIPTS_KEY, False))


def set_read_receipts(enabled: bool) -> None:
    settings.put(RECEIPTS_KEY, bool(enabled))


def _enqueue_receipt(message_id: int) -> None:
    from rq import Retry

    from flowapp.jobs import enqueue
    from flowapp.jobs.inbox import send_read_receipt

    enqueue(
        "default",
        send_read_receipt,
        message_id,
        job_id=f"read-receipt-{message_id}",
        retry=Retry(max=3, interval=[10, 30, 120]),
    )


def send_read_receipt(message_id: int) -> str:
    """Tell WhatsApp the customer's message was read (blue ticks on their phone).

    Transient errors raise (the job is retried); a permanent refusal is logged and given up.
    """
    from flowapp.services import graph
    from flowapp.whatsapp.errors import Disposition, GraphError

    message = db.session.get(Message, message_id)
    if message is None or message.direction != "in" or not message.wamid:
        return "nothing to mark"
    try:
        return "marked" if graph.client().mark_read(message.wamid) else "refused"
    except GraphError as exc:
        if exc.disposition in (Disposition.RETRY, Disposition.RECIPIENT_BACKOFF):
            raise
        log.warning("read receipt for message %s refused: %s", message_id, exc)
        return f"refused: {exc.reason}"


# -- labels ------------------------------------------------------------------


def add_label(conversation: Conversation, label: str) -> str:
    """Add a label (flushed) and remember it for the label filter. Returns the cleaned label."""
    label = " ".join((label or "").split())
    if not _LABEL.match(label):
        raise InboxError("label", "A label is 1 to 40 letters, digits, spaces or . : / + - _")
    labels = list(conversation.labels or [])
    if label not in labels:
        if len(labels) >= MAX_LABELS:
            raise InboxError("label", f"At most {MAX_LABELS} labels per conversation.")
        conversation.labels = [*labels, label]
    known = list(settings.get(LABELS_KEY, []) or [])  # not the cached copy: this one is written
    if label not in known:
        settings.put(LABELS_KEY, sorted([*known, label], key=str.lower)[:500])
    db.session.flush()
    return label


def remove_label(conversation: Conversation, label: str) -> None:
    conversation.labels = [item for item in conversation.labels or [] if item != label]
    db.session.flush()


def known_labels() -> list[str]:
    """Every label used so far (kept in a setting, so listing them never scans conversations; cached
    for a few seconds in each process)."""
    return list(settings.cached(LABELS_KEY, []) or [])


def active_users() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name, User.email)))


def user_names() -> dict[int, str]:
    """Every user's name by id (assignees in the list), in one small query."""
    rows = db.session.execute(select(User.id, User.name, User.email))
    return {user_id: name or email for user_id, name, email in rows}


# -- contacts ----------------------------------------------------------------------------------


def update_contact(contact: Contact, form: dict) -> None:
    """Apply the contact panel (flushed) through the contacts service. Raises InboxError.

    `form`: {"display_name", "birthday" ("" clears it), "timezone", "tags": "a, b", "fields":
    {name: value}, "opted_out": bool}. A field left empty is removed.
    """
    from flowapp.services import contacts

    tags = [" ".join(t.split()) for t in (form.get("tags") or "").split(",")]
    fields = {key.strip(): (str(value).strip() or None) for key, value in (form.get("fields") or {}).items()}
    removed = {key: None for key in contact.fields or {} if key not in fields}
    data = {
        "display_name": form.get("display_name") or "",
        "birthday": form.get("birthday") or None,
        "timezone": form.get("timezone") or None,
        "tags": [t for t in tags if t],
        "fields": {**removed, **{key: value for key, value in fields.items() if key}},
        "opted_out": bool(form.get("opted_out")),
    }
    try:
        contacts.update(contact, data)
    except contacts.ContactError as exc:
        raise InboxError(exc.field, exc.reason) from None
    # The list shows the contact's name and its fingerprint reads conversations: touch this one.
    conversation = db.session.scalar(select(Conversation).where(Conversation.contact_id == contact.id))
    if conversation is not None:
        conversation.updated_at = utcnow()
    db.session.flush()


# -- canned responses --------------------------------------------------------------------------


def canned_responses(prefix: str = "") -> list[CannedResponse]:
    """Saved replies by shortcut, those starting with `prefix` (without its slash) first."""
    query = select(CannedResponse).order_by(CannedResponse.shortcut)
    prefix = prefix.lstrip("/").strip().lower()
    if prefix:
        query = query.where(CannedResponse.shortcut.startswith(prefix, autoescape=True))
    return list(db.session.scalars(query.limit(50)))


def create_canned(shortcut: str, text: str) -> CannedResponse:
    """Save a reply under a shortcut (flushed)."""
    shortcut = (shortcut or "").strip().lstrip("/").lower()
    text = (text or "").strip()
    if not _SHORTCUT.match(shortcut):
        raise InboxError("shortcut", "A shortcut is 1 to 40 lowercase letters, digits, - or _.")
    if not text or len(text) > 4096:
        raise InboxError("text", "The reply needs 1 to 4,096 characters.")
    if db.session.scalar(select(CannedResponse).where(CannedResponse.shortcut == shortcut)):
        raise InboxError("shortcut", f"/{shortcut} exists already.")
    canned = CannedResponse(shortcut=shortcut, text=text)
    db.session.add(canned)
    db.session.flush()
    return canned


def delete_canned(canned_id: int) -> None:
    canned = db.session.get(CannedResponse, canned_id)
    if canned is not None:
        db.session.delete(canned)
        db.session.flush()
