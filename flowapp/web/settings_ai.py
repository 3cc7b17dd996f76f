"""Settings > AI provider: base URL, model, key (write-only), defaults, prices, budgets; a test call."""

from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp.extensions import db
from flowapp.services import ai, ai_settings
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

log = logging.getLogger("flowapp.settings")


@bp.get("/ai")
@admin_required
def ai_page():
    """The form, filled with what Settings stores; the environment's values in force show as
    placeholders, so saving the form does not copy them (never the key: only whether one is set)."""
    return render_template("settings/ai.html", form=shown(ai_settings.stored()), errors={}, **_facts())


@bp.post("/ai")
@admin_required
def save_ai():
    """Store the values; a refused one is named beside its box (422) and nothing is stored."""
    try:
        ai_settings.save(request.form.to_dict())
    except ai_settings.SettingsError as exc:
        db.session.rollback()
        submitted = {k: v for k, v in request.form.items() if k not in ("api_key", "csrf_token")}
        html = render_template("settings/ai.html", form=submitted, errors=exc.errors, **_facts())
        return html, 422
    db.session.commit()
    log.info("user %s changed the AI provider settings", current_user.id)
    flash("AI provider saved. Every process uses it for the next call.")
    return redirect(url_for("settings.ai_page"))


@bp.post("/ai/test")
@admin_required
def test_ai_connection():
    """A small real call with the saved settings: model, latency and tokens, or the error (a fragment)."""
    try:
        result = ai.check_connection()
    except ai.CallFailed as exc:
        db.session.commit()  # the failed call's record
        return render_template("settings/_ai_test.html", error=str(exc), kind=exc.error.kind)
    db.session.commit()
    return render_template("settings/_ai_test.html", result=result)


def shown(values: dict) -> dict:
    """The stored values as the form's strings."""
    prices = "\n".join(f"{model} {p[0]:g} {p[1]:g}" for model, p in sorted(values["prices"].items()))
    form = {k: "" if v is None else str(v) for k, v in values.items() if k != "prices"}
    return {**form, "prices": prices}


def _facts() -> dict:
    return {
        "key_state": ai_settings.key_state(),
        "sandbox_url": ai_settings.sandbox_url(),
        "in_force": ai_settings.current(),
    }
