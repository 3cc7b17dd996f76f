"""Node settings: the form of the node clicked on the canvas, its live check and its preview.

The canvas holds the graph being edited, so it posts the node (and the graph, for the variables
in scope) to open a form; from then on the form posts its own fields. Applying answers the form
again with the new config, summary and ports in a data attribute the canvas reads.
"""

from __future__ import annotations

import json

from flask import render_template, request
from sqlalchemy import select

from flowapp import engine
from flowapp.engine.nodes import ai as ai_nodes
from flowapp.engine.nodes import extract as extract_node
from flowapp.extensions import db
from flowapp.models import Automation, MessageTemplate, utcnow
from flowapp.services import automations, knowledge, settings, simulator
from flowapp.web.automations_common import bp, get_automation, json_field
from flowapp.web.automations_forms import FormProblem, apply_op, http_body_style, read_config
from flowapp.web.automations_views import expression_names, node_view, variables_in_scope
from flowapp.whatsapp import payloads

LIMITS = {
    **{name: getattr(payloads, name) for name in dir(payloads) if name.startswith("MAX_")},
    "MAX_CATEGORIES": ai_nodes.MAX_CATEGORIES,
    "MAX_EXTRACT_FIELDS": extract_node.MAX_FIELDS,
}
SAMPLE_CONTACT = {"name": "Ana", "wa_id": "15550001234", "tags": [], "birthday": "1990-05-17"}


def _node_from_request() -> tuple[dict, list[dict]]:
    """The node the form is about, and the variables in its scope."""
    node = json_field("node")
    if isinstance(node, dict):  # opened from the canvas
        graph = json_field("graph", {}) or {}
        return node, variables_in_scope(graph, node.get("id"))
    kind = request.form.get("node_type", "")
    node = {"id": request.form.get("node_id", ""), "type": kind, "config": {}}
    scope = json_field("scope", []) or []
    return node, scope if isinstance(scope, list) else []


def _checked(node: dict, known: dict) -> list[engine.Issue]:
    return automations.check_node(node, known) if node.get("type") in engine.NODE_TYPES else []


def preview(node: dict, scope: list[dict], fields: set[str]) -> tuple[dict | None, str | None]:
    """The message the node would send, as the engine builds it for a sample contact; or the reason
    it cannot be built. Variables and fields show as ‹name›, so the preview never invents data."""
    node_type = engine.NODE_TYPES.get(node.get("type"))
    if node_type is None or not (node_type.sends_free_form or node_type.type == "send_template"):
        return None, None
    context = {
        "contact": {**SAMPLE_CONTACT, "fields": {name: f"‹{name}›" for name in fields}},
        "vars": {item["name"]: f"‹{item['name']}›" for item in scope},
        "message": {"text": "‹the customer's message›", "type": "text"},
        "account_timezone": settings.cached("timezone") or "UTC",
        "random": 0.5,
        "window_open": True,
    }
    graph = {
        "spec_version": engine.SPEC_VERSION,
        "nodes": [{"id": "__start", "type": "start", "config": {}}, {**node, "id": "preview"}],
        "edges": [{"from": "__start", "port": "next", "to": "preview"}],
    }
    result = engine.start(graph, context, utcnow())
    sends = [effect for effect in result.effects if effect.kind == "send"]
    if sends:
        return simulator.bubble(sends[0].data), None
    return None, result.state.error


def _render(
    automation, node: dict, scope: list[dict], *, issues=None, applied=None, problem=None, status=200
):
    known = automations.known_references()
    kind = node.get("type")
    config = node.get("config") if isinstance(node.get("config"), dict) else {}
    if issues is None:
        issues = _checked(node, known)
    bubble, preview_error = preview(node, scope, known["fields"])
    context = {
        "automation": automation,
        "node": node,
        "kind": kind,
        "node_type": engine.NODE_TYPES.get(kind),
        "config": config,
        "scope": scope,
        "names": expression_names(scope, known["fields"]),
        "fields": sorted(known["fields"]),
        "field_types": known["field_types"],
        "issues": issues,
        "bubble": bubble,
        "preview_error": preview_error,
        "applied": applied,
        "problem": problem,
        "limits": LIMITS,
        "body_style": http_body_style(config) if kind == "http_request" else None,
        # Only the forms that pick a template or an automation list them.
        "templates": _templates() if kind == "send_template" else [],
        "automations": _automations() if kind == "run_automation" else [],
        "knowledge_bases": _knowledge_bases() if kind == "answer" else [],
    }
    return render_template("automations/_node_form.html", **context), status


def _knowledge_bases() -> list[tuple[int, str]]:
    return [(base.id, base.name) for base, _sources, _chunks in knowledge.bases()]


def _automations() -> list[Automation]:
    return list(db.session.scalars(select(Automation).order_by(Automation.name)))


def _templates() -> list[MessageTemplate]:
    return [
        t for t in db.session.scalars(select(MessageTemplate).order_by(MessageTemplate.name)) if t.approved
    ]


def _read(node: dict, keep_empty: bool) -> dict:
    config = read_config(node["type"], request.form, keep_empty)
    label = request.form.get("node_label", "").strip()
    result = {"id": node["id"], "type": node["type"], "config": config}
    if label:
        result["label"] = label[:100]
    return result


def _known_type(node: dict) -> bool:
    return isinstance(node, dict) and node.get("type") in engine.NODE_TYPES and bool(node.get("id"))


@bp.post("/<int:automation_id>/node/form")
def node_form(automation_id: int):
    """The settings form of a node: opened from the canvas, or re-rendered to add or remove a row."""
    automation = get_automation(automation_id)
    node, scope = _node_from_request()
    if not _known_type(node):
        return render_template("automations/_node_unknown.html", node=node), 200
    if "node" not in request.form:
        node = _read(node, keep_empty=True)
        node["config"] = apply_op(node["type"], node["config"], request.form.get("op", ""))
    return _render(automation, node, scope)


@bp.post("/<int:automation_id>/node/check")
def node_check(automation_id: int):
    """The live check while typing: the node's problems and the preview of its message."""
    get_automation(automation_id)
    node, scope = _node_from_request()
    if not _known_type(node):
        return render_template("automations/_node_live.html", issues=[], bubble=None, problem=None)
    try:
        node = _read(node, keep_empty=False)
    except FormProblem as exc:
        issue = engine.Issue("error", node["id"], exc.field, str(exc))
        return render_template("automations/_node_live.html", issues=[issue], bubble=None, problem=None)
    known = automations.known_references()
    bubble, preview_error = preview(node, scope, known["fields"])
    return render_template(
        "automations/_node_live.html",
        issues=_checked(node, known),
        bubble=bubble,
        preview_error=preview_error,
    )


@bp.post("/<int:automation_id>/node/apply")
def node_apply(automation_id: int):
    """Apply the form: answers the form with the node's new config, summary and ports for the canvas."""
    automation = get_automation(automation_id)
    node, scope = _node_from_request()
    if not _known_type(node):
        return render_template("automations/_node_unknown.html", node=node), 422
    try:
        read = _read(node, keep_empty=False)
    except FormProblem as exc:
        kept = _read(node, keep_empty=True)
        return _render(automation, kept, scope, problem=str(exc), status=422)
    applied = {"node": read, "view": node_view(read)}
    return _render(automation, read, scope, applied=json.loads(json.dumps(applied)))
