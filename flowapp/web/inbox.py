"""The conversation inbox."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Conversation

bp = Blueprint("inbox", __name__, url_prefix="/inbox")


@bp.get("/")
def index():
    """Conversations, newest first."""
    query = select(Conversation).order_by(Conversation.last_message_at.desc().nulls_last()).limit(50)
    return render_template("inbox/index.html", conversations=db.session.scalars(query).all())
