"""Settings > WhatsApp: credentials (secrets write-only) and a test of the connection."""

from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp.extensions import db
from flowapp.services import credentials, graph
from flowapp.web.security import admin_required
from flowapp.web.settings import bp
from flowapp.whatsapp.errors import GraphError

log = logging.getLogger("flowapp.settings")


@bp.post("/whatsapp")
@admin_required
def save_credentials():
    """Store the credentials typed in. An empty secret box keeps the stored value (it is never shown);
    a ticked "clear" box goes back to the environment's value."""
    changed, errors = [], []
    for name in credentials.FIELDS:
        if request.form.get(f"clear_{name}"):
            credentials.clear(name)
            changed.append(name)
            continue
        value = (request.form.get(name) or "").strip()
        if not value or value == _shown(name):
            continue
        try:
            credentials.store(name, value)
            changed.append(name)
        except credentials.CredentialError as exc:
            errors.append(str(exc))
    if errors:
        db.session.rollback()
        for error in errors:
            flash(error, "error")
        return redirect(url_for("settings.index", _anchor="whatsapp"))
    db.session.commit()
    credentials.apply(force=True)
    if changed:
        log.info("user %s changed WhatsApp credentials: %s", current_user.id, ", ".join(changed))
        flash(f"Saved: {', '.join(changed)}. Every process uses them within seconds.")
    else:
        flash("Nothing changed.")
    return redirect(url_for("settings.index", _anchor="whatsapp"))


def _shown(name: str) -> str | None:
    """The value the form was pre-filled with (non-secrets only), so an untouched box changes nothing."""
    return None if credentials.FIELDS[name] else current_app.config.get(name)


@bp.post("/whatsapp/test")
@admin_required
def test_connection():
    """Ask Meta for the phone number's profile with the current credentials (an HTMX fragment)."""
    try:
        profile = graph.profile()
    except GraphError as exc:
        return render_template("settings/_connection_test.html", error=exc.reason, code=exc.code)
    return render_template("settings/_connection_test.html", profile=profile)
