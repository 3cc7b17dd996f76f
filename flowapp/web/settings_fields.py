"""Settings > Contact fields: admins declare custom fields (key, label, type, choices), change their
label, type or choices, and delete them. The rules are in services/contact_fields.py."""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp.extensions import db
from flowapp.models import FIELD_TYPES, ContactField
from flowapp.services import contact_fields
from flowapp.services.contacts import ContactError
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

log = logging.getLogger("flowapp.settings")


@bp.get("/fields")
@admin_required
def fields_page():
    """Every declared field with how many contacts have a value, and the form to add one."""
    return _page()


@bp.post("/fields")
@admin_required
def create_field():
    """Declare a field; a wrong value is shown next to its input (422) and nothing is saved."""
    form = _form()
    try:
        field = contact_fields.create(form)
    except ContactError as exc:
        db.session.rollback()
        return _page(new=form, error=exc), 422
    db.session.commit()
    log.info("user %s declared contact field %s (%s)", current_user.id, field.key, field.type)
    flash(f"Field {field.label} ({field.key}, {field.type}) added.")
    return redirect(url_for("settings.fields_page"))


@bp.get("/fields/<int:field_id>")
@admin_required
def edit_field(field_id: int):
    """The form to change a field's label, type or choices, and to delete it."""
    field = _field(field_id)
    return render_template("settings/field_edit.html", field=field, form=_values(field), types=FIELD_TYPES)


@bp.post("/fields/<int:field_id>")
@admin_required
def update_field(field_id: int):
    """Change a field; refused (422, nothing saved) while stored values would not fit the new type."""
    field = _field(field_id)
    form = _form()
    try:
        contact_fields.update_field(field, form)
    except ContactError as exc:
        db.session.rollback()
        field = _field(field_id)
        return render_template(
            "settings/field_edit.html", field=field, form=form, types=FIELD_TYPES, error=exc
        ), 422
    db.session.commit()
    log.info("user %s changed contact field %s to %s", current_user.id, field.key, field.type)
    flash(f"Field {field.label} ({field.key}) saved.")
    return redirect(url_for("settings.fields_page"))


@bp.post("/fields/<int:field_id>/delete")
@admin_required
def delete_field(field_id: int):
    """Forget a declaration once the admin confirmed; contacts keep their values, untyped."""
    field = _field(field_id)
    if request.form.get("confirm") != "1":
        error = ContactError("confirm", "tick the box to confirm: the field will no longer be checked")
        return render_template(
            "settings/field_edit.html", field=field, form=_values(field), types=FIELD_TYPES, error=error
        ), 422
    key = field.key
    contact_fields.delete(field)
    db.session.commit()
    log.info("user %s deleted contact field %s", current_user.id, key)
    flash(f"Field {key} is no longer declared; contacts keep their values as untyped fields.")
    return redirect(url_for("settings.fields_page"))


def _page(new: dict | None = None, error: ContactError | None = None):
    return render_template(
        "settings/fields.html",
        fields=contact_fields.listing(),
        counts=contact_fields.value_counts(),
        types=FIELD_TYPES,
        new={"key": "", "label": "", "type": "text", "choices": "", **(new or {})},
        error=error,
    )


def _form() -> dict:
    """The posted values; "key" only when posted (the edit form has none: a key never changes)."""
    form = request.form
    values = {name: form.get(name, "") for name in ("label", "type", "choices")}
    if "key" in form:
        values["key"] = form["key"]
    return values


def _values(field: ContactField) -> dict:
    return {
        "key": field.key,
        "label": field.label,
        "type": field.type,
        "choices": "\n".join(field.choices or []),
    }


def _field(field_id: int) -> ContactField:
    field = contact_fields.get(field_id)
    if field is None:
        abort(404)
    return field
