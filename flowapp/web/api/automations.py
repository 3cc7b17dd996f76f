"""Automations: CRUD with the graph in the documented format, publish, execute, stats, examples;
and the runs and broadcasts that executing them starts."""

from __future__ import annotations

from flask import g, jsonify, url_for
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Automation, AutomationRun, Broadcast, Contact
from flowapp.services import audiences, automations, broadcasts, examples, runner, stats
from flowapp.services import contacts as contact_service
from flowapp.web.api import bp
from flowapp.web.api import serialize as show
from flowapp.web.api.common import MAX_ID, ApiError, choice_arg, int_arg, is_id, json_body, paginate, time_arg


def _issues(issues) -> list[dict]:
    return automations.issues_as_dicts(issues)


def _refused(exc: automations.AutomationError, status: int = 422) -> ApiError:
    if isinstance(exc, automations.DraftConflict):
        db.session.rollback()
        return ApiError(409, "conflict", str(exc), revision=automations.current_revision(exc.automation_id))
    return ApiError(status, "invalid_automation", str(exc), issues=_issues(exc.issues))


@bp.get("/automations")
def list_automations():
    """Automations, newest first (without their graphs); filter: status."""
    query = select(Automation)
    status = choice_arg("status", automations.STATUSES)
    if status:
        query = query.where(Automation.status == status)
    return paginate(query, Automation.id, lambda row: show.automation(row, graph=False))


@bp.post("/automations")
def create_automation():
    """A new draft: name, trigger, graph (docs/automations.md), or `example` (a slug from /examples)."""
    data = json_body()
    try:
        if data.get("example") is not None:
            automation = examples.create_from(str(data["example"]), user=g.api_user)
        else:
            _check_types(data)
            automation = automations.create(
                data.get("name") or "",
                trigger=data.get("trigger"),
                graph=data.get("graph"),
                description=data.get("description") or "",
                user=g.api_user,
            )
        issues = automations.check(automation.draft, automation.trigger)
    except automations.AutomationError as exc:
        raise _refused(exc) from None
    db.session.commit()
    response = jsonify(show.automation(automation, issues=_issues(issues)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_automation", automation_id=automation.id)
    return response


@bp.get("/automations/<id:automation_id>")
def get_automation(automation_id: int):
    """The automation with its draft graph and what the validator says about it."""
    automation = _automation(automation_id)
    issues = automations.check(automation.draft, automation.trigger)
    return jsonify(show.automation(automation, issues=_issues(issues)))


@bp.put("/automations/<id:automation_id>")
def update_automation(automation_id: int):
    """Save the draft (graph, trigger), rename, describe or change status. A graph that is not a valid
    document is refused (422, node-level issues); validator findings are stored and listed."""
    automation = _automation(automation_id)
    data = json_body()
    _check_types(data)
    try:
        # One revision for the whole change; a stale client is refused whatever field it changes.
        issues = automations.update(
            automation,
            base_revision=data.get("base_revision"),
            name=(data["name"] or "") if "name" in data else None,
            description=(data["description"] or "") if "description" in data else None,
            priority=data.get("priority"),
            graph=data.get("graph"),
            trigger=data.get("trigger"),
            status=data.get("status"),
        )
    except automations.AutomationError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return jsonify(show.automation(automation, issues=_issues(issues)))


def _check_types(data: dict) -> None:
    expected = {
        "name": str,
        "description": str,
        "trigger": dict,
        "graph": dict,
        "base_revision": int,
        "status": str,
        "priority": int,
    }
    for key, kind in expected.items():
        value = data.get(key)
        if key in data and value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ApiError(400, "invalid_request", f"{key} must be a {kind.__name__}.", field=key)
    for key in ("priority", "base_revision"):
        value = data.get(key)
        if key in data and (value is None or not -MAX_ID <= value <= MAX_ID):
            raise ApiError(400, "invalid_request", f"{key} must be a whole number.", field=key)


@bp.delete("/automations/<id:automation_id>")
def delete_automation(automation_id: int):
    """Delete an automation with its versions and runs (messages it sent stay)."""
    try:
        automations.delete(_automation(automation_id), base_revision=int_arg("base_revision"))
    except automations.AutomationError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return "", 204


@bp.post("/automations/<id:automation_id>/publish")
def publish(automation_id: int):
    """Freeze the draft as a new version that new runs use (422 with the issues while errors remain)."""
    automation = _automation(automation_id)
    try:
        version = automations.publish(automation, g.api_user, base_revision=int_arg("base_revision"))
    except automations.AutomationError as exc:
        raise _refused(exc) from None
    db.session.commit()
    body = show.automation(automation, graph=False)
    body["version"] = version.number
    return jsonify(body)


@bp.post("/automations/<id:automation_id>/execute")
def execute(automation_id: int):
    """Start the published automation for one contact (contact_id or wa_id: 201 with the run) or for
    an audience ({"audience": {"contact_ids"|"groups"|"tags"|"fields"}}: 202 with the broadcast;
    every part given must hold, and "groups" is a union of groups and segments)."""
    automation = _automation(automation_id)
    data = json_body()  # a body that is not JSON is a 400 whatever the automation's state
    if automation.published_version_id is None:
        raise ApiError(409, "not_published", "Publish the automation before executing it.")
    if isinstance(data.get("audience"), dict):
        return _broadcast(automation, data)
    contact = _contact_of(data)
    runner.lock_contact(contact.id)
    run = runner.start_run(automation, contact, trigger_data={"type": "api", "user_id": g.api_user.id})
    if run is None:
        raise ApiError(409, "already_running", "The contact is already in a run of this automation.")
    db.session.commit()
    response = jsonify({"run": show.run(run)})
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_run", run_id=run.id)
    return response


def _broadcast(automation: Automation, data: dict):
    audience = data["audience"]
    allowed = {"contact_ids": list, "groups": list, "tags": list, "fields": dict}
    if not audience or any(k not in allowed or not isinstance(v, allowed[k]) for k, v in audience.items()):
        message = "audience takes contact_ids, groups, tags and/or fields."
        raise ApiError(400, "invalid_request", message, field="audience")
    for key in ("contact_ids", "groups"):
        if not all(is_id(i) for i in audience.get(key) or []):
            message = f"{key} must be whole numbers."
            raise ApiError(400, "invalid_request", message, field=f"audience.{key}")
    try:
        broadcast = broadcasts.create(automation, audience, user=g.api_user, note="api")
    except audiences.AudienceError as exc:
        raise ApiError(422, "invalid_audience", str(exc), field=f"audience.{exc.field}") from None
    db.session.commit()  # the job that starts the runs is enqueued once this commits
    response = jsonify({"broadcast": show.broadcast(broadcast)})
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_broadcast", broadcast_id=broadcast.id)
    return response


def _contact_of(data: dict) -> Contact:
    if data.get("contact_id") is not None:
        raw = data["contact_id"]
        contact = db.session.get(Contact, raw) if is_id(raw) else None
    elif data.get("wa_id") is not None:
        try:
            contact = contact_service.find_by_number(data["wa_id"])
        except contact_service.ContactError as exc:
            raise ApiError(422, "invalid_number", exc.reason, field="wa_id") from None
    else:
        raise ApiError(400, "invalid_request", "Send contact_id, wa_id or audience.", field="contact_id")
    if contact is None:
        raise ApiError(404, "not_found", "No such contact.")
    return contact


@bp.get("/automations/<id:automation_id>/stats")
def automation_stats(automation_id: int):
    """Runs by status, visits per node and edge, drop-off, and how each send node's messages fared."""
    automation = _automation(automation_id)
    return jsonify(stats.automation_stats(automation, since=time_arg("since")))


@bp.get("/automations/examples")
def list_examples():
    """The starter automations; POST /automations with {"example": slug} makes a draft of one."""
    return jsonify(data=examples.all_examples())


@bp.get("/runs/<id:run_id>")
def get_run(run_id: int):
    """A run: its status, where it is, when it started and ended."""
    run = db.session.get(AutomationRun, run_id)
    if run is None:
        raise ApiError(404, "not_found", f"No run {run_id}.")
    return jsonify(show.run(run))


@bp.get("/broadcasts/<id:broadcast_id>")
def get_broadcast(broadcast_id: int):
    """A broadcast's progress: total, started, skipped, status."""
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise ApiError(404, "not_found", f"No broadcast {broadcast_id}.")
    return jsonify(show.broadcast(broadcast))


def _automation(automation_id: int) -> Automation:
    automation = db.session.get(Automation, automation_id)
    if automation is None:
        raise ApiError(404, "not_found", f"No automation {automation_id}.")
    return automation
