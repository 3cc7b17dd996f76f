"""A contact's data: everything stored about them, exported as one JSON document; and forgetting
them, with their messages removed or kept anonymised, as the operator chooses. Both are recorded
in the audit log (ids and counts only).

Forgetting reaches every place a contact's data is stored: the contact row, conversations and
messages (text, payloads with media ids, captions, locations), the words of their opt-out and opt-in
history (the history itself stays, as proof of consent), automation runs (variables, state, trigger
data) and their logs, delivery statuses, outbox rows, and the webhook bodies Meta sent
(processed ones; they are otherwise kept for the retention period). Unprocessed webhook bodies are
left for the pipeline: processing one would only recreate what it says.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update

from flowapp.extensions import db
from flowapp.models import (
    ApiToken,
    AutomationLog,
    AutomationRun,
    ConsentChange,
    Contact,
    ContactGroup,
    Conversation,
    GroupMember,
    Message,
    OutboxEntry,
    StatusEvent,
    User,
    WebhookEvent,
    utcnow,
)
from flowapp.services import audit

MODES = ("delete", "anonymise")


class PrivacyError(ValueError):
    pass


def export_contact(contact: Contact, *, user: User | None = None, token: ApiToken | None = None) -> dict:
    """Everything stored about the contact, as JSON-ready data (recorded in the audit log)."""
    conversations = db.session.scalars(
        select(Conversation).where(Conversation.contact_id == contact.id).order_by(Conversation.id)
    ).all()
    ids = [c.id for c in conversations]
    messages = (
        db.session.scalars(select(Message).where(Message.conversation_id.in_(ids)).order_by(Message.id)).all()
        if ids
        else []
    )
    runs = db.session.scalars(
        select(AutomationRun).where(AutomationRun.contact_id == contact.id).order_by(AutomationRun.id)
    ).all()
    logs = _logs_by_run([r.id for r in runs])
    document = {
        "exported_at": utcnow().isoformat(),
        "contact": {
            "id": contact.id,
            "wa_id": contact.wa_id,
            "bsuid": contact.bsuid,
            "profile_name": contact.profile_name,
            "display_name": contact.display_name,
            "birthday": contact.birthday.isoformat() if contact.birthday else None,
            "timezone": contact.timezone,
            "language": contact.language,
            "fields": contact.fields or {},
            "tags": contact.tags or [],
            "opted_out": contact.opted_out,
            "first_inbound_at": _time(contact.first_inbound_at),
            "last_inbound_at": _time(contact.last_inbound_at),
            "created_at": _time(contact.created_at),
        },
        "groups": _groups(contact),
        "conversations": [
            {"id": c.id, "status": c.status, "labels": c.labels or [], "created_at": _time(c.created_at)}
            for c in conversations
        ],
        "messages": [_message(m) for m in messages],
        "consent": [
            {
                "opted_out": change.opted_out,
                "source": change.source,
                "text": change.text,
                "at": _time(change.created_at),
            }
            for change in db.session.scalars(
                select(ConsentChange).where(ConsentChange.contact_id == contact.id).order_by(ConsentChange.id)
            )
        ],
        "automation_runs": [
            {
                "id": r.id,
                "automation_id": r.automation_id,
                "status": r.status,
                "variables": r.variables or {},
                "trigger": r.trigger or {},
                "started_at": _time(r.started_at),
                "ended_at": _time(r.ended_at),
                "log": logs.get(r.id, []),
            }
            for r in runs
        ],
    }
    audit.record(
        "contact.export",
        "contact",
        contact.id,
        user=user,
        token=token,
        detail={"messages": len(messages), "runs": len(runs)},
    )
    return document


def forget_contact(
    contact: Contact, mode: str, *, user: User | None = None, token: ApiToken | None = None
) -> dict:
    """Forget the contact (flushed): "delete" removes them and their messages; "anonymise" keeps the
    messages (for counts and analytics) with nothing left that says who they were or what was said.
    Returns the counts the audit entry keeps."""
    if mode not in MODES:
        raise PrivacyError(f"messages must be one of {', '.join(MODES)}")
    conversation_ids = list(
        db.session.scalars(select(Conversation.id).where(Conversation.contact_id == contact.id))
    )
    wamids = [
        w
        for w in db.session.scalars(
            select(Message.wamid).where(Message.conversation_id.in_(conversation_ids))
        )
        if w
    ]
    counts = {
        "mode": mode,
        "messages": db.session.scalar(
            select(func.count()).select_from(Message).where(Message.conversation_id.in_(conversation_ids))
        )
        or 0,
        "webhook_bodies": _forget_webhook_bodies(contact.wa_id),
    }
    run_ids = list(db.session.scalars(select(AutomationRun.id).where(AutomationRun.contact_id == contact.id)))
    if wamids:
        db.session.execute(delete(StatusEvent).where(StatusEvent.wamid.in_(wamids)))
    db.session.execute(delete(OutboxEntry).where(OutboxEntry.conversation_id.in_(conversation_ids)))
    if mode == "delete":
        contact_id = contact.id
        db.session.delete(contact)  # conversations, messages, runs and logs go with it (cascades)
        db.session.flush()
    else:
        contact_id = contact.id
        _anonymise(contact, conversation_ids, run_ids)
    audit.record("contact.forget", "contact", contact_id, user=user, token=token, detail=counts)
    return counts


def _groups(contact: Contact) -> list[dict]:
    """The static groups the contact was added to (segments are queries: they store nothing)."""
    query = (
        select(ContactGroup.name, GroupMember.added_at)
        .join(GroupMember, GroupMember.group_id == ContactGroup.id)
        .where(GroupMember.contact_id == contact.id)
        .order_by(ContactGroup.name)
    )
    return [{"name": name, "added_at": _time(added_at)} for name, added_at in db.session.execute(query)]


def _anonymise(contact: Contact, conversation_ids: list[int], run_ids: list[int]) -> None:
    contact.wa_id = f"forgotten-{contact.id}"[:20]
    contact.bsuid = None
    contact.profile_name = None
    contact.display_name = "Forgotten contact"
    contact.birthday = None
    contact.timezone = None
    contact.language = None
    contact.fields = {}
    contact.tags = []
    contact.opted_out = True  # never message a number nobody can name any more
    db.session.execute(delete(GroupMember).where(GroupMember.contact_id == contact.id))
    db.session.flush()
    db.session.execute(
        update(ConsentChange)
        .where(ConsentChange.contact_id == contact.id)
        .values(text=None)
        .execution_options(synchronize_session=False)
    )
    if conversation_ids:
        db.session.execute(
            update(Message)
            .where(Message.conversation_id.in_(conversation_ids))
            .values(text=None, payload={}, error_details=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Conversation)
            .where(Conversation.id.in_(conversation_ids))
            .values(labels=[], handoff_reason=None, last_message_preview=None)
            .execution_options(synchronize_session=False)
        )
    if run_ids:
        db.session.execute(
            update(AutomationRun)
            .where(AutomationRun.id.in_(run_ids))
            .values(variables={}, state={}, trigger={}, error=None)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(AutomationLog)
            .where(AutomationLog.run_id.in_(run_ids))
            .values(detail={})
            .execution_options(synchronize_session=False)
        )
    db.session.expire_all()


def _forget_webhook_bodies(wa_id: str) -> int:
    """Delete processed webhook bodies that name the number: its own lane's, and bulk bodies (status
    batches) that mention it. Returns how many went."""
    needle = wa_id.encode()
    processed = WebhookEvent.processed_at.is_not(None)
    own = delete(WebhookEvent).where(WebhookEvent.contact_key == wa_id, processed)
    gone = db.session.execute(own).rowcount or 0
    # Finding bytes in bytes: instr on SQLite (its LIKE does not match blobs), bytea LIKE on PostgreSQL.
    if db.session.get_bind().dialect.name == "sqlite":
        found = func.instr(WebhookEvent.body, needle) > 0
    else:
        found = WebhookEvent.body.op("LIKE")(b"%" + needle + b"%")
    mentions = select(WebhookEvent.id).where(processed, found)
    ids = list(db.session.scalars(mentions))
    if ids:
        gone += db.session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids))).rowcount or 0
    return gone


def _logs_by_run(run_ids: list[int]) -> dict[int, list[dict]]:
    if not run_ids:
        return {}
    found: dict[int, list[dict]] = {}
    for log in db.session.scalars(
        select(AutomationLog).where(AutomationLog.run_id.in_(run_ids)).order_by(AutomationLog.id)
    ):
        found.setdefault(log.run_id, []).append(
            {"node": log.node_id, "event": log.event, "detail": log.detail or {}, "at": _time(log.created_at)}
        )
    return found


def _message(message: Message) -> dict:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "type": message.type,
        "text": message.text,
        "payload": message.payload or {},
        "status": message.status,
        "wamid": message.wamid,
        "created_at": _time(message.created_at),
    }


def _time(value) -> str | None:
    return value.isoformat() if value else None
