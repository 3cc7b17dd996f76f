"""Rows as the API shows them (the shapes the OpenAPI document's components describe)."""

from __future__ import annotations

from flowapp.models import Automation, AutomationRun, Broadcast, Contact, ContactField, Conversation, Message
from flowapp.web.api.common import iso


def contact(row: Contact) -> dict:
    return {
        "id": row.id,
        "wa_id": row.wa_id,
        "name": row.name,
        "display_name": row.display_name,
        "profile_name": row.profile_name,
        "birthday": row.birthday.isoformat() if row.birthday else None,
        "timezone": row.timezone,
        "language": row.language,
        "fields": dict(row.fields or {}),
        "tags": list(row.tags or []),
        "opted_out": bool(row.opted_out),
        "last_inbound_at": iso(row.last_inbound_at),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def contact_field(row: ContactField) -> dict:
    return {
        "key": row.key,
        "label": row.label,
        "type": row.type,
        "choices": list(row.choices or []),
        "created_at": iso(row.created_at),
    }


def conversation(row: Conversation) -> dict:
    return {
        "id": row.id,
        "contact": {"id": row.contact.id, "wa_id": row.contact.wa_id, "name": row.contact.name},
        "status": row.status,
        "assignee_id": row.assignee_id,
        "unread_count": row.unread_count or 0,
        "needs_human": bool(row.needs_human),
        "bot_paused": bool(row.bot_paused),
        "labels": list(row.labels or []),
        "last_message_at": iso(row.last_message_at),
        "last_message_preview": row.last_message_preview,
        "created_at": iso(row.created_at),
    }


def message(row: Message) -> dict:
    error = None
    if row.error_code is not None or row.error_title:
        error = {"code": row.error_code, "title": row.error_title, "details": row.error_details}
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "direction": row.direction,
        "type": row.type,
        "text": row.text,
        "status": row.status,
        "wamid": row.wamid,
        "author_type": row.author_type,
        "author_user_id": row.author_user_id,
        "run_id": row.author_run_id,
        "reply_to_wamid": row.reply_to_wamid,
        "error": error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "delivered_at": iso(row.delivered_at),
        "read_at": iso(row.read_at),
        "failed_at": iso(row.failed_at),
    }


def automation(row: Automation, *, graph: bool = True, issues: list[dict] | None = None) -> dict:
    version = row.published_version
    body = {
        "id": row.id,
        "name": row.name,
        "description": row.description or "",
        "status": row.status,
        "trigger": dict(row.trigger or {}),
        "priority": row.priority or 0,
        "draft_revision": row.draft_revision or 0,
        "published_version": version.number if version is not None else None,
        "published_at": iso(version.created_at) if version is not None else None,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
    if graph:
        body["graph"] = row.draft
    if issues is not None:
        body["issues"] = issues
    return body


def run(row: AutomationRun) -> dict:
    return {
        "id": row.id,
        "automation_id": row.automation_id,
        "contact_id": row.contact_id,
        "broadcast_id": row.broadcast_id,
        "status": row.status,
        "current_node": row.current_node,
        "error": row.error,
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
    }


def broadcast(row: Broadcast) -> dict:
    return {
        "id": row.id,
        "automation_id": row.automation_id,
        "status": row.status,
        "total": row.total or 0,
        "started": row.started or 0,
        "skipped": row.skipped or 0,
        "created_at": iso(row.created_at),
        "finished_at": iso(row.finished_at),
    }
