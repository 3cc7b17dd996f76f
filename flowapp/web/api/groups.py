"""Contact groups and segments: list, create, delete, their contacts, and a static group's members."""

from __future__ import annotations

from flask import g, jsonify, url_for
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import Contact, ContactGroup
from flowapp.services import groups, segments
from flowapp.web.api import bp
from flowapp.web.api import serialize as show
from flowapp.web.api.common import ApiError, is_id, iso, json_body, paginate

MAX_IDS = 1000  # contact ids in one members call


def _group(group_id: int) -> ContactGroup:
    group = groups.get(group_id)
    if group is None:
        raise ApiError(404, "not_found", "No such group.")
    return group


def _show(group: ContactGroup) -> dict:
    counted = groups.counts([group])[group.id]
    return {
        "id": group.id,
        "name": group.name,
        "kind": group.kind,
        "query": group.query,
        "count": counted,
        "created_at": iso(group.created_at),
        "updated_at": iso(group.updated_at),
    }


def _refused(exc: groups.GroupError) -> ApiError:
    field = exc.field if exc.field in ("name", "query") else None
    return ApiError(409 if exc.conflict else 422, "invalid_group", str(exc), field=field)


@bp.get("/groups")
def list_groups():
    """Groups and segments, newest first, each with how many contacts it has now."""
    return paginate(select(ContactGroup), ContactGroup.id, _show)


@bp.post("/groups")
def create_group():
    """A static group ({"name"}), or a segment ({"name", "kind": "dynamic", "query"})."""
    data = json_body()
    kind = data.get("kind", "static")
    try:
        if kind == "dynamic":
            group = groups.create_segment(data.get("name", ""), data.get("query"), g.api_user)
        else:
            group = groups.create_static(data.get("name", ""), g.api_user)
    except groups.GroupError as exc:
        raise _refused(exc) from None
    db.session.commit()
    response = jsonify(_show(group))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_group", group_id=group.id)
    return response


@bp.get("/groups/<id:group_id>")
def get_group(group_id: int):
    """One group or segment, with its count."""
    return jsonify(_show(_group(group_id)))


@bp.delete("/groups/<id:group_id>")
def delete_group(group_id: int):
    """Delete a group or segment (its contacts stay); 409 while a segment or trigger uses it."""
    try:
        groups.delete_group(_group(group_id))
    except groups.GroupError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return "", 204


@bp.get("/groups/<id:group_id>/contacts")
def group_contacts(group_id: int):
    """The group's contacts (a segment's: those its query matches now), newest first."""
    group = _group(group_id)
    try:
        where = groups.members_clause(group)
    except segments.SegmentError as exc:
        raise ApiError(409, "invalid_group", str(exc)) from None
    return paginate(select(Contact).where(where), Contact.id, show.contact, group_id=group_id)


@bp.post("/groups/<id:group_id>/members")
def add_members(group_id: int):
    """Add contacts to a static group: {"contact_ids": [...]}; unknown ids and members are skipped."""
    group, ids = _group(group_id), _ids()
    try:
        added = groups.add_contacts(group, ids)
    except groups.GroupError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return jsonify({"added": added, "count": groups.count(group)})


@bp.post("/groups/<id:group_id>/members/remove")
def remove_members(group_id: int):
    """Take contacts out of a static group: {"contact_ids": [...]}."""
    group, ids = _group(group_id), _ids()
    try:
        removed = groups.remove_contacts(group, ids)
    except groups.GroupError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return jsonify({"removed": removed, "count": groups.count(group)})


def _ids() -> list[int]:
    ids = json_body().get("contact_ids")
    if not isinstance(ids, list) or not ids or len(ids) > MAX_IDS or not all(is_id(i) for i in ids):
        message = f"contact_ids is a list of 1 to {MAX_IDS} contact ids."
        raise ApiError(400, "invalid_request", message, field="contact_ids")
    return ids
