"""Settings forms to node configs: read the flat fields of a form into the JSON a node stores.

Fields are named by their path in the config with a "c." prefix (`c.buttons.0.title`); their types
come from the node type's JSON Schema, so a number field becomes a number and a duration stays text
unless it is whole seconds. Lists of rows (buttons, list rows, cases, headers...) grow and shrink
through the form itself: an "op" button ("add:buttons", "remove:buttons.1") re-renders the form
on the server, so no markup is ever built in JavaScript.
"""

from __future__ import annotations

import json
import re

from flowapp import engine

PREFIX = "c."
_DROP = object()
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
TRUE = ("true", "on", "1")


class FormProblem(ValueError):
    """A field the form cannot turn into a setting (JSON that does not parse): shown, not applied."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def nested(form, prefix: str = PREFIX) -> dict:
    """{"buttons": {"0": {"title": ...}}} from fields like "c.buttons.0.title" (the last value wins,
    so a hidden fallback before a checkbox gives way to the checked box)."""
    root: dict = {}
    for name in form.keys():
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split(".")
        target = root
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = form.getlist(name)[-1]
    return root


def _kinds(schema: dict) -> set[str]:
    kinds = schema.get("type", [])
    kinds = set(kinds if isinstance(kinds, list) else [kinds])
    if "enum" in schema:
        kinds.add("string")
    return kinds


def _scalar(value: str, schema: dict, keep_empty: bool):
    kinds = _kinds(schema)
    if value == "":
        return "" if keep_empty else _DROP
    if kinds & {"integer", "number"} and _NUMBER.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value else number
    if "boolean" in kinds and "string" not in kinds:
        return value.lower() in TRUE
    return value


def _index(key: str) -> int:
    return int(key) if key.isdigit() else 10_000


def coerce(value, schema: dict, keep_empty: bool = False):
    """The form value (a str or a dict of sub-fields) as the schema wants it, or _DROP for nothing."""
    if not isinstance(value, dict):
        return _scalar(str(value), schema, keep_empty)
    kinds = _kinds(schema)
    if "array" in kinds:
        items = [coerce(value[key], schema.get("items", {}), keep_empty) for key in sorted(value, key=_index)]
        return [item for item in items if item is not _DROP]
    properties = schema.get("properties")
    if properties:
        return _object(value, schema, keep_empty)
    return _pairs(value, schema.get("additionalProperties") or {}, keep_empty)


def _object(value: dict, schema: dict, keep_empty: bool):
    """An object setting, its keys in the schema's order (exported files read like the docs)."""
    result = {}
    required = schema.get("required", ())
    for key, item_schema in schema["properties"].items():
        if key not in value:
            continue
        coerced = coerce(value[key], item_schema, keep_empty)
        if coerced is _DROP and key in required and _kinds(item_schema) == {"string"}:
            coerced = ""  # a required text left empty stays, so the problem list names it
        if coerced is not _DROP:
            result[key] = coerced
    return result if result or keep_empty else _DROP


def _pairs(rows: dict, schema: dict, keep_empty: bool):
    """A map setting (HTTP headers, contact fields) from rows of key and value."""
    result = {}
    for index in sorted(rows, key=_index):
        row = rows[index] if isinstance(rows[index], dict) else {}
        name = str(row.get("key", "")).strip()
        item = coerce(row.get("value", ""), schema if isinstance(schema, dict) else {}, keep_empty)
        if (name or keep_empty) and item is not _DROP:
            result[name] = item
    return result if result or keep_empty else _DROP


def read_config(kind: str, form, keep_empty: bool = False) -> dict:
    """The config a node of type `kind` gets from this form. Raises FormProblem."""
    node_type = engine.NODE_TYPES[kind]
    raw = nested(form)
    config = coerce(raw, node_type.config_schema, keep_empty) if raw else {}
    if config is _DROP:
        config = {}
    finish = FINISHERS.get(kind)
    return finish(config, raw, form, keep_empty) if finish else config


def _buttons_header(config: dict, raw: dict, form, keep_empty: bool) -> dict:
    header = config.get("header")
    if isinstance(header, dict):
        kind = header.get("type")
        if not kind:
            config.pop("header")
        elif kind == "text":
            config["header"] = header.get("text", "")
        else:
            source = "link" if header.get("link") else "media_id"
            config["header"] = {"type": kind, source: header.get(source, "")}
    return config


def _wait_reply(config: dict, raw: dict, form, keep_empty: bool) -> dict:
    rule = config.get("validate")
    if isinstance(rule, dict):
        if not rule.get("kind") and not keep_empty:
            config.pop("validate")
        elif rule.get("kind") != "regex":
            rule.pop("pattern", None)
    return config


def _delay(config: dict, raw: dict, form, keep_empty: bool) -> dict:
    if form.get("delay_mode") == "until":
        config.pop("seconds", None)
    else:
        config.pop("until", None)
        config.pop("timezone", None)
    return config


def _http(config: dict, raw: dict, form, keep_empty: bool) -> dict:
    source, style = form.get("body", ""), form.get("body_format", "none")
    config.pop("body", None)
    if style == "json" and source.strip():
        try:
            config["body"] = json.loads(source)
        except ValueError as exc:
            if not keep_empty:
                raise FormProblem("body", f"the body is not valid JSON: {exc}") from None
            config["body"] = source
    elif style == "text" and (source or keep_empty):
        config["body"] = source
    return config


def _template(config: dict, raw: dict, form, keep_empty: bool) -> dict:
    parameters = raw.get("parameters") if isinstance(raw.get("parameters"), dict) else {}
    built: dict = {}
    header = (parameters.get("header") or {}).get("0") or {}
    if header.get("type") == "text" and (header.get("value") or keep_empty):
        built["header"] = [header.get("value", "")]
    elif header.get("type") in ("image", "video", "document"):
        built["header"] = [{"type": header["type"], "link": header.get("value", "")}]
    body = parameters.get("body") or {}
    built["body"] = [body[key] for key in sorted(body, key=_index)]
    buttons = {}
    for key in sorted(parameters.get("buttons") or {}, key=_index):
        row = parameters["buttons"][key]
        position, sub_type, value = (
            row.get("key", "").strip(),
            row.get("sub_type", "url"),
            row.get("value", ""),
        )
        if position or keep_empty:
            buttons[position] = value if sub_type == "url" else {"sub_type": sub_type, "value": value}
    if buttons:
        built["buttons"] = buttons
    config["parameters"] = built
    return config


def _extract(config: dict, raw: dict, form, keep_empty: bool) -> dict:
    """A field's choices are one text box, separated by commas; required is the default (left out)."""
    for field in config.get("fields") or []:
        if isinstance(field, dict) and field.get("required") is True:
            field.pop("required")
        if isinstance(field, dict) and isinstance(field.get("choices"), str):
            choices = [choice.strip() for choice in field["choices"].split(",") if choice.strip()]
            if choices:
                field["choices"] = choices
            else:
                field.pop("choices")
    return config


FINISHERS = {
    "extract": _extract,
    "send_buttons": _buttons_header,
    "wait_reply": _wait_reply,
    "delay": _delay,
    "http_request": _http,
    "send_template": _template,
}


def http_body_style(config: dict) -> tuple[str, str]:
    """(format, text) of an HTTP body for the form: "json" (pretty), "text" or "none"."""
    if "body" not in config:
        return "none", ""
    body = config["body"]
    if isinstance(body, str):
        return "text", body
    return "json", json.dumps(body, indent=2, ensure_ascii=False)


def _unique(prefix: str, taken: set) -> str:
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def _ids(items, key: str = "id") -> set:
    return {item.get(key) for item in items or [] if isinstance(item, dict)}


def _list_row_ids(config: dict) -> set:
    return {row_id for section in config.get("sections") or [] for row_id in _ids(section.get("rows"))}


# New rows for the lists a form can grow: (node type, path with * for indices) -> row.
NEW_ROWS = {
    ("send_buttons", "buttons"): lambda c: {
        "id": (i := _unique("button", _ids(c.get("buttons")))),
        "title": i,
    },
    ("send_list", "sections"): lambda c: {
        "title": "",
        "rows": [{"id": (i := _unique("option", _list_row_ids(c))), "title": i}],
    },
    ("send_list", "sections.*.rows"): lambda c: {
        "id": (i := _unique("option", _list_row_ids(c))),
        "title": i,
    },
    ("condition", "cases"): lambda c: {
        "id": _unique("case", _ids(c.get("cases"))),
        "left": "message.text",
        "op": "equals",
        "value": "",
    },
    ("classify", "categories"): lambda c: {
        "name": _unique("category", _ids(c.get("categories"), "name")),
        "description": "",
    },
    ("extract", "fields"): lambda c: {
        "name": _unique("field", _ids(c.get("fields"), "name")),
        "type": "text",
    },
    ("random_split", "branches"): lambda c: {"id": _unique("branch", _ids(c.get("branches"))), "weight": 50},
    ("send_template", "parameters.body"): lambda c: "",
    ("update_contact", "add_tags"): lambda c: "",
    ("update_contact", "remove_tags"): lambda c: "",
}
MAP_PATHS = {
    ("http_request", "headers"),
    ("update_contact", "fields"),
    ("send_template", "parameters.buttons"),
}


def apply_op(kind: str, config: dict, op: str) -> dict:
    """Add a row ("add:buttons", "add:sections.0.rows") or remove one ("remove:cases.2")."""
    action, _, path = op.partition(":")
    parts = [part for part in path.split(".") if part]
    if action not in ("add", "remove") or not parts:
        return config
    index = int(parts.pop()) if action == "remove" and parts[-1].isdigit() else None
    pattern = ".".join("*" if part.isdigit() else part for part in parts)
    parent = config
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
    name, is_map = parts[-1], (kind, pattern) in MAP_PATHS
    current = parent.get(name) or ({} if is_map else [])
    if action == "add" and is_map:
        key = str(len(current)) if pattern == "parameters.buttons" else ""
        current.setdefault(key, "")
    elif action == "add" and (kind, pattern) in NEW_ROWS:
        current.append(NEW_ROWS[(kind, pattern)](config))
    elif action == "remove" and index is not None and index < len(current):
        if is_map:
            current.pop(list(current)[index])
        else:
            current.pop(index)
    parent[name] = current
    return config
