"""The app shell's top-level pages."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """Home: the automations list is where people start."""
    return redirect(url_for("automations.index"))
