"""The app shell's top-level pages."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, send_from_directory, url_for

from flowapp.web.security import public

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Home: the automations list is where people start."""
    return redirect(url_for("automations.index"))


@bp.get("/favicon.ico")
@public
def favicon():
    """The icon a browser asks for when a page names none (a JSON answer opened in a tab)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=86400)
