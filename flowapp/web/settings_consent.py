"""Settings > Opt-out: the keywords that opt a contact out or back in, and the confirmations."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from flowapp.extensions import db
from flowapp.services import consent
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

MAX_REPLY = 1024  # a confirmation is one short text message


@bp.post("/consent")
@admin_required
def save_consent():
    """Store both keyword lists and both confirmations; nothing is stored when one is wrong."""
    values = {
        "opt_out_keywords": consent.parse_keywords(request.form.get("opt_out_keywords", "")),
        "opt_in_keywords": consent.parse_keywords(request.form.get("opt_in_keywords", "")),
        "opt_out_reply": (request.form.get("opt_out_reply") or "").strip(),
        "opt_in_reply": (request.form.get("opt_in_reply") or "").strip(),
    }
    errors = problems(values)
    if errors:
        for error in errors:
            flash(error, "error")
        return redirect(url_for("settings.index", _anchor="consent"))
    consent.save(values)
    db.session.commit()
    flash("Opt-out settings saved. Workers pick them up within seconds.")
    return redirect(url_for("settings.index", _anchor="consent"))


def problems(values: dict) -> list[str]:
    """What is wrong with the submitted values, for people."""
    errors = []
    out_words, in_words = values["opt_out_keywords"], values["opt_in_keywords"]
    if not out_words:
        errors.append("Give at least one opt-out keyword: customers must always be able to stop messages.")
    for name, words in (("opt-out", out_words), ("opt-in", in_words)):
        if len(words) > consent.MAX_KEYWORDS or any(len(w) > 100 for w in words):
            errors.append(f"At most {consent.MAX_KEYWORDS} {name} keywords of up to 100 characters each.")
    both = {consent.normalize(w) for w in out_words} & {consent.normalize(w) for w in in_words}
    if both:
        errors.append(f"A keyword cannot both opt out and opt in: {', '.join(sorted(both))}.")
    for key in ("opt_out_reply", "opt_in_reply"):
        if len(values[key]) > MAX_REPLY:
            errors.append(f"A confirmation has at most {MAX_REPLY} characters.")
    return errors
