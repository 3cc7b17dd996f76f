"""Trigger settings: one form for every trigger kind, checked live by the engine's validate_trigger.

Like node forms, the editor holds the trigger being edited: it posts the trigger to open the form,
and applying answers the form with the new trigger in a data attribute the editor reads (the
trigger is saved with the draft).
"""

from __future__ import annotations

import re
from datetime import datetime

from croniter import croniter
from flask import render_template, request
from werkzeug.datastructures import MultiDict

from flowapp import engine
from flowapp.engine.triggers import MATCH_MODES
from flowapp.services import automations, groups, settings
from flowapp.services.triggers import zone
from flowapp.web.automations_common import bp, get_automation, json_field
from flowapp.web.automations_forms import nested
from flowapp.web.automations_views import trigger_summary

KIND_LABELS = {
    "any_message": "Any message",
    "keyword": "Keyword",
    "new_contact": "New contact",
    "date_field": "Date field (birthdays, appointments)",
    "schedule": "Schedule (cron or one date)",
    "manual": "Manual or API start",
}
_INTEGER = re.compile(r"^-?\d+$")


def _audience(form) -> dict | None:
    tags = [tag.strip() for tag in form.get("a.tags", "").split(",") if tag.strip()]
    rows = nested(form, "a.").get("fields") or {}
    fields = {
        row.get("key", "").strip(): row.get("value", "")
        for row in rows.values()
        if isinstance(row, dict) and row.get("key", "").strip()
    }
    # A value that is not a number stays as typed, so the trigger's check names it.
    chosen = [int(v) if v.isdigit() else v for v in form.getlist("a.groups") if v]
    parts = (("groups", chosen), ("tags", tags), ("fields", fields))
    audience = {key: value for key, value in parts if value}
    return audience or None


def read_trigger(form) -> dict:
    """The trigger a form describes (checked afterwards by validate_trigger, not here)."""
    kind = form.get("t.type", "manual")
    trigger: dict = {"type": kind}
    if kind == "keyword":
        trigger["keywords"] = [
            line.strip() for line in form.get("t.keywords", "").splitlines() if line.strip()
        ]
        trigger["match"] = form.get("t.match") or "first_word"
        if form.getlist("t.interrupts")[-1:] == ["true"]:
            trigger["interrupts"] = True
    elif kind == "date_field":
        trigger["field"] = form.get("t.field", "").strip()
        offset = form.get("t.offset_days", "").strip()
        if offset:
            trigger["offset_days"] = int(offset) if _INTEGER.match(offset) else offset
        for name in ("time", "timezone"):
            if form.get(f"t.{name}"):
                trigger[name] = form[f"t.{name}"]
    elif kind == "schedule":
        key = "at" if form.get("schedule_mode") == "at" else "cron"
        trigger[key] = form.get(f"t.{key}", "").strip()
    if kind in ("schedule", "manual") and _audience(form):
        trigger["audience"] = _audience(form)
    return trigger


def new_trigger(form) -> dict:
    """The trigger the list's create form asks for: a keyword by default.

    Raises AutomationError when a keyword trigger has no usable keyword: the form asks for it. A
    date field starts on the birthday (a field every contact has); a schedule's time is set in the
    editor's trigger form, whose problem the editor lists until then.
    """
    fields = MultiDict(form)
    if not fields.get("t.type"):
        fields["t.type"] = "keyword"
    trigger = read_trigger(fields)
    if trigger["type"] == "date_field":
        trigger["field"] = trigger["field"] or "birthday"
    if trigger["type"] == "keyword":
        issues = engine.validate_trigger(trigger)
        if not trigger["keywords"]:
            raise automations.AutomationError("Type the keyword that starts this automation (like “menu”).")
        if issues:
            raise automations.AutomationError("That keyword cannot start an automation.", issues)
    return trigger


def next_times(trigger: dict, count: int = 3) -> list[datetime]:
    """The next times a valid cron schedule fires, in the account's time zone (for the form)."""
    if trigger.get("type") != "schedule" or "cron" not in trigger:
        return []
    tz = zone(settings.cached("timezone"))
    iterator = croniter(trigger["cron"], datetime.now(tz))
    return [iterator.get_next(datetime) for _ in range(count)]


def _render(automation, trigger: dict, *, applied=None, status=200):
    known = automations.known_references()
    issues = engine.validate_trigger(trigger, automations.checkable(known))
    times = next_times(trigger) if not issues else []
    return render_template(
        "automations/_trigger_form.html",
        automation=automation,
        trigger=trigger,
        issues=issues,
        times=times,
        kinds=KIND_LABELS,
        modes=MATCH_MODES,
        fields=sorted(known["fields"]),
        groups=groups.all_groups(),
        applied=applied,
        summary=trigger_summary(trigger),
    ), status


def _from_request() -> dict:
    trigger = json_field("trigger")
    if isinstance(trigger, dict):
        return trigger
    trigger = read_trigger(request.form)
    if request.form.get("op") == "add:audience.fields":
        trigger.setdefault("audience", {}).setdefault("fields", {})[""] = ""
    return trigger


@bp.post("/<int:automation_id>/trigger/form")
def trigger_form(automation_id: int):
    """The trigger form: opened with the editor's trigger, or re-rendered for another kind."""
    return _render(get_automation(automation_id), _from_request())


@bp.post("/<int:automation_id>/trigger/check")
def trigger_check(automation_id: int):
    """The live check while typing: the trigger's problems and, for cron, its next times."""
    get_automation(automation_id)
    trigger = read_trigger(request.form)
    issues = engine.validate_trigger(trigger, automations.checkable(automations.known_references()))
    return render_template(
        "automations/_trigger_live.html",
        issues=issues,
        times=[] if issues else next_times(trigger),
        summary=trigger_summary(trigger),
    )


@bp.post("/<int:automation_id>/trigger/apply")
def trigger_apply(automation_id: int):
    """Apply the form: answers it with the trigger and its summary for the editor."""
    automation = get_automation(automation_id)
    trigger = read_trigger(request.form)
    applied = {"trigger": trigger, "summary": trigger_summary(trigger)}
    return _render(automation, trigger, applied=applied)
