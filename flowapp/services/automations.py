"""Automations: create, save drafts, validate, publish immutable versions, activate and pause.

A draft is what the editor and the API edit. It is stored only when it is a well-formed document
(the JSON Schema holds); problems the validator finds beyond that (a missing setting, a free-form
send outside the 24-hour window) are kept with the draft and listed, and they block publishing.
"""

from __future__ import annotations

import copy
from dataclasses import asdict

from sqlalchemy import func, inspect, select
from sqlalchemy.orm.exc import StaleDataError

from flowapp import engine
from flowapp.extensions import db
from flowapp.models import (
    Automation,
    AutomationRun,
    AutomationVersion,
    Contact,
    ContactGroup,
    KnowledgeBase,
    MessageTemplate,
    User,
    utcnow,
)
from flowapp.services import contact_fields

EMPTY_GRAPH = {
    "spec_version": engine.SPEC_VERSION,
    "nodes": [{"id": "start", "type": "start", "config": {}, "position": {"x": 60, "y": 200}}],
    "edges": [],
}
STATUSES = ("draft", "active", "paused")


# The longest name and description (docs/api.md "Limits"; the name column holds 200).
MAX_NAME = 200
MAX_DESCRIPTION = 2000


class AutomationError(ValueError):
    """The request cannot be carried out; `issues` lists the problems (node and field named)."""

    def __init__(self, message: str, issues: list[engine.Issue] | None = None):
        super().__init__(message)
        self.issues = issues or []


class NeedsConfirmation(AutomationError):
    """Publishing found warnings only: it goes ahead once the person confirms (`issues` lists them)."""


class DraftConflict(AutomationError):
    """The automation changed since the client read it (another tab, another person, an API client).

    Every change bumps the revision (`Automation.draft_revision`); a change based on an older one is
    refused rather than silently undoing the other.
    """

    def __init__(self, automation_id: int):
        super().__init__("This automation was changed elsewhere since you opened it.")
        self.automation_id = automation_id


def current_revision(automation_id: int) -> int | None:
    """The stored revision (None once deleted): what a conflict answer tells the client to start from.
    Call it after rolling back the refused change."""
    return db.session.scalar(select(Automation.draft_revision).where(Automation.id == automation_id))


def issues_as_dicts(issues: list[engine.Issue]) -> list[dict]:
    """Issues as JSON-able dicts (level, node, field, message)."""
    return [asdict(issue) for issue in issues]


BUILTIN_FIELDS = frozenset({"name", "birthday"})  # every contact has these


def known_references() -> dict:
    """What graphs may refer to: templates (with parameter counts), contact fields (declared ones
    with their types, for Update contact's literal values), automations, contact groups (the
    audience of a schedule or manual trigger) and knowledge bases (Answer from knowledge)."""
    templates = {
        (t.name, t.language): t.parameters for t in db.session.scalars(select(MessageTemplate)) if t.approved
    }
    fields: set[str] = set(BUILTIN_FIELDS)
    for row in db.session.scalars(select(Contact.fields).where(Contact.fields.is_not(None)).limit(2000)):
        fields.update((row or {}).keys())
    field_types = contact_fields.declared()
    fields.update(field_types)
    automations = set(db.session.scalars(select(Automation.id)))
    groups = set(db.session.scalars(select(ContactGroup.id)))
    knowledge_bases = set(db.session.scalars(select(KnowledgeBase.id)))
    return {
        "knowledge_bases": knowledge_bases,
        "templates": templates,
        "fields": fields,
        "automations": automations,
        "field_types": field_types,
        "groups": groups,
    }


def checkable(known: dict) -> dict:
    """`known` as the validator should read it: without "fields" (no field check) while no contact
    has a field of its own. In a new installation every field would look unknown, a warning on each
    example that reads one, when there is nothing to compare with yet."""
    if set(known.get("fields", ())) - BUILTIN_FIELDS:
        return known
    return {key: value for key, value in known.items() if key != "fields"}


def check(graph: dict, trigger: dict | None) -> list[engine.Issue]:
    """Every problem with a graph and its trigger, errors first."""
    return engine.validate(graph, trigger, checkable(known_references()))


def well_formed(graph: dict) -> dict:
    """The graph upgraded to the current spec; raises AutomationError when it is not a valid document."""
    try:
        upgraded = engine.upgrade(copy.deepcopy(graph))
    except engine.UpgradeError as exc:
        raise AutomationError(str(exc)) from None
    schema_errors = engine.schema_issues(upgraded)
    if schema_errors:
        raise AutomationError("The graph is not a valid automation document.", schema_errors)
    return upgraded


def create(
    name: str,
    *,
    trigger: dict | None = None,
    graph: dict | None = None,
    description: str = "",
    user: User | None = None,
) -> Automation:
    """A new draft automation (flushed)."""
    name = _checked_name(name)
    _check_description(description)
    automation = Automation(
        name=name,
        description=description,
        trigger=trigger or {"type": "manual"},
        draft=well_formed(graph or EMPTY_GRAPH),
        status="draft",
        created_by=user,
    )
    db.session.add(automation)
    db.session.flush()
    return automation


def expect_revision(automation: Automation, base_revision: int | None) -> None:
    """Raise DraftConflict when the client's revision is not the stored one (None: it sent none)."""
    if base_revision is not None and base_revision != automation.draft_revision:
        raise DraftConflict(automation.id)


def _flush(automation: Automation) -> None:
    """Write the change; a writer that changed the row since it was read makes this a conflict."""
    automation_id = inspect(automation).identity[0]  # without a load (which would flush first)
    automation.updated_at = utcnow()
    try:
        db.session.flush()
    except StaleDataError:
        raise DraftConflict(automation_id) from None


def update(
    automation: Automation,
    *,
    base_revision: int | None = None,
    name: str | None = None,
    description: str | None = None,
    priority: int | None = None,
    graph: dict | None = None,
    trigger: dict | None = None,
    status: str | None = None,
) -> list[engine.Issue]:
    """Change any of the automation's fields (None: left as it is) as one revision, flushed, and
    return the draft's issues. Raises DraftConflict, or AutomationError naming what is refused."""
    expect_revision(automation, base_revision)
    if name is not None:
        automation.name = _checked_name(name)
    if description is not None:
        automation.description = _check_description(description)
    if priority is not None:
        automation.priority = priority
    if graph is not None:
        automation.draft = well_formed(graph)
    if trigger is not None:
        automation.trigger = trigger
    if status is not None:
        if status not in STATUSES:
            raise AutomationError(f"Unknown status {status!r}.")
        if status == "active" and automation.published_version_id is None:
            raise AutomationError("Publish the automation before activating it.")
        automation.status = status
    _flush(automation)
    return check(automation.draft, automation.trigger)


def save_draft(
    automation: Automation,
    graph: dict,
    *,
    trigger: dict | None = None,
    name: str | None = None,
    base_revision: int | None = None,
) -> list[engine.Issue]:
    """Store a new draft (flushed) and return its issues. Raises DraftConflict or AutomationError."""
    return update(automation, graph=graph, trigger=trigger, name=name, base_revision=base_revision)


def publish(
    automation: Automation,
    user: User | None = None,
    *,
    confirm_warnings: bool = True,
    base_revision: int | None = None,
) -> AutomationVersion:
    """Freeze the draft as a new immutable version and make it the one new runs use (flushed).

    Refused while the validator reports errors (AutomationError); warnings need `confirm_warnings`
    (NeedsConfirmation otherwise).
    """
    expect_revision(automation, base_revision)
    issues = check(automation.draft, automation.trigger)
    errors = [i for i in issues if i.level == "error"]
    if errors:
        raise AutomationError(f"Fix {len(errors)} problem(s) before publishing.", errors)
    if not confirm_warnings and issues:
        raise NeedsConfirmation("Publishing with warnings needs a confirmation.", issues)
    version = AutomationVersion(
        automation=automation,
        number=_next_version_number(automation),
        graph=copy.deepcopy(automation.draft),
        trigger=copy.deepcopy(automation.trigger),
        spec_version=automation.draft.get("spec_version", 0),
        created_by=user,
    )
    db.session.add(version)
    db.session.flush()
    _point_at(automation, version)
    if automation.status == "draft":
        automation.status = "active"
    _flush(automation)
    db.session.expire(automation, ["published_version"])
    return version


def restore(automation: Automation, version: AutomationVersion, *, base_revision: int | None = None) -> None:
    """Make an old version's graph the draft again (flushed); publishing it makes a new version."""
    if version.automation_id != automation.id:
        raise AutomationError("That version belongs to another automation.")
    expect_revision(automation, base_revision)
    automation.draft = copy.deepcopy(version.graph)
    automation.trigger = copy.deepcopy(version.trigger)
    _flush(automation)


def let_interrupt(
    automation: Automation, user: User | None = None, *, base_revision: int | None = None
) -> AutomationVersion | None:
    """Let the automation's keyword interrupt a run waiting for the contact's reply (flushed).

    The draft's trigger gets the flag; a published automation also gets a new version made from the
    published one with only that flag changed, so that unpublished edits of the draft do not go live
    with it. Returns that version (None when nothing was published). Keyword triggers only.
    """
    expect_revision(automation, base_revision)
    if (automation.trigger or {}).get("type") != "keyword":
        raise AutomationError("Only a keyword trigger can interrupt a waiting run.")
    published = db.session.get(AutomationVersion, automation.published_version_id or 0)
    version = None
    if published is not None and not published.trigger.get("interrupts"):
        version = AutomationVersion(
            automation_id=automation.id,  # the id, not the relationship: no collection change to version
            number=_next_version_number(automation),
            graph=copy.deepcopy(published.graph),
            trigger={**published.trigger, "interrupts": True},
            spec_version=published.spec_version,
            created_by=user,
        )
        db.session.add(version)
        db.session.flush()
        _point_at(automation, version)
    # Every change to the automation's own row in one UPDATE: one revision.
    automation.trigger = {**automation.trigger, "interrupts": True}
    _flush(automation)
    db.session.expire(automation, ["published_version"])
    return version


def _point_at(automation: Automation, version: AutomationVersion) -> None:
    """Make `version` the published one by its column, in the automation's own UPDATE (one revision).
    The relationship is unloaded first: loaded, its post-update would write the old id back."""
    db.session.expire(automation, ["published_version"])
    automation.published_version_id = version.id


def _next_version_number(automation: Automation) -> int:
    latest = db.session.scalar(
        select(func.max(AutomationVersion.number)).where(AutomationVersion.automation_id == automation.id)
    )
    return (latest or 0) + 1


def set_status(automation: Automation, status: str, *, base_revision: int | None = None) -> None:
    """Activate or pause. Activating needs a published version."""
    update(automation, status=status, base_revision=base_revision)


def duplicate(automation: Automation, user: User | None = None) -> Automation:
    """A draft copy with the same graph and trigger."""
    return create(
        f"{automation.name} (copy)",
        trigger=copy.deepcopy(automation.trigger),
        graph=copy.deepcopy(automation.draft),
        description=automation.description,
        user=user,
    )


def waiting_runs(automation: Automation) -> int:
    """How many runs of the automation are going or waiting (deleting it stops them)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AutomationRun)
            .where(
                AutomationRun.automation_id == automation.id, AutomationRun.status.in_(("running", "waiting"))
            )
        )
        or 0
    )


def delete(automation: Automation, *, base_revision: int | None = None) -> None:
    """Delete an automation, its versions and runs (the messages it sent stay)."""
    expect_revision(automation, base_revision)
    automation_id = automation.id
    automation.published_version = None
    _flush(automation)
    db.session.delete(automation)
    try:
        db.session.flush()
    except StaleDataError:
        raise DraftConflict(automation_id) from None


def rename(automation: Automation, name: str, *, base_revision: int | None = None) -> None:
    """Give the automation a new name (flushed); refused when empty or too long."""
    update(automation, name=name or "", base_revision=base_revision)


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise AutomationError("Give the automation a name.")
    if len(name) > MAX_NAME:
        raise AutomationError(f"A name has at most {MAX_NAME} characters, not {len(name)}.")
    return name


def _check_description(description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        raise AutomationError(
            f"A description has at most {MAX_DESCRIPTION} characters, not {len(description)}."
        )
    return description


def export_document(automation: Automation) -> dict:
    """The export file's content: {"name", "description", "trigger", "graph"} (the draft)."""
    return {
        "name": automation.name,
        "description": automation.description or "",
        "trigger": copy.deepcopy(automation.trigger),
        "graph": copy.deepcopy(automation.draft),
    }


def _export_problem(data: object) -> str | None:
    """Why `data` is not an export document, or None."""
    if not isinstance(data, dict):
        return "The file is not an automation export: a JSON object with name, trigger and graph."
    missing = [key for key in ("name", "trigger", "graph") if key not in data]
    if missing:
        return "The file is not an automation export: it has no " + ", ".join(missing) + "."
    if not isinstance(data["name"], str) or not data["name"].strip():
        return "The automation in the file has no name."
    if not isinstance(data.get("description", ""), str):
        return "The description in the file must be text."
    trigger = data["trigger"]
    if not isinstance(trigger, dict) or trigger.get("type") not in engine.TRIGGER_TYPES:
        return "The trigger in the file must be an object whose type is one of: " + ", ".join(
            engine.TRIGGER_TYPES
        )
    return None


def import_document(data: object, user: User | None = None) -> Automation:
    """A new draft automation from an export document (flushed).

    Refused with AutomationError (and the schema's issues) when the document is not an export, its
    trigger has an unknown type, or its graph is not a well-formed automation document. Problems
    the validator finds beyond that (a missing setting) are kept with the draft, as in the editor.
    """
    problem = _export_problem(data)
    if problem:
        raise AutomationError(problem)
    return create(
        data["name"],
        trigger=copy.deepcopy(data["trigger"]),
        graph=data["graph"],
        description=data.get("description", ""),
        user=user,
    )


def check_node(node: dict, known: dict | None = None) -> list[engine.Issue]:
    """The problems with one node's own settings (for the editor's settings form).

    The node is validated in a two-node graph (a start leading to it), and only its own setting
    issues are kept: open ports and reachability depend on the rest of the graph.
    """
    node = {key: node[key] for key in ("id", "type", "config", "label") if key in node}
    nodes = (
        [node] if node.get("type") == "start" else [{"id": "__start", "type": "start", "config": {}}, node]
    )
    edges = [] if len(nodes) == 1 else [{"from": "__start", "port": "next", "to": node.get("id")}]
    graph = {"spec_version": engine.SPEC_VERSION, "nodes": nodes, "edges": edges}
    issues = engine.validate(graph, None, checkable(known if known is not None else known_references()))
    return [
        i for i in issues if i.node == node.get("id") and i.field != "ports" and "reaches" not in i.message
    ]


def _outgoing(graph: dict) -> dict[str, set]:
    result: dict[str, set] = {}
    for edge in graph.get("edges") or []:
        result.setdefault(edge.get("from"), set()).add((edge.get("port"), edge.get("to")))
    return result


def _edge_dicts(edges: set) -> list[dict]:
    return [{"from": source, "port": port, "to": target} for source, port, target in sorted(edges)]


def _content(node: dict) -> tuple:
    return (node.get("type"), node.get("config"), node.get("label"))


def diff_graphs(old: dict, new: dict) -> dict:
    """What changed from graph `old` to graph `new`, by node id (for the diff drawn on the canvas).

    {"added", "removed", "changed" (type, settings, label or outgoing edges), "moved" (position
    only), "edges_added", "edges_removed"}: node ids in graph order, edges as {"from","port","to"}.
    """
    before = {n["id"]: n for n in old.get("nodes") or []}
    after = {n["id"]: n for n in new.get("nodes") or []}
    out_before, out_after = _outgoing(old), _outgoing(new)
    changed, moved = [], []
    for node_id, node in after.items():
        if node_id not in before:
            continue
        if _content(node) != _content(before[node_id]) or out_before.get(node_id) != out_after.get(node_id):
            changed.append(node_id)
        elif node.get("position") != before[node_id].get("position"):
            moved.append(node_id)
    edges_before = {(e["from"], e["port"], e["to"]) for e in old.get("edges") or []}
    edges_after = {(e["from"], e["port"], e["to"]) for e in new.get("edges") or []}
    return {
        "added": [node_id for node_id in after if node_id not in before],
        "removed": [node_id for node_id in before if node_id not in after],
        "changed": changed,
        "moved": moved,
        "edges_added": _edge_dicts(edges_after - edges_before),
        "edges_removed": _edge_dicts(edges_before - edges_after),
    }


def version_graph(automation: Automation, which: str) -> tuple[str, dict, dict]:
    """(title, graph, trigger) of "draft", "published" or a version number of `automation`.

    Raises AutomationError when there is no such version.
    """
    if which == "draft":
        return "Draft", automation.draft, automation.trigger
    version = automation.published_version if which == "published" else None
    if which != "published" and which.isdigit():
        version = db.session.scalar(
            select(AutomationVersion).where(
                AutomationVersion.automation_id == automation.id, AutomationVersion.number == int(which)
            )
        )
    if version is None:
        raise AutomationError(f"This automation has no version {which!r}.")
    return f"Version {version.number}", version.graph, version.trigger
