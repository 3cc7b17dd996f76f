"""Groups and segments pages: the list with live counts, static groups, and the segment editor.

The editor is one form: its condition rows re-render on the server (adding, removing, changing a
row's kind), and a live count answers while editing (POSTed on change, debounced), with a few
sample names. Saving is an ordinary POST: a bad name or query re-renders the form with the error
beside the field or condition row and a 422, and saves nothing. A group's members are the contacts
page filtered by the group (contacts.index?group=<id>), with its bulk actions.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp.extensions import db
from flowapp.services import contact_fields, groups, segments
from flowapp.web import segment_form
from flowapp.web.contacts import bp

ERROR_STATUS = 422


@bp.get("/groups")
def groups_index():
    """Every group and segment with its kind and how many contacts it has now."""
    return _index()


def _index(error: str = "", name: str = "", status: int = 200):
    found = groups.all_groups()
    page = render_template(
        "contacts/groups.html", groups=found, counts=groups.counts(found), error=error, name=name
    )
    return page, status


@bp.post("/groups")
def create_group():
    """Create an empty static group; its page is the contacts list filtered by it."""
    name = request.form.get("name", "")
    try:
        group = groups.create_static(name, current_user)
    except groups.GroupError as exc:
        db.session.rollback()
        return _index(str(exc), name, ERROR_STATUS)
    db.session.commit()
    return redirect(url_for("contacts.index", group=group.id))


@bp.get("/groups/segments/new")
def new_segment():
    """The segment editor, empty, or holding the contacts page's filters (?tag=vip&seen_days=30)."""
    return _editor(None, "", segment_form.from_filters(request.args))


@bp.post("/groups/segments")
def create_segment():
    """Save a new segment; a bad name or query is shown beside its field (422), nothing saved."""
    name, query = request.form.get("name", ""), segment_form.read_query(request.form)
    try:
        groups.create_segment(name, query, current_user)
    except groups.GroupError as exc:
        db.session.rollback()
        return _editor(None, name, query, error=exc, status=ERROR_STATUS)
    db.session.commit()
    return redirect(url_for("contacts.groups_index"))


@bp.get("/groups/<int:group_id>/edit")
def edit_group(group_id: int):
    """A segment's editor, or a static group's rename form."""
    group = _group(group_id)
    return _editor(group, group.name, group.query or {})


@bp.post("/groups/<int:group_id>/edit")
def update_group(group_id: int):
    """Save a segment's name and conditions, or a static group's name."""
    group = _group(group_id)
    name, query = request.form.get("name", ""), segment_form.read_query(request.form)
    try:
        if group.kind == "dynamic":
            groups.update_segment(group, name, query)
        else:
            groups.rename(group, name)
    except groups.GroupError as exc:
        db.session.rollback()
        return _editor(group, name, query, error=exc, status=ERROR_STATUS)
    db.session.commit()
    return redirect(url_for("contacts.groups_index"))


@bp.post("/groups/<int:group_id>/delete")
def delete_group(group_id: int):
    """Delete a group or segment (the contacts stay); refused while something uses it."""
    try:
        groups.delete_group(_group(group_id))
    except groups.GroupError as exc:
        db.session.rollback()
        return _index(str(exc), status=409)
    db.session.commit()
    return redirect(url_for("contacts.groups_index"))


@bp.post("/groups/segments/rows")
def segment_rows():
    """The editor's condition rows, re-rendered with a row added, removed or of another kind."""
    query = segment_form.read_query(request.form)
    context = _rows_context(query, request.form.get("segment_id", type=int))
    response = render_template("contacts/_segment_conditions.html", **context)
    return response, 200, {"HX-Trigger": "segment-rows"}


@bp.post("/groups/segments/count")
def segment_count():
    """The live count: how many contacts the conditions on screen match, and a few of them."""
    query = segment_form.read_query(request.form)
    segment_id = request.form.get("segment_id", type=int)
    try:
        where = segments.clause(query, segment_id=segment_id)
        found, sample = segments.count(where), segments.sample(where)
    except segments.SegmentError as exc:
        return render_template("contacts/_segment_count.html", error=str(exc))
    return render_template("contacts/_segment_count.html", count=found, sample=sample)


def _group(group_id: int):
    group = groups.get(group_id)
    if group is None:
        abort(404)
    return group


def _rows_context(query: dict, segment_id: int | None = None, error=None) -> dict:
    others = [g for g in groups.all_groups() if g.id != segment_id]
    return {
        "conditions": query.get("conditions") or [],
        "kinds": segment_form.KIND_LABELS,
        "op_labels": segment_form.OP_LABELS,
        "ops": segment_form.ops,
        "others": others,
        # Offered while typing a field's name: the declared fields first, then names in use.
        "field_names": contact_fields.names_in_use(),
        "row_error": error.index if error is not None and error.field == "query" else None,
        "error": error,
    }


def _editor(group, name: str, query: dict, *, error=None, status: int = 200):
    segment_id = group.id if group is not None else None
    context = _rows_context(query, segment_id, error)
    if group is None or group.kind == "dynamic":
        try:
            where = segments.clause(query, segment_id=segment_id)
            context.update(count=segments.count(where), sample=segments.sample(where))
        except segments.SegmentError as exc:
            context.update(count_error=str(exc))
    page = render_template(
        "contacts/segment.html", group=group, name=name, match=query.get("match", "all"), **context
    )
    return page, status
