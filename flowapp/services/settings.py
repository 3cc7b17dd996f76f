"""Settings changed at run time (Settings page), falling back to the app's configuration."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from flowapp.extensions import db
from flowapp.models import Setting, utcnow

# Setting key -> configuration key that provides its default.
DEFAULTS_FROM_CONFIG = {
    "send_rate": "SEND_RATE",
    "timezone": "TIMEZONE",
    "log_retention_days": "LOG_RETENTION_DAYS",
}


def get(key: str, default: Any = None) -> Any:
    """A setting's value: the stored one, else the configuration's, else `default`."""
    row = db.session.get(Setting, key)  # the identity map makes repeated reads in a transaction free
    if row is not None:
        return row.value
    config_key = DEFAULTS_FROM_CONFIG.get(key)
    if config_key:
        return current_app.config.get(config_key, default)
    return default


def cached(key: str, default: Any = None, ttl: float = 10.0) -> Any:
    """get(), remembered in this process for `ttl` seconds: for values read on every event (the time
    zone) that people change rarely. Another process sees a change within `ttl`."""
    store = current_app.extensions.setdefault("flowapp_settings_cache", {})
    hit = store.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    value = get(key, default)
    store[key] = (now + ttl, value)
    return value


def put(key: str, value: Any) -> None:
    """Store a setting (flushed, not committed)."""
    current_app.extensions.get("flowapp_settings_cache", {}).pop(key, None)
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value))
    else:
        row.value = value
        row.updated_at = utcnow()
    db.session.flush()


def delete(key: str) -> None:
    row = db.session.get(Setting, key)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
