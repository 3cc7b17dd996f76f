"""Settings > Users: admins add people, change their role, deactivate and reactivate them."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import ROLES, User
from flowapp.services import users
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

log = logging.getLogger("flowapp.settings")


@bp.get("/users")
@admin_required
def users_page():
    """Everyone who can log in, with their role and state."""
    people = db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    return render_template("settings/users.html", people=people, roles=ROLES)


@bp.post("/users")
@admin_required
def create_user():
    """Add a user with a first password (they can be told it and change nothing else here)."""
    form = request.form
    try:
        user = users.create_user(
            form.get("email", ""),
            form.get("password", ""),
            role=form.get("role", "agent"),
            name=form.get("name", ""),
        )
    except users.UserError as exc:
        db.session.rollback()
        flash(str(exc).capitalize() + ".", "error")
        return redirect(url_for("settings.users_page"))
    db.session.commit()
    log.info("user %s created user %s (%s)", current_user.id, user.id, user.role)
    flash(f"{user.email} can now log in as {user.role}.")
    return redirect(url_for("settings.users_page"))


@bp.post("/users/<int:user_id>")
@admin_required
def update_user(user_id: int):
    """Change someone's role, or deactivate/reactivate them. The last active admin stays an admin."""
    user = db.get_or_404(User, user_id)
    role = request.form.get("role")
    active = request.form.get("active")
    if role is not None and role not in ROLES:
        flash("Unknown role.", "error")
        return redirect(url_for("settings.users_page"))
    demoting = user.is_admin and user.active and (role == "agent" or active == "false")
    if demoting and _active_admins() <= 1:
        flash("Flowapp needs at least one active admin: promote someone else first.", "error")
        return redirect(url_for("settings.users_page"))
    if role is not None:
        user.role = role
    if active in ("true", "false"):
        user.active = active == "true"
    db.session.commit()
    log.info("user %s changed user %s: role=%s active=%s", current_user.id, user.id, user.role, user.active)
    flash(f"{user.email}: {user.role}, {'active' if user.active else 'deactivated'}.")
    return redirect(url_for("settings.users_page"))


def _active_admins() -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
        )
        or 0
    )
