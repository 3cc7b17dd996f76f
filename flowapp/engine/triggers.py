"""Triggers: what starts an automation, kept beside its graph (Automation.trigger).

The engine says whether a trigger is valid, whether a message matches a keyword trigger, and how
specific a trigger is (`match_priority`); the services find the candidates and start the run.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from jsonschema import Draft202012Validator

from flowapp.engine.cron import cron_error
from flowapp.engine.issues import Issue, error, warning
from flowapp.engine.jsonerrors import describe, field_path
from flowapp.engine.text import compile_regex, contains_sequence, normalize, regex_error, words

TRIGGER_TYPES = ("any_message", "keyword", "new_contact", "date_field", "schedule", "manual")
MATCH_MODES = ("exact", "first_word", "starts_with", "contains", "regex")
# Contact attributes a date_field trigger may use besides the custom fields.
BUILTIN_DATE_FIELDS = frozenset({"birthday"})
# Higher wins. A waiting run gets a reply before any trigger is considered (the service does that).
PRIORITY = {
    "exact": 70,
    "first_word": 60,
    "starts_with": 50,
    "contains": 40,
    "regex": 30,
    "new_contact": 20,
    "any_message": 10,
}
FIELD_NAME = {"type": "string", "pattern": r"^[A-Za-z0-9_]{1,64}$", "description": "letters, digits and _"}
AUDIENCE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 64}},
        "fields": {"type": "object", "propertyNames": FIELD_NAME, "additionalProperties": {"type": "string"}},
        # Contact groups and segments by id: a contact in any of them (then ANDed with tags and fields).
        "groups": {
            "type": "array",
            "maxItems": 20,
            "items": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        },
    },
}
TIME_OF_DAY = {
    "type": "string",
    "pattern": r"^([01]\d|2[0-3]):[0-5]\d$",
    "description": "HH:MM, 24-hour clock",
}


def _trigger(kind: str, properties: dict | None = None, required: tuple = ()) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", *required],
        "properties": {"type": {"const": kind}, **(properties or {})},
    }


TRIGGER_SCHEMAS = {
    "any_message": _trigger("any_message"),
    "keyword": _trigger(
        "keyword",
        {
            "keywords": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1, "maxLength": 200},
            },
            "match": {"enum": list(MATCH_MODES)},
            "interrupts": {"type": "boolean"},
        },
        ("keywords",),
    ),
    "new_contact": _trigger("new_contact"),
    "date_field": _trigger(
        "date_field",
        {
            "field": FIELD_NAME,
            "offset_days": {"type": "integer", "minimum": -365, "maximum": 365},
            "time": TIME_OF_DAY,
            "timezone": {"enum": ["account", "contact"]},
        },
        ("field",),
    ),
    "schedule": _trigger(
        "schedule", {"cron": {"type": "string"}, "at": {"type": "string"}, "audience": AUDIENCE}
    ),
    "manual": _trigger("manual", {"audience": AUDIENCE}),
}


def trigger_schema() -> dict:
    """The JSON Schema of a trigger (one branch per type, chosen by "type")."""
    branches = [
        {"if": {"properties": {"type": {"const": kind}}}, "then": schema}
        for kind, schema in TRIGGER_SCHEMAS.items()
    ]
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": list(TRIGGER_TYPES)}},
        "allOf": branches,
    }


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(TRIGGER_SCHEMAS[kind])


def _field(path: list) -> str:
    return "trigger" + ("." + field_path(path) if path else "").replace(".[", "[")


def validate_trigger(trigger: object, known: dict | None = None) -> list[Issue]:
    """Problems in a trigger, each naming its field ("trigger.keywords[1]"); [] when it is valid.

    With `known={"fields": {...}}`, a date_field trigger on an unknown contact field is a warning;
    with `known={"groups": {...}}` (ids), an audience naming a group that does not exist is an error.
    """
    if not isinstance(trigger, dict):
        return [error(None, "trigger", "a trigger is required (an object with a type)")]
    kind = trigger.get("type")
    if kind not in TRIGGER_SCHEMAS:
        return [error(None, "trigger.type", "must be one of: " + ", ".join(TRIGGER_TYPES))]
    issues = []
    for problem in _validator(kind).iter_errors(trigger):
        path, message = describe(problem)
        issues.append(error(None, _field(path), message))
    if issues:
        return issues
    return issues + _semantic_issues(kind, trigger, known or {})


def _semantic_issues(kind: str, trigger: dict, known: dict) -> list[Issue]:
    issues = []
    if kind == "keyword" and trigger.get("match") == "regex":
        for index, pattern in enumerate(trigger["keywords"]):
            problem = regex_error(pattern)
            if problem:
                issues.append(error(None, f"trigger.keywords[{index}]", problem))
    elif kind == "schedule":
        issues += _schedule_issues(trigger)
    if kind in ("schedule", "manual") and "groups" in known:
        issues += _group_issues(trigger.get("audience") or {}, known["groups"])
    elif kind == "date_field" and "fields" in known:
        name = trigger["field"]
        if name not in BUILTIN_DATE_FIELDS and name not in known["fields"]:
            issues.append(warning(None, "trigger.field", f"no contact field named {name!r}"))
    return issues


def _group_issues(audience: dict, groups) -> list[Issue]:
    return [
        error(None, f"trigger.audience.groups[{index}]", f"no contact group with id {group_id}")
        for index, group_id in enumerate(audience.get("groups") or [])
        if group_id not in groups
    ]


def _schedule_issues(trigger: dict) -> list[Issue]:
    has_cron, has_at = "cron" in trigger, "at" in trigger
    if has_cron == has_at:
        return [error(None, "trigger.cron", "give either a cron expression or a date-time (at), not both")]
    if has_cron:
        problem = cron_error(trigger["cron"])
        return [error(None, "trigger.cron", problem)] if problem else []
    try:
        datetime.fromisoformat(trigger["at"])
    except ValueError:
        return [error(None, "trigger.at", "must be a date and time like 2026-12-24T09:00")]
    return []


def keyword_matches(trigger: dict, text: str | None) -> bool:
    """Whether a message `text` matches a keyword trigger; case- and accent-insensitive in every mode.

    exact: the words of the text are the keyword's ("Menú!" matches "menu"); first_word: the text
    begins with the keyword's words; starts_with: the normalized text begins with the keyword, even
    mid-word ("menus" starts with "menu"); contains: the keyword's words appear together anywhere;
    regex: the pattern is searched in the normalized text, ignoring case.
    """
    if not text or trigger.get("type") != "keyword":
        return False
    mode = trigger.get("match", "first_word")
    if mode == "regex":
        target = normalize(text)
        return any(_search(pattern, target) for pattern in trigger.get("keywords", ()))
    if mode == "starts_with":
        target = normalize(text)
        return any(target.startswith(normalize(k)) for k in trigger.get("keywords", ()) if normalize(k))
    said = words(text)
    for keyword in trigger.get("keywords", ()):
        wanted = words(keyword)
        if not wanted:
            continue
        if mode == "exact" and said == wanted:
            return True
        if mode == "first_word" and said[: len(wanted)] == wanted:
            return True
        if mode == "contains" and contains_sequence(said, wanted):
            return True
    return False


def _search(pattern: str, text: str) -> bool:
    try:
        return compile_regex(pattern).search(text) is not None
    except re.error:  # the validator reports it; a bad pattern simply matches nothing
        return False


def match_priority(trigger: dict) -> int:
    """How specific a message trigger is; when several automations match, the HIGHEST rank wins.

    Keyword exact 70 > first_word 60 > starts_with 50 > contains 40 > regex 30 > new_contact 20 >
    any_message 10. Triggers that never match messages (date_field, schedule, manual) rank 0. Ties
    are the service's: the automation's own priority (higher first), then the lowest id.
    """
    kind = trigger.get("type") if isinstance(trigger, dict) else None
    if kind == "keyword":
        return PRIORITY.get(trigger.get("match", "first_word"), 0)
    return PRIORITY.get(kind, 0)


def match_order(trigger: dict, priority: int, automation_id: int) -> tuple[int, int, int]:
    """A sort key putting the automation that should win first: sorted(..., key=match_order(...))."""
    return (-match_priority(trigger), -priority, automation_id)
