"""The editor page and what its canvas saves and loads: drafts, publishing, versions, diffs.

The canvas talks JSON with these routes (graphs are data, not markup); the panels around it are
server-rendered fragments. Every change the editor makes (a draft save, which carries the name too,
publishing, restoring a version) carries the revision the editor holds, so a change from a stale
tab is answered 409 with the current draft and the person chooses.
"""

from __future__ import annotations

import time

from flask import abort, jsonify, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from flowapp.engine.registry import CATEGORIES
from flowapp.extensions import db
from flowapp.models import AutomationVersion
from flowapp.services import automations
from flowapp.web.automations_common import bp, get_automation, json_body, json_error
from flowapp.web.automations_views import graph_views, palette_entries, trigger_summary
from flowapp.web.strict_json import takes


def _issues_html(automation, issues) -> str:
    return render_template("automations/_issues.html", automation=automation, issues=issues)


def _draft_payload(automation, issues=None) -> dict:
    """The draft as the canvas loads it, with the views of its nodes and its problems."""
    if issues is None:
        issues = automations.check(automation.draft, automation.trigger)
    return {
        "name": automation.name,
        "automation_status": automation.status,
        "graph": automation.draft,
        "trigger": automation.trigger,
        "trigger_summary": trigger_summary(automation.trigger),
        "revision": automation.draft_revision,
        "views": graph_views(automation.draft),
        "issues": automations.issues_as_dicts(issues),
        "issues_html": _issues_html(automation, issues),
    }


def _urls(automation_id: int) -> dict:
    """Every URL the editor's script calls, built here so none is written by hand in JavaScript."""
    endpoints = (
        "draft",
        "save_draft",
        "publish",
        "versions",
        "diff",
        "node_form",
        "trigger_form",
        "simulator_start",
        "runs",
        "stats_overlay",
        "edit",
    )
    return {name: url_for(f"automations.{name}", automation_id=automation_id) for name in endpoints}


@bp.get("/<int:automation_id>/edit")
def edit(automation_id: int):
    """The editor: palette, canvas, settings, problems, simulator, versions and runs."""
    automation = get_automation(automation_id)
    issues = automations.check(automation.draft, automation.trigger)
    data = {
        "automation": {"id": automation.id, "name": automation.name, "status": automation.status},
        "urls": _urls(automation.id),
        "palette": palette_entries(),
        **{key: value for key, value in _draft_payload(automation, issues).items() if key != "issues_html"},
    }
    return render_template(
        "automations/editor.html",
        automation=automation,
        issues=issues,
        data=data,
        palette_groups=_groups(data["palette"]),
        summary=trigger_summary(automation.trigger),
    )


def _groups(palette: list[dict]) -> list[tuple[str, list[dict]]]:
    """Palette entries by category, in the registry's order (messages first)."""
    groups: dict[str, list[dict]] = {category: [] for category in CATEGORIES}
    for entry in palette:
        groups.setdefault(entry["category"], []).append(entry)
    return [(category, entries) for category, entries in groups.items() if entries]


@bp.get("/<int:automation_id>/draft")
def draft(automation_id: int):
    """The stored draft (what "load theirs" shows after a conflict)."""
    return jsonify(_draft_payload(get_automation(automation_id)))


REVISION = {"type": "integer", "minimum": 0, "maximum": 2147483647}


@bp.post("/<int:automation_id>/draft")
@takes(
    {
        "type": "object",
        "required": ["graph"],
        "properties": {
            "graph": {"type": "object"},
            "trigger": {"type": ["object", "null"]},
            "name": {"type": ["string", "null"], "maxLength": automations.MAX_NAME},
            "base_revision": {"anyOf": [REVISION, {"type": "null"}]},
        },
    }
)
def save_draft(automation_id: int):
    """Save the canvas: {"graph", "trigger", "name", "base_revision"} -> the new revision and the
    problems.

    409 when the automation changed since `base_revision` (the body has the current draft); 422 when
    the graph is not a well-formed document or the name is refused. Server-Timing says how long the
    save and validation took.
    """
    started = time.perf_counter()
    automation = get_automation(automation_id)
    body = json_body()
    name = body.get("name")
    try:
        issues = automations.save_draft(
            automation,
            body.get("graph"),
            trigger=body.get("trigger") if isinstance(body.get("trigger"), dict) else None,
            name=name if isinstance(name, str) else None,
            base_revision=_revision(body, "base_revision"),
        )
    except automations.DraftConflict:
        return _conflict(automation_id)
    except automations.AutomationError as exc:
        db.session.rollback()
        return json_error(422, str(exc), issues=automations.issues_as_dicts(exc.issues))
    db.session.commit()
    return _saved(automation, issues, started)


def _saved(automation, issues, started: float):
    """The answer to a save, with the time it took in Server-Timing (the benchmark reads it)."""
    response = jsonify(
        revision=automation.draft_revision,
        name=automation.name,
        issues=automations.issues_as_dicts(issues),
        issues_html=_issues_html(automation, issues),
        trigger_summary=trigger_summary(automation.trigger),
    )
    elapsed = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f'app;desc="save and validate";dur={elapsed:.1f}'
    return response


@bp.post("/<int:automation_id>/publish")
@takes(
    {
        "type": "object",
        "required": ["revision"],
        "properties": {"revision": REVISION, "confirm": {"type": "boolean"}},
    }
)
def publish(automation_id: int):
    """Publish the stored draft as a new immutable version.

    {"revision", "confirm"}: the revision must be the one the editor shows (409 otherwise); errors
    refuse it (422). Warnings without "confirm": true are a question, not a failure: 200 with
    {"needs_confirmation": true, "issues"} and nothing published.
    """
    automation = get_automation(automation_id)
    body = json_body()
    try:
        version = automations.publish(
            automation,
            current_user,
            confirm_warnings=bool(body.get("confirm")),
            base_revision=_revision(body, "revision", required=True),
        )
    except automations.DraftConflict:
        return _conflict(automation_id)
    except automations.NeedsConfirmation as exc:
        db.session.rollback()
        return jsonify(
            needs_confirmation=True, message=str(exc), issues=automations.issues_as_dicts(exc.issues)
        )
    except automations.AutomationError as exc:
        db.session.rollback()
        return json_error(
            422, str(exc), issues=automations.issues_as_dicts(exc.issues), needs_confirmation=False
        )
    db.session.commit()
    return jsonify(
        version=version.number,
        status=automation.status,
        revision=automation.draft_revision,
        message=f"Published version {version.number}.",
    )


def _revision(body: dict, key: str, *, required: bool = False) -> int | None:
    """The revision the editor sent; a 400 when it is not a whole number (or missing but required)."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        abort(400, f"{key} must be the revision the editor holds (a whole number).")
    return value


def _conflict(automation_id: int):
    """409 with the current draft, so the editor can offer "load theirs" or "keep mine"."""
    db.session.rollback()
    return json_error(
        409,
        "This automation was changed in another tab or by someone else.",
        conflict=True,
        **_draft_payload(get_automation(automation_id)),
    )


@bp.get("/<int:automation_id>/versions")
def versions(automation_id: int):
    """The version history, newest first, with restore and compare."""
    automation = get_automation(automation_id)
    rows = db.session.scalars(
        select(AutomationVersion)
        .where(AutomationVersion.automation_id == automation.id)
        .order_by(AutomationVersion.number.desc())
    ).all()
    return render_template("automations/_versions.html", automation=automation, versions=rows)


@bp.post("/<int:automation_id>/versions/<int:number>/restore")
@takes({"type": "object", "properties": {"base_revision": {"anyOf": [REVISION, {"type": "null"}]}}})
def restore(automation_id: int, number: int):
    """Make a version's graph and trigger the draft again; answers the new draft."""
    automation = get_automation(automation_id)
    body = json_body() if request.get_data() else {}  # {"base_revision"}; read first: a bad body is 400
    version = db.session.scalar(
        select(AutomationVersion).where(
            AutomationVersion.automation_id == automation.id, AutomationVersion.number == number
        )
    )
    if version is None:
        return json_error(404, f"There is no version {number}.")
    try:
        automations.restore(automation, version, base_revision=_revision(body, "base_revision"))
    except automations.DraftConflict:
        return _conflict(automation_id)
    db.session.commit()
    return jsonify({**_draft_payload(automation), "message": f"Version {number} restored as the draft."})


@bp.get("/<int:automation_id>/diff")
def diff(automation_id: int):
    """Two versions ("draft", "published" or a number) and what changed between them."""
    automation = get_automation(automation_id)
    try:
        old_title, old_graph, _ = automations.version_graph(automation, request.args.get("from", "published"))
        new_title, new_graph, _ = automations.version_graph(automation, request.args.get("to", "draft"))
    except automations.AutomationError as exc:
        return json_error(404, str(exc))
    return jsonify(
        {
            "from": {"title": old_title, "graph": old_graph, "views": graph_views(old_graph)},
            "to": {"title": new_title, "graph": new_graph, "views": graph_views(new_graph)},
            "diff": automations.diff_graphs(old_graph, new_graph),
        }
    )
