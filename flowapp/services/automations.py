"""Automations: create, save drafts, validate, publish immutable versions, activate and pause.

A draft is what the editor and the API edit. It is stored only when it is a well-formed document
(the JSON Schema holds); problems the validator finds beyond that (a missing setting, a free-form
send outside the 24-hour window) are kept with the draft and listed, and they block publishing.
"""

from __future__ import annotations

import copy
from dataclasses import asdict

from sqlalchemy import func, select

from flowapp import engine
from flowapp.extensions import db
from flowapp.models import (
    Automation,
    AutomationRun,
    AutomationVersion,
    Contact,
    MessageTemplate,
    User,
    utcnow,
)

EMPTY_GRAPH = {
    "spec_version": engine.SPEC_VERSION,
    "nodes": [{"id": "start", "type": "start", "config": {}, "position": {"x": 60, "y": 200}}],
    "edges": [],
}
STATUSES = ("draft", "active", "paused")


class AutomationError(ValueError):
    """The request cannot be carried out; `issues` lists the problems (node and field named)."""

    def __init__(self, message: str, issues: list[engine.Issue] | None = None):
        super().__init__(message)
        self.issues = issues or []


class DraftConflict(AutomationError):
    """The draft changed since the editor loaded it (another tab saved)."""

    def __init__(self, automation: Automation):
        super().__init__("This automation was changed elsewhere since you opened it.")
        self.automation = automation


def issues_as_dicts(issues: list[engine.Issue]) -> list[dict]:
    return [asdict(issue) for issue in issues]


def known_references() -> dict:
    """What graphs may refer to: templates (with parameter counts), contact fields, automations."""
    templates = {
        (t.name, t.language): t.parameters for t in db.session.scalars(select(MessageTemplate)) if t.approved
    }
    fields: set[str] = {"name", "birthday"}
    for row in db.session.scalars(select(Contact.fields).where(Contact.fields.is_not(None)).limit(2000)):
        fields.update((row or {}).keys())
    automations = set(db.session.scalars(select(Automation.id)))
    return {"templates": templates, "fields": fields, "automations": automations}


def check(graph: dict, trigger: dict | None) -> list[engine.Issue]:
    """Every problem with a graph and its trigger, errors first."""
    return engine.validate(graph, trigger, known_references())


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
    name = name.strip()
    if not name:
        raise AutomationError("Give the automation a name.")
    automation = Automation(
        name=name[:200],
        description=description,
        trigger=trigger or {"type": "manual"},
        draft=well_formed(graph or EMPTY_GRAPH),
        status="draft",
        created_by=user,
    )
    db.session.add(automation)
    db.session.flush()
    return automation


def save_draft(
    automation: Automation, graph: dict, *, trigger: dict | None = None, base_revision: int | None = None
) -> list[engine.Issue]:
    """Store a new draft (flushed) and return its issues. Raises DraftConflict or AutomationError."""
    if base_revision is not None and base_revision != automation.draft_revision:
        raise DraftConflict(automation)
    automation.draft = well_formed(graph)
    if trigger is not None:
        automation.trigger = trigger
    automation.draft_revision += 1
    automation.updated_at = utcnow()
    db.session.flush()
    return check(automation.draft, automation.trigger)


def publish(
    automation: Automation, user: User | None = None, *, confirm_warnings: bool = True
) -> AutomationVersion:
    """Freeze the draft as a new immutable version and make it the one new runs use (flushed).

    Refused while the validator reports errors; warnings need `confirm_warnings`.
    """
    issues = check(automation.draft, automation.trigger)
    errors = [i for i in issues if i.level == "error"]
    if errors:
        raise AutomationError(f"Fix {len(errors)} problem(s) before publishing.", errors)
    if not confirm_warnings and issues:
        raise AutomationError("Publishing with warnings needs a confirmation.", issues)
    number = (
        db.session.scalar(
            select(func.max(AutomationVersion.number)).where(AutomationVersion.automation_id == automation.id)
        )
        or 0
    ) + 1
    version = AutomationVersion(
        automation=automation,
        number=number,
        graph=copy.deepcopy(automation.draft),
        trigger=copy.deepcopy(automation.trigger),
        spec_version=automation.draft.get("spec_version", 0),
        created_by=user,
    )
    db.session.add(version)
    db.session.flush()
    automation.published_version = version
    if automation.status == "draft":
        automation.status = "active"
    automation.updated_at = utcnow()
    db.session.flush()
    return version


def restore(automation: Automation, version: AutomationVersion) -> None:
    """Make an old version's graph the draft again (flushed); publishing it makes a new version."""
    if version.automation_id != automation.id:
        raise AutomationError("That version belongs to another automation.")
    automation.draft = copy.deepcopy(version.graph)
    automation.trigger = copy.deepcopy(version.trigger)
    automation.draft_revision += 1
    db.session.flush()


def set_status(automation: Automation, status: str) -> None:
    """Activate or pause. Activating needs a published version."""
    if status not in STATUSES:
        raise AutomationError(f"Unknown status {status!r}.")
    if status == "active" and automation.published_version_id is None:
        raise AutomationError("Publish the automation before activating it.")
    automation.status = status
    db.session.flush()


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


def delete(automation: Automation) -> None:
    """Delete an automation, its versions and runs (the messages it sent stay)."""
    automation.published_version = None
    db.session.flush()
    db.session.delete(automation)
    db.session.flush()
