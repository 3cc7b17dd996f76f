"""Analytics: how many messages went in and out, and how they fared."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import Message

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


@bp.get("/")
def index():
    """Totals by direction and status."""
    rows = db.session.execute(
        select(Message.direction, Message.status, func.count()).group_by(Message.direction, Message.status)
    ).all()
    totals = {"in": 0, "out": 0}
    by_status: dict[str, int] = {}
    for direction, status, count in rows:
        totals[direction] = totals.get(direction, 0) + count
        if direction == "out":
            by_status[status] = count
    return render_template("analytics/index.html", totals=totals, by_status=by_status)
