"""Settings: how this installation is connected to Meta, and whether its workers run."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from redis.exceptions import RedisError

from flowapp.extensions import db
from flowapp.services import graph, templates, workers
from flowapp.whatsapp.errors import GraphError

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.get("/")
def index():
    """The connection to WhatsApp as configured (secrets are never shown) and the job system."""
    config = current_app.config
    connection = {
        "Mode": "Sandbox (built-in Graph API mock)" if config["SANDBOX"] else "Live (Meta Cloud API)",
        "Phone number id": config.get("PHONE_NUMBER_ID") or "not set",
        "Business account id": config.get("BUSINESS_ID") or "not set",
        "Graph API": f"{config['GRAPH_API_URL']} {config['GRAPH_API_VERSION']}",
        "Access token": "set" if config.get("WHATSAPP_TOKEN") else "not set",
        "App secret": "set" if config.get("APP_SECRET") else "not set",
        "Time zone": config["TIMEZONE"],
    }
    webhook_url = url_for("main.index", _external=True) + "webhooks/whatsapp"
    return render_template(
        "settings/index.html",
        connection=connection,
        webhook_url=webhook_url,
        jobs=workers.overview(),
        templates=templates.all_templates(),
    )


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
        nonce = workers.send_ping()
    except (RedisError, OSError):
        return render_template("settings/_ping.html", error="Redis does not answer; nothing was queued.")
    return render_template("settings/_ping.html", nonce=nonce, answer=None)


@bp.get("/workers/ping/<nonce>")
def ping_result(nonce: str):
    """The ping's answer, or the same polling fragment while there is none."""
    if not re.fullmatch(r"[0-9a-f]{16}", nonce):
        abort(404)
    return render_template("settings/_ping.html", nonce=nonce, answer=workers.ping_answer(nonce))
