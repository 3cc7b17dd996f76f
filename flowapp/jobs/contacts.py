"""Contact jobs: importing large CSV files with visible progress, and opt-outs Meta reports."""

from __future__ import annotations

from flowapp.extensions import db
from flowapp.services import consent, contacts


def import_contacts(import_id: str) -> dict:
    """Import the CSV file stored for `import_id`, recording progress (committed per batch)."""
    progress = contacts.run_import(import_id)
    return {key: progress.get(key) for key in ("status", "total", "created", "updated", "refused_count")}


def stopped_marketing(wa_ids: list[str]) -> int:
    """Opt out the customers Meta refused a message to with error 131050 (they stopped marketing
    messages in WhatsApp). Run apart from the status batch that saw it, which holds message locks."""
    changed = consent.stopped_marketing(wa_ids)
    db.session.commit()
    return changed
