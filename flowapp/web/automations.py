"""Automations: the list of automations (the editor arrives with its own issue)."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Automation

bp = Blueprint("automations", __name__, url_prefix="/automations")


@bp.get("/")
def index():
    """Every automation, most recently changed first."""
    items = db.session.scalars(select(Automation).order_by(Automation.updated_at.desc())).all()
    return render_template("automations/index.html", automations=items)
