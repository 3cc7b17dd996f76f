"""Automations: the list (create, import, export, duplicate, rename, delete, activate and pause).

The editor's routes live in the automations_*.py modules beside this one; importing them at the
bottom registers them on the same blueprint (see automations_common).
"""

from __future__ import annotations

import json
import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from flowapp.extensions import db, htmx
from flowapp.models import Automation
from flowapp.services import automations, examples, stats
from flowapp.web.auth import safe_next
from flowapp.web.automations_common import CHANGED_ELSEWHERE, bp, form_revision, get_automation, vary_on_htmx
from flowapp.web.automations_triggers import KIND_LABELS, new_trigger
from flowapp.web.automations_views import trigger_summary

MAX_IMPORT_BYTES = 2 * 1024 * 1024


@bp.context_processor
def _helpers():
    return {"trigger_summary": trigger_summary}


def _list_context(error: str | None = None, issues: list | None = None) -> dict:
    items = db.session.scalars(select(Automation).order_by(Automation.updated_at.desc())).all()
    return {
        "automations": items,
        "runs_7d": stats.runs_last_days_by_automation(7),
        "examples": examples.all_examples(),
        "trigger_kinds": KIND_LABELS,
        "error": error,
        "issues": issues or [],
        "form": {},  # what the create form shows; a refused create shows what was typed
    }


@bp.get("/")
def index():
    """Every automation, most recently changed first (the table alone for an htmx request)."""
    template = "automations/_list.html" if htmx else "automations/index.html"
    return vary_on_htmx(Response(render_template(template, **_list_context())))


def _row(automation: Automation, error: str | None = None, status: int = 200):
    runs = {automation.id: stats.runs_last_days(automation, 7)}
    return render_template("automations/_row.html", automation=automation, runs_7d=runs, error=error), status


@bp.post("/new")
def create():
    """A new automation, from an example (which brings its trigger) or empty with the trigger the form
    asks for (a keyword by default); opens the editor."""
    name, slug = request.form.get("name", ""), request.form.get("example", "")
    try:
        if slug:
            automation = examples.create_from(slug, user=current_user)
            if name.strip():
                automation.name = name.strip()[:200]
        else:
            trigger = new_trigger(request.form)
            automation = automations.create(name, trigger=trigger, user=current_user)
    except automations.AutomationError as exc:
        db.session.rollback()
        context = {**_list_context(str(exc), exc.issues), "form": request.form}
        return render_template("automations/index.html", **context), 400
    db.session.commit()
    return redirect(url_for("automations.edit", automation_id=automation.id))


@bp.post("/import")
def import_file():
    """A new automation from an exported JSON file; malformed files are refused with the reason."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_refused("Choose a JSON file to import.")
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        return _import_refused("The file is larger than 2 MB: it is not an automation export.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return _import_refused(f"The file is not valid JSON ({exc}).")
    try:
        automation = automations.import_document(data, user=current_user)
    except automations.AutomationError as exc:
        db.session.rollback()
        return _import_refused(str(exc), exc.issues)
    db.session.commit()
    flash(f"Imported “{automation.name}” as a draft.")
    return redirect(url_for("automations.edit", automation_id=automation.id))


def _import_refused(message: str, issues: list | None = None):
    return render_template("automations/index.html", **_list_context(message, issues)), 400


@bp.get("/<int:automation_id>/export")
def export(automation_id: int):
    """The automation as a JSON file: {"name", "description", "trigger", "graph"}."""
    automation = get_automation(automation_id)
    body = json.dumps(automations.export_document(automation), indent=2, ensure_ascii=False)
    slug = re.sub(r"[^a-z0-9]+", "-", automation.name.lower()).strip("-") or "automation"
    response = Response(body + "\n", mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}.json"'
    return response


@bp.post("/<int:automation_id>/duplicate")
def duplicate(automation_id: int):
    """A draft copy with the same graph and trigger."""
    copy = automations.duplicate(get_automation(automation_id), user=current_user)
    db.session.commit()
    flash(f"Created “{copy.name}”.")
    return redirect(url_for("automations.index"))


@bp.get("/<int:automation_id>/row")
def row(automation_id: int):
    """One row of the list (what Cancel puts back)."""
    return _row(get_automation(automation_id))


@bp.get("/<int:automation_id>/rename")
def rename_form(automation_id: int):
    """The row with its name as a form."""
    return render_template("automations/_rename.html", automation=get_automation(automation_id))


@bp.post("/<int:automation_id>/rename")
def rename(automation_id: int):
    """Rename from the list; answers the row (409 with the current row when it changed meanwhile)."""
    automation = get_automation(automation_id)
    try:
        automations.rename(automation, request.form.get("name", ""), base_revision=form_revision())
    except automations.AutomationError as exc:
        return _refused_row(automation_id, exc)
    db.session.commit()
    return _row(automation)


def _refused_row(automation_id: int, exc: automations.AutomationError):
    db.session.rollback()
    automation = get_automation(automation_id)
    if isinstance(exc, automations.DraftConflict):
        return _row(automation, CHANGED_ELSEWHERE, 409)
    return _row(automation, str(exc), 422)


@bp.post("/<int:automation_id>/interrupts")
def let_interrupt(automation_id: int):
    """Let the automation's keyword interrupt a waiting run: offered in the inbox thread and the phone
    simulator where a waiting run took a message that keyword matched. Back to where it was asked."""
    automation = get_automation(automation_id)
    try:
        version = automations.let_interrupt(automation, current_user, base_revision=form_revision())
    except automations.DraftConflict:
        db.session.rollback()
        abort(409, CHANGED_ELSEWHERE)
    except automations.AutomationError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        live = f" (published as version {version.number})" if version else ""
        flash(f"“{automation.name}” now interrupts a run that waits for the contact's reply{live}.")
    return redirect(safe_next(request.form.get("next")))


@bp.post("/<int:automation_id>/status")
def set_status(automation_id: int):
    """Activate or pause; answers the row (with the reason when refused)."""
    automation = get_automation(automation_id)
    try:
        automations.set_status(automation, request.form.get("status", ""), base_revision=form_revision())
    except automations.AutomationError as exc:
        return _refused_row(automation_id, exc)
    db.session.commit()
    return _row(automation)


@bp.get("/<int:automation_id>/delete")
def confirm_delete(automation_id: int):
    """The confirmation, saying how many runs are waiting in this automation."""
    return _confirmation(get_automation(automation_id))


def _confirmation(automation: Automation, error: str | None = None, status: int = 200):
    template = "automations/_delete.html" if htmx else "automations/delete.html"
    waiting = automations.waiting_runs(automation)
    page = render_template(template, automation=automation, waiting=waiting, error=error)
    return vary_on_htmx(Response(page, status))


@bp.post("/<int:automation_id>/delete")
def delete(automation_id: int):
    """Delete the automation with its versions and runs (the messages it sent stay)."""
    automation = get_automation(automation_id)
    name = automation.name
    try:
        automations.delete(automation, base_revision=form_revision())
    except automations.DraftConflict:
        db.session.rollback()
        return _confirmation(get_automation(automation_id), CHANGED_ELSEWHERE + " Delete it still?", 409)
    db.session.commit()
    flash(f"Deleted “{name}”.")
    return redirect(url_for("automations.index"))


# Registered last: these modules add their routes to `bp`.
from flowapp.web import (  # noqa: E402
    automations_editor,
    automations_nodes,
    automations_runs,
    automations_sim,
    automations_triggers,
)

__all__ = [
    "automations_editor",
    "automations_nodes",
    "automations_runs",
    "automations_sim",
    "automations_triggers",
    "bp",
]
