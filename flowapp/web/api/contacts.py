"""Contacts: create, read, update, delete, and import from CSV with progress."""

from __future__ import annotations

from flask import g, jsonify, request, url_for
from redis.exceptions import RedisError
from sqlalchemy import exists, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from flowapp import transactions, work
from flowapp.extensions import db
from flowapp.models import Contact
from flowapp.services import contacts, privacy
from flowapp.web.api import bp
from flowapp.web.api import serialize as show
from flowapp.web.api.common import ApiError, choice_arg, json_body, paginate

MAX_UPLOAD = 3 * 1024 * 1024


@bp.get("/contacts")
def list_contacts():
    """Contacts, newest first; filters: q (number or name), tag, opted_out."""
    query = select(Contact)
    text = (request.args.get("q") or "").strip()[:100]
    if text:
        query = query.where(
            or_(
                Contact.wa_id.contains(text, autoescape=True),
                Contact.display_name.icontains(text, autoescape=True),
                Contact.profile_name.icontains(text, autoescape=True),
            )
        )
    tag = (request.args.get("tag") or "").strip()
    if tag:
        query = query.where(_has_tag(tag))
    opted_out = choice_arg("opted_out", ("true", "false"))
    if opted_out:
        query = query.where(Contact.opted_out.is_(opted_out == "true"))
    return paginate(query, Contact.id, show.contact)


@bp.post("/contacts")
def create_contact():
    """Add a contact: wa_id (any usual phone format), display_name, birthday, timezone, tags, fields."""
    data = json_body()
    try:
        contact = contacts.create(data, source="api", user_id=g.api_user.id)
    except contacts.ContactError as exc:
        status, code = (409, "conflict") if "already exists" in exc.reason else (422, "invalid_contact")
        raise ApiError(status, code, exc.reason, field=exc.field) from None
    db.session.commit()
    response = jsonify(show.contact(contact))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_contact", contact_id=contact.id)
    return response


@bp.get("/contacts/<id:contact_id>")
def get_contact(contact_id: int):
    """One contact."""
    return jsonify(show.contact(_contact(contact_id)))


@bp.put("/contacts/<id:contact_id>")
def update_contact(contact_id: int):
    """Change the attributes given; `fields` is merged (a field set to null is removed)."""
    contact = _contact(contact_id)
    try:
        contacts.update(contact, json_body(), source="api", user_id=g.api_user.id)
    except contacts.ContactError as exc:
        raise ApiError(422, "invalid_contact", exc.reason, field=exc.field) from None
    db.session.commit()
    return jsonify(show.contact(contact))


@bp.delete("/contacts/<id:contact_id>")
def delete_contact(contact_id: int):
    """Forget a contact: `?messages=delete` (the default) removes them with their conversation,
    messages and runs; `?messages=anonymise` keeps the messages with nothing personal left. Either
    way every stored trace of them goes, and the audit log records it (services/privacy.py)."""
    mode = choice_arg("messages", privacy.MODES) or "delete"
    privacy.forget_contact(_contact(contact_id), mode, user=g.api_user, token=g.api_token)
    db.session.commit()
    return "", 204


@bp.get("/contacts/<id:contact_id>/export")
def export_contact(contact_id: int):
    """Everything stored about a contact, as one JSON document (recorded in the audit log)."""
    with transactions.unit_of_work():  # the audit entry is a write, in a reader
        document = privacy.export_contact(_contact(contact_id), user=g.api_user, token=g.api_token)
    response = jsonify(document)
    response.headers["Content-Disposition"] = f'attachment; filename="contact-{contact_id}.json"'
    return response


@bp.post("/contacts/import")
def import_contacts():
    """Import a CSV file (multipart field `file`, or the body as text/csv). Small files answer 201
    with the report; large ones 202 with a progress URL."""
    text = _upload()
    try:
        progress, job = contacts.start_import(text, user_id=g.api_user.id)
        if job is not None:
            work.after_commit(job)
        db.session.commit()
    except contacts.ContactError as exc:
        raise ApiError(422, "invalid_file", exc.reason, field=exc.field) from None
    except (RedisError, OSError):
        raise ApiError(503, "unavailable", "Redis does not answer; the import was not started.") from None
    response = jsonify(_public(progress))
    response.status_code = 201 if progress["status"] == "done" else 202
    response.headers["Location"] = url_for("api.import_progress", import_id=progress["id"])
    return response


@bp.get("/contacts/imports/<import_id>")
def import_progress(import_id: str):
    """An import's progress and the rows it refused, with why."""
    try:
        progress = contacts.get_progress(import_id)
    except (RedisError, OSError):
        raise ApiError(503, "unavailable", "Redis does not answer.") from None
    if progress is None:
        raise ApiError(404, "not_found", f"No import {import_id[:40]} (reports are kept for a week).")
    return jsonify(_public(progress))


def _has_tag(tag: str):
    """Contacts whose JSON tag list holds `tag`: JSONB containment on PostgreSQL, json_each on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return type_coerce(Contact.tags, JSONB).contains([tag])
    items = func.json_each(Contact.tags).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == tag))


def _upload() -> str:
    upload = request.files.get("file")
    raw = upload.read(MAX_UPLOAD + 1) if upload is not None else request.get_data(cache=False)
    if not raw:
        raise ApiError(400, "invalid_file", "Send a CSV file: multipart field `file`, or a text/csv body.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_file", "The file is not UTF-8 text; save it as CSV UTF-8.") from None


def _public(progress: dict) -> dict:
    return {k: v for k, v in progress.items() if k != "user_id"}


def _contact(contact_id: int) -> Contact:
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        raise ApiError(404, "not_found", f"No contact {contact_id}.")
    return contact
