"""Importing contacts from the Contacts page: upload a CSV, say what each column holds (guessed from
its name) with a preview of the first rows, then follow the import's progress; the rows refused,
each with its line and reason, download as CSV."""

from __future__ import annotations

import csv
import io
import secrets

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError

from flowapp import work
from flowapp.extensions import db, get_redis
from flowapp.services import contact_import_map, contacts
from flowapp.services.contact_export import safe_cell
from flowapp.web.contacts import bp
from flowapp.web.strict_json import large_body

MAX_UPLOAD = 3 * 1024 * 1024
UPLOAD_KEY = "flowapp:contact-upload:{}"
UPLOAD_TTL = 3600  # an hour to choose the columns


@bp.get("/import")
def import_form():
    """The upload form."""
    return render_template("contacts/import.html")


@bp.post("/import")
@large_body(MAX_UPLOAD + 64 * 1024)
def import_upload():
    """Read the file and show its columns, each with what it is guessed to hold, and a preview."""
    upload = request.files.get("file")
    raw = upload.read(MAX_UPLOAD + 1) if upload is not None else b""
    problem = _file_problem(raw)
    if problem:
        return render_template("contacts/import.html", error=problem), 422
    text = raw.decode("utf-8-sig")
    try:
        header, preview = contact_import_map.read_table(text, limit=contact_import_map.PREVIEW_ROWS)
    except contacts.ContactError as exc:
        return render_template("contacts/import.html", error=exc.reason), 422
    token = secrets.token_hex(12)
    try:
        get_redis().set(UPLOAD_KEY.format(token), text.encode(), ex=UPLOAD_TTL)
    except (RedisError, OSError):
        return render_template("contacts/import.html", error="Redis does not answer; try again shortly."), 503
    return render_template(
        "contacts/import_map.html",
        token=token,
        columns=[(column, contact_import_map.guess(column)) for column in header],
        preview=preview,
        targets=list(contact_import_map.TARGETS),
        filename=(upload.filename or "")[:200],
    )


def _file_problem(raw: bytes) -> str | None:
    if not raw:
        return "Choose a CSV file."
    if len(raw) > MAX_UPLOAD:
        return f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB; split it, or use the API."
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "The file is not UTF-8 text; save it as CSV UTF-8."
    return None


@bp.post("/import/<token>")
def import_start(token: str):
    """Rewrite the file with the chosen columns and start the import."""
    if not token.isalnum() or len(token) > 40:
        abort(404)
    try:
        stored = get_redis().get(UPLOAD_KEY.format(token))
    except (RedisError, OSError):
        abort(503, "Redis does not answer; the import was not started.")
    if stored is None:
        return render_template(
            "contacts/import.html", error="That upload expired; upload the file again."
        ), 410
    text = stored.decode()
    header, preview = contact_import_map.read_table(text, limit=contact_import_map.PREVIEW_ROWS)
    choices = [request.form.get(f"column-{i}", "ignore") for i in range(len(header))]
    try:
        progress, job = contacts.start_import(
            contact_import_map.remap(text, choices), user_id=current_user.id
        )
    except contacts.ContactError as exc:
        db.session.rollback()
        context = {"columns": list(zip(header, choices, strict=True)), "preview": preview}
        return render_template(
            "contacts/import_map.html",
            token=token,
            error=exc.reason,
            targets=list(contact_import_map.TARGETS),
            **context,
        ), 422
    if job is not None:
        work.after_commit(job)
    db.session.commit()
    get_redis().delete(UPLOAD_KEY.format(token))
    return redirect(url_for("contacts.import_progress", import_id=progress["id"]))


@bp.get("/imports/<import_id>")
def import_progress(import_id: str):
    """The import's progress (the bar polls while it runs), then its counts and refused rows."""
    progress = _progress(import_id)
    template = (
        "contacts/_import_progress.html"
        if request.headers.get("HX-Request")
        else "contacts/import_progress.html"
    )
    return render_template(template, progress=progress)


@bp.get("/imports/<import_id>/refused.csv")
def import_refused(import_id: str):
    """The refused rows, each with its line in the file, the number, the field and the reason."""
    progress = _progress(import_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "number", "field", "reason"])
    for row in progress.get("refused", []):
        writer.writerow([safe_cell(row.get(key)) for key in ("line", "number", "field", "reason")])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="import-{import_id}-refused.csv"'
    return response


def _progress(import_id: str) -> dict:
    try:
        progress = contacts.get_progress(import_id)
    except (RedisError, OSError):
        abort(503, "Redis does not answer.")
    if progress is None:
        abort(404, "No such import (reports are kept for a week).")
    return progress
