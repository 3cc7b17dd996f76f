"""What the automation pages share: the blueprint, loading an automation, JSON bodies, Vary.

The routes live in automations.py (the list), automations_editor.py (the canvas, drafts, versions),
automations_nodes.py (settings forms), automations_sim.py (the simulator) and automations_runs.py
(run traces and the analytics overlay); automations.py imports them so they register on `bp`.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from flowapp.extensions import db
from flowapp.models import Automation
from flowapp.web.strict_json import BadJSON, parse, read_object

bp = Blueprint("automations", __name__, url_prefix="/automations")


def get_automation(automation_id: int) -> Automation:
    """The automation, or a 404."""
    automation = db.session.get(Automation, automation_id)
    if automation is None:
        abort(404, "No such automation.")
    return automation


def form_revision() -> int | None:
    """The revision a form was rendered with (its hidden "revision" field); None when it has none."""
    raw = request.form.get("revision", "")
    if raw == "":
        return None
    if not raw.isdigit() or len(raw) > 10:
        abort(400, "revision must be a whole number.")
    return int(raw)


CHANGED_ELSEWHERE = "It was changed elsewhere since you opened it; this is how it is now."


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong (web/strict_json.py)."""
    try:
        return read_object(request)
    except BadJSON as exc:
        abort(400, str(exc))


def json_field(name: str, default: object = None) -> object:
    """A form field that carries JSON (the editor sends graphs this way with htmx), or a 400."""
    raw = request.form.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except BadJSON as exc:
        abort(400, f"The field {name!r}: {exc}")


def json_error(status: int, message: str, **extra):
    """A JSON error the editor's script shows: {"error": message, ...}."""
    response = jsonify(error=message, **extra)
    response.status_code = status
    return response


def vary_on_htmx(response):
    """Mark a response whose body depends on HX-Request (page or fragment), for caches."""
    response.headers.add("Vary", "HX-Request")
    return response
