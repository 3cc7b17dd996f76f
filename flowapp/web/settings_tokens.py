"""Settings > API tokens: create (the value is shown once), list, revoke."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp.extensions import db
from flowapp.models import User
from flowapp.services import api_tokens
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

log = logging.getLogger("flowapp.settings")


@bp.get("/tokens")
@admin_required
def tokens_page():
    """Every token: name, owner, prefix, created, last used, revoked."""
    people = db.session.scalars(db.select(User).where(User.active.is_(True)).order_by(User.email)).all()
    return render_template("settings/tokens.html", tokens=api_tokens.listing(), people=people, created=None)


@bp.post("/tokens")
@admin_required
def create_token():
    """Make a token for yourself or another active user; its value is on this one page only."""
    owner = current_user._get_current_object()
    if request.form.get("user_id"):
        owner = (
            db.session.get(User, int(request.form["user_id"])) if request.form["user_id"].isdigit() else None
        )
        if owner is None:
            abort(404)
    try:
        token, value = api_tokens.create(owner, request.form.get("name", ""))
    except api_tokens.TokenError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("settings.tokens_page"))
    db.session.commit()
    log.info(
        "user %s created API token %s (%s) for user %s", current_user.id, token.id, token.prefix, owner.id
    )
    people = db.session.scalars(db.select(User).where(User.active.is_(True)).order_by(User.email)).all()
    response = render_template(
        "settings/tokens.html",
        tokens=api_tokens.listing(),
        people=people,
        created={"token": token, "value": value},
    )
    # The value is on this page only: never cache it, never let the browser store it.
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int):
    """Stop a token from working at once."""
    token = api_tokens.get(token_id)
    if token is None:
        abort(404)
    api_tokens.revoke(token)
    db.session.commit()
    log.info("user %s revoked API token %s (%s)", current_user.id, token.id, token.prefix)
    flash(f"Token {token.name} ({token.prefix}…) no longer works.")
    return redirect(url_for("settings.tokens_page"))
