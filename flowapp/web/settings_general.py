"""Settings > Sending: send rate, time zone and log retention, stored in the settings table."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import flash, redirect, request, url_for

from flowapp.extensions import db
from flowapp.services import settings
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

LIMITS = {"send_rate": (1, 1000), "log_retention_days": (1, 3650)}


@bp.post("/general")
@admin_required
def save_general():
    """Validate and store the three values; nothing is stored when one is wrong."""
    values, errors = {}, []
    for key, (low, high) in LIMITS.items():
        raw = (request.form.get(key) or "").strip()
        if not raw.isdigit() or not low <= int(raw) <= high:
            errors.append(f"{_label(key)} must be a whole number from {low} to {high}.")
        else:
            values[key] = int(raw)
    zone = (request.form.get("timezone") or "").strip()
    try:
        if not zone or len(zone) > 64:
            raise ValueError(zone)
        ZoneInfo(zone)
        values["timezone"] = zone
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(
            f"{zone[:64]!r} is not an IANA time zone name (like Europe/Lisbon or America/Sao_Paulo)."
        )
    if errors:
        for error in errors:
            flash(error, "error")
        return redirect(url_for("settings.index", _anchor="sending"))
    for key, value in values.items():
        if settings.get(key) != value:
            settings.put(key, value)
    db.session.commit()
    flash("Sending settings saved. Workers pick them up within seconds.")
    return redirect(url_for("settings.index", _anchor="sending"))


def _label(key: str) -> str:
    return {"send_rate": "The send rate", "log_retention_days": "The retention"}[key]
