"""Contact jobs: importing large CSV files with visible progress."""

from __future__ import annotations

from flowapp.services import contacts


def import_contacts(import_id: str) -> dict:
    """Import the CSV file stored for `import_id`, recording progress (committed per batch)."""
    progress = contacts.run_import(import_id)
    return {key: progress.get(key) for key in ("status", "total", "created", "updated", "refused_count")}
