"""The audit log's writer. Callers name the action and the target; the entry says who from the user
or token given. Entries never hold personal data: ids and counts only."""

from __future__ import annotations

from flowapp.extensions import db
from flowapp.models import ApiToken, AuditEntry, User


def record(
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    user: User | None = None,
    token: ApiToken | None = None,
    detail: dict | None = None,
) -> AuditEntry:
    """Add an entry (flushed with the caller's unit of work, so it commits or rolls back with it)."""
    actor = user.email if user is not None else "system"
    if token is not None:
        actor = f"API token {token.id} ({actor})"
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        actor=actor[:255],
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail or {},
    )
    db.session.add(entry)
    db.session.flush()
    return entry
