"""Inbox edits: labels, assignees' names, the contact panel and canned responses. Flushes, never commits."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import (
    CannedResponse,
    Contact,
    Conversation,
    User,
    utcnow,
)
from flowapp.services import settings
from flowapp.services.inbox import InboxError

log = logging.getLogger("flowapp.inbox")

LABELS_KEY = "inbox_labels"
MAX_LABELS = 20
_LABEL = re.compile(r"^[\w][\w .:/+-]{0,39}$")
_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


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


def update_contact(contact: Contact, form: dict, user_id: int | None = None) -> None:
    """Apply the contact panel (flushed) through the contacts service. Raises InboxError.

    `form`: {"display_name", "birthday" ("" clears it), "timezone", "language", "tags": "a, b", "fields":
    {name: value}, "opted_out": bool}. A field left empty is removed. `user_id`: the agent, kept
    in the contact's opt-out history.
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
    if "language" in form:  # the contact page has it; the inbox panel leaves it as it is
        data["language"] = form["language"] or None
    try:
        contacts.update(contact, data, source="agent", user_id=user_id)
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
