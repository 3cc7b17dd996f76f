"""Changing the contact: name, custom fields, birthday, tags and opt-out."""

from __future__ import annotations

from flowapp.engine import fields as typed
from flowapp.engine.conditions import as_date
from flowapp.engine.nodes.common import obj, text
from flowapp.engine.registry import node_type
from flowapp.engine.state import NodeFailure
from flowapp.engine.triggers import FIELD_NAME

TAGS = {"type": "array", "items": text(64, min_length=1)}
SETTINGS = ("name", "fields", "birthday", "add_tags", "remove_tags", "opted_out")


def _texts(config: dict):
    for key in ("name", "birthday"):
        if isinstance(config.get(key), str):
            yield (key, config[key])
    fields = config.get("fields") if isinstance(config.get("fields"), dict) else {}
    for name, value in fields.items():
        if isinstance(value, str):
            yield (f"fields.{name}", value)
    for key in ("add_tags", "remove_tags"):
        tags = config.get(key) if isinstance(config.get(key), list) else []
        yield from ((f"{key}[{index}]", tag) for index, tag in enumerate(tags) if isinstance(tag, str))


def _check(config: dict):
    if not any(key in config for key in SETTINGS):
        yield ("warning", None, "nothing to update: set a name, fields, birthday, tags or opt-out")


def _summary(config: dict) -> str:
    parts = []
    if "name" in config:
        parts.append("name")
    parts += [f"fields.{name}" for name in config.get("fields") or {}]
    if "birthday" in config:
        parts.append("birthday")
    parts += [f"+{tag}" for tag in config.get("add_tags") or []]
    parts += [f"-{tag}" for tag in config.get("remove_tags") or []]
    if "opted_out" in config:
        parts.append("opted out" if config["opted_out"] else "opted in")
    return "Update " + (", ".join(parts) if parts else "nothing")


def _birthday(run, template: str) -> str | None:
    value = run.render(template).strip()
    if not value:
        return None  # an empty birthday clears it
    parsed = as_date(value)
    if parsed is None or len(value) != 10:
        raise NodeFailure(f"birthday: {value!r} is not a date (YYYY-MM-DD)")
    return parsed.isoformat()


def _fields(run, node_id: str, config: dict) -> dict:
    """The rendered field values; a declared field's value in its type's form (None clears it).

    A value that does not fit its declared type is left out and the log says which field and why;
    the node's other changes still happen and the run goes on by "next" (a customer's typo in an
    answer must not end the conversation; a condition can test the field afterwards).
    """
    types = run.context.get("field_types") or {}
    values = {}
    for name, template in config["fields"].items():
        value = run.render(template)
        if name not in types:
            values[name] = value
            continue
        try:
            values[name] = typed.coerce(types[name], value)
        except ValueError as exc:
            run.note(node_id, "field_refused", {"field": name, "value": value[:100], "reason": str(exc)})
    return values


def apply_change(contact: dict, change: dict) -> None:
    """Apply `change` to the run's copy of the contact, so later nodes see the new values."""
    for key in ("name", "birthday", "opted_out"):
        if key in change:
            contact[key] = change[key]
    for name, value in (change.get("fields") or {}).items():
        if value is None:
            contact["fields"].pop(name, None)
        else:
            contact["fields"][name] = value
    tags = [tag for tag in contact["tags"] if tag not in (change.get("remove_tags") or ())]
    tags += [tag for tag in change.get("add_tags") or () if tag not in tags]
    contact["tags"] = tags


@node_type(
    "update_contact",
    ports=("next",),
    label="Update contact",
    icon="👤",
    description="Change the contact's name, fields, birthday, tags or opt-out",
    category="contact",
    config_schema=obj(
        {
            "name": text(256),
            "fields": {"type": "object", "propertyNames": FIELD_NAME, "additionalProperties": text(1000)},
            "birthday": text(64),
            "add_tags": TAGS,
            "remove_tags": TAGS,
            "opted_out": {"type": "boolean"},
        }
    ),
    default_config={"add_tags": []},
    summary=_summary,
    texts=_texts,
    check=_check,
)
def update_contact(run, node_id: str, config: dict):
    """Change the contact; name, field values, birthday and tags are templates.

    Emits an update_contact effect (the host saves it) and applies it to the run's copy of the
    contact. An empty birthday clears it; any other value must render to YYYY-MM-DD. A field the
    host declared with a type (context["field_types"]) gets its value in that type's form, or is
    left unchanged when the value does not fit (logged as "field_refused"; see _fields).

        {"id": "tag_lead", "type": "update_contact",
         "config": {"fields": {"email": "{{ vars.email }}"}, "add_tags": ["lead"],
                    "remove_tags": ["cold"]}}
    """
    change: dict = {}
    if "name" in config:
        change["name"] = run.render(config["name"]).strip()
    if config.get("fields"):
        change["fields"] = _fields(run, node_id, config)
    if "birthday" in config:
        change["birthday"] = _birthday(run, config["birthday"])
    for key in ("add_tags", "remove_tags"):
        if config.get(key):
            change[key] = [tag for tag in (run.render(item).strip() for item in config[key]) if tag]
    if "opted_out" in config:
        change["opted_out"] = bool(config["opted_out"])
    apply_change(run.contact, change)
    run.emit(node_id, "update_contact", change)
    return "next"
