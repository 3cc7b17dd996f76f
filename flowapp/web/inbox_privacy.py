"""A contact's data from the inbox, for admins: download everything stored about them, or forget
them (delete, or anonymise and keep the messages). Both go to the audit log (services/privacy.py)."""

from __future__ import annotations

from flask import Response, abort, flash, json, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp import transactions
from flowapp.extensions import db
from flowapp.models import Contact
from flowapp.services import privacy
from flowapp.web.inbox_common import bp
from flowapp.web.security import admin_required


def _contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404, "No such contact.")
    return contact


@bp.get("/contacts/<int:contact_id>/export")
@admin_required
def export_contact(contact_id: int):
    """Everything stored about the contact, as a JSON download."""
    with transactions.unit_of_work():  # the audit entry is a write, in a reader
        document = privacy.export_contact(_contact(contact_id), user=current_user)
    response = Response(json.dumps(document, indent=1), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact_id}.json"'
    return response


@bp.get("/contacts/<int:contact_id>/forget")
@admin_required
def confirm_forget(contact_id: int):
    """The choice: remove their messages too, or keep them anonymised."""
    return render_template("inbox/forget.html", contact=_contact(contact_id))


@bp.post("/contacts/<int:contact_id>/forget")
@admin_required
def forget(contact_id: int):
    contact = _contact(contact_id)
    mode = request.form.get("messages", "")
    try:
        counts = privacy.forget_contact(contact, mode, user=current_user)
    except privacy.PrivacyError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("inbox.confirm_forget", contact_id=contact_id))
    db.session.commit()
    kept = "kept without anything personal" if mode == "anonymise" else "deleted"
    flash(f"The contact is forgotten: {counts['messages']} message(s) {kept}. The audit log records it.")
    return redirect(url_for("inbox.index"))
