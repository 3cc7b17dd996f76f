"""Settings: the WhatsApp connection, sending, users, API tokens, templates and the job system.

Everyone who logs in sees the overview; the sections that change configuration (credentials,
sending, users, tokens) are for admins, and their routes check the role on the server.
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from redis.exceptions import RedisError

from flowapp import work
from flowapp.extensions import db
from flowapp.services import consent, credentials, graph, settings, templates, workers
from flowapp.whatsapp.errors import GraphError

bp = Blueprint("settings", __name__, url_prefix="/settings")


def init_app(app: Flask) -> None:
    """Every request first brings this process's copy of the stored credentials up to date (a
    check every few seconds at most), so a webhook is verified with the app secret set in Settings."""
    app.before_request(_refresh_credentials)


def _refresh_credentials() -> None:
    credentials.apply()


def webhook_url() -> str:
    """The callback URL to paste into Meta's dashboard."""
    return url_for("webhooks.verify", _external=True)


@bp.get("/")
def index():
    """The overview; admins also get the forms that change configuration."""
    context = {
        "webhook_url": webhook_url(),
        "jobs": workers.overview(),
        "templates": templates.all_templates(),
        "general": general_values(),
        "consent": consent.current(),
    }
    if current_user.is_admin:
        context["credentials"] = credentials.describe()
    return render_template("settings/index.html", **context)


def general_values() -> dict:
    """Send rate, time zone and retention as they apply now (Settings' value, else the config's)."""
    return {
        "send_rate": settings.get("send_rate"),
        "timezone": settings.get("timezone"),
        "log_retention_days": settings.get("log_retention_days"),
    }


@bp.post("/templates/refresh")
def refresh_templates():
    """Fetch the business account's message templates from Meta now."""
    try:
        counts = templates.sync(graph.client())
    except GraphError as exc:
        db.session.rollback()
        flash(f"Meta refused the request: {exc.reason}", "error")
        return redirect(url_for("settings.index", _anchor="templates"))
    db.session.commit()
    flash(
        f"Templates refreshed: {counts['created']} new, {counts['updated']} updated, "
        f"{counts['gone']} removed."
    )
    return redirect(url_for("settings.index", _anchor="templates"))


@bp.post("/workers/ping")
def ping_workers():
    """Enqueue a ping from this web process; the fragment polls until a worker answers."""
    try:
        nonce, job = workers.ping()
        work.submit([job])
    except (RedisError, OSError):
        return render_template("settings/_ping.html", error="Redis does not answer; nothing was queued.")
    return render_template("settings/_ping.html", nonce=nonce, answer=None)


@bp.get("/workers/ping/<nonce>")
def ping_result(nonce: str):
    """The ping's answer, or the same polling fragment while there is none."""
    if not re.fullmatch(r"[0-9a-f]{16}", nonce):
        abort(404)
    return render_template("settings/_ping.html", nonce=nonce, answer=workers.ping_answer(nonce))


# The admin sections register their routes on `bp`; imported last because they import it.
from flowapp.web import (  # noqa: E402, F401
    settings_ai,
    settings_consent,
    settings_events,
    settings_fields,
    settings_general,
    settings_tokens,
    settings_users,
    settings_whatsapp,
)
