"""Logging in and out."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from flowapp.extensions import db
from flowapp.services import login_throttle, users
from flowapp.web.security import public

bp = Blueprint("auth", __name__)
log = logging.getLogger("flowapp.auth")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me logged in")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """The login page; on success, back to where the person was going."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        wait = login_throttle.wait_seconds(form.email.data, request.remote_addr)
        if wait:
            # Refused before the password is looked at: guessing gets no faster by trying harder.
            flash(f"Too many failed attempts. Try again in {wait} seconds.", "error")
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()  # records last_login_at
            login_throttle.succeeded(form.email.data)
            login_user(user, remember=form.remember.data)
            log.info("user %s logged in", user.id)
            return redirect(safe_next(request.args.get("next")))
        log.warning("failed login for %s from %s", form.email.data, request.remote_addr)
        login_throttle.failed(form.email.data, request.remote_addr)
        flash("That email and password do not match an active account.", "error")
        status = 401
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Log out (a POST with a CSRF token, so no other site can log a person out)."""
    logout_user()
    return redirect(url_for("auth.login"))


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this site, else the home page: an open redirect would let a
    phishing link borrow our pages."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("main.index")
