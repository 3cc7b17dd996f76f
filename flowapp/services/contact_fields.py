"""Custom contact fields declared in Settings: list, create, change and delete them, and hold every
value written to a declared field to its type.

A declared field has a key (the name in Contact.fields and in templates: contact.fields.<key>), a
label for people and a type: text, number, date or choice (flowapp/engine/fields.py has the rules).
Keys nobody declared stay allowed and untyped, as before: automations and imports may create fields
on the fly (as RapidPro's flows do), and declaring one later types it.

- Changing a field's type or choices is refused while stored values would not fit, with how many
  contacts hold such values; when they all fit they are rewritten in the new type's form ("12" ->
  12, "yes" -> "Yes"). Nothing is ever silently dropped or mangled.
- The key cannot change (its values and the automations reading it would be orphaned).
- Deleting a declaration keeps the values on the contacts, untyped; declare the key again to type it.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select, true, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB

from flowapp.engine import fields as typing
from flowapp.extensions import db
from flowapp.models import FIELD_TYPES, Contact, ContactField
from flowapp.services import contacts

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# What a contact has outside `fields`, and what templates read as contact.<name>: a custom field
# with one of these names would be shadowed or confused with it.
RESERVED_KEYS = frozenset(
    {"name", "wa_id", "phone", "birthday", "timezone", "language", "tags", "opted_out", "fields", "id"}
)
MAX_LABEL = 100
MAX_CHOICES = 50
MAX_CHOICE = 100
MAX_DECLARED = 50  # as many as a contact may hold (contacts.MAX_FIELDS)


def listing() -> list[ContactField]:
    """Every declared field, by label."""
    return list(db.session.scalars(select(ContactField).order_by(func.lower(ContactField.label))))


def names_in_use(recent: int = 2000, limit: int = 200) -> list[str]:
    """Field names to suggest: the declared ones (by label), then those the `recent` newest contacts
    hold, each once (the database unpacks the keys, as contact_list.known_tags does the tags)."""
    declared_keys = [field.key for field in listing()]
    newest = select(Contact.fields).order_by(Contact.id.desc()).limit(recent).subquery()
    if db.session.get_bind().dialect.name == "postgresql":
        keys = func.jsonb_each(type_coerce(newest.c.fields, JSONB)).table_valued("key", "value")
    else:
        keys = func.json_each(newest.c.fields).table_valued("key", "value")
    name = keys.c.key
    query = select(name).select_from(newest).join(keys, true()).distinct().order_by(name).limit(limit)
    used = [key for key in db.session.scalars(query) if key not in declared_keys]
    return declared_keys + used


def get(field_id: int) -> ContactField | None:
    """One declared field, or None."""
    return db.session.get(ContactField, field_id)


def declared() -> dict[str, dict]:
    """The declarations as the rules read them: {key: {"type", "choices", "label"}}, in one query.
    Load it once per request or batch and pass it on (an import checks thousands of rows)."""
    return {
        row.key: {"type": row.type, "choices": list(row.choices or []), "label": row.label}
        for row in db.session.scalars(select(ContactField))
    }


def declared_for(graph: dict) -> dict[str, dict]:
    """declared() when `graph` has an Update contact node that sets fields, else {} without a query
    (the engine's context for a run: most automations never write a field)."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else ():
        if isinstance(node, dict) and node.get("type") == "update_contact":
            if (node.get("config") or {}).get("fields"):
                return declared()
    return {}


def checked_values(values: dict, declared_types: dict) -> tuple[dict, dict]:
    """(the values to store, {key: reason} of those refused) for field values an automation wrote:
    declared keys in their type's form (None clears), others as they are."""
    kept, refused = {}, {}
    for key, value in values.items():
        if key not in declared_types:
            kept[key] = value
            continue
        try:
            kept[key] = typing.coerce(declared_types[key], value)
        except ValueError as exc:
            refused[key] = str(exc)
    return kept, refused


def coerce(key: str, value: object, spec: dict) -> str | int | float | None:
    """The value to store in declared field `key` (None: clear it). Raises contacts.ContactError
    naming `fields.<key>` with the reason, for people, when the value does not fit the type."""
    try:
        return typing.coerce(spec, value)
    except ValueError as exc:
        raise contacts.ContactError(f"fields.{key}", f"{spec.get('label') or key}: {exc}") from None


def merged(values: object, base: dict, declared_types: dict) -> dict:
    """`base` (a contact's fields) with `values`' changes, for contacts.create/update. A declared
    key is held to its type (coerce; empty clears it); any other key takes a short text, number or
    true/false, as it always did; None removes a field. Raises contacts.ContactError."""
    if not isinstance(values, dict):
        raise contacts.ContactError("fields", "an object of field names and values")
    for key, item in values.items():
        if not KEY_PATTERN.fullmatch(key):
            raise contacts.ContactError(
                f"fields.{key}"[:80], "field names are letters, digits and _ (not first)"
            )
        if key in declared_types:
            item = coerce(key, item, declared_types[key])
        if item is None:
            base.pop(key, None)
        elif isinstance(item, str | int | float | bool) and len(str(item)) <= typing.MAX_TEXT:
            base[key] = item
        else:
            raise contacts.ContactError(
                f"fields.{key}", "a text, number or true/false of at most 1000 characters"
            )
    if len(base) > contacts.MAX_FIELDS:
        raise contacts.ContactError("fields", f"at most {contacts.MAX_FIELDS} fields")
    return base


def create(data: dict) -> ContactField:
    """Declare a field (flushed) from {"key", "label", "type", "choices"}. Raises ContactError.
    Values already stored under the key must fit the type (they are rewritten in its form)."""
    key = _key(data.get("key"))
    if db.session.scalar(select(ContactField.id).where(ContactField.key == key)) is not None:
        raise contacts.ContactError("key", f"a field with the key {key!r} is declared already")
    if db.session.scalar(select(func.count()).select_from(ContactField)) >= MAX_DECLARED:
        raise contacts.ContactError("key", f"at most {MAX_DECLARED} declared fields")
    field = ContactField(key=key, **_settings(data))
    _retype_values(key, _spec(field))
    db.session.add(field)
    db.session.flush()
    return field


def update_field(field: ContactField, data: dict) -> ContactField:
    """Change a field's label, type or choices (flushed); the key stays. Raises ContactError, with
    the number of contacts whose values would not fit when the type or choices change."""
    if "key" in data and str(data["key"]).strip() != field.key:
        raise contacts.ContactError("key", "a field's key cannot change: automations and contacts use it")
    settings = _settings(data)
    new_spec = {"type": settings["type"], "choices": settings["choices"], "label": settings["label"]}
    if (settings["type"], settings["choices"]) != (field.type, list(field.choices or [])):
        _retype_values(field.key, new_spec)
    field.label, field.type, field.choices = settings["label"], settings["type"], settings["choices"]
    db.session.flush()
    return field


def delete(field: ContactField) -> None:
    """Forget a declaration (flushed); contacts keep their values, untyped."""
    db.session.delete(field)
    db.session.flush()


def value_counts() -> dict[str, int]:
    """How many contacts have a value for each declared key, in one pass over the contacts (not
    one per field: the page lists up to 50 of them)."""
    keys = list(db.session.scalars(select(ContactField.key)))
    if not keys:
        return {}
    if db.session.get_bind().dialect.name == "postgresql":
        pairs = func.jsonb_each(type_coerce(Contact.fields, JSONB)).table_valued("key", "value")
    else:
        pairs = func.json_each(Contact.fields).table_valued("key", "value")
    rows = db.session.execute(
        select(pairs.c.key, func.count())
        .select_from(Contact)
        .join(pairs, true())
        .where(pairs.c.key.in_(keys))
        .group_by(pairs.c.key)
    )
    return {key: 0 for key in keys} | dict(rows.all())


def has_key(key: str):
    """Contacts that have a value under custom field `key` (a key KEY_PATTERN accepted)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return type_coerce(Contact.fields, JSONB).has_key(key)
    return func.json_type(Contact.fields, f'$."{key}"').is_not(None)


def _spec(field: ContactField) -> dict:
    return {"type": field.type, "choices": list(field.choices or []), "label": field.label}


def _retype_values(key: str, spec: dict) -> None:
    """Rewrite every stored value of `key` in the form `spec` stores; refuse if any does not fit."""
    changed, misfits, example = [], 0, None
    rows = db.session.execute(select(Contact.id, Contact.fields).where(has_key(key)))
    for contact_id, values in rows:
        try:
            value = typing.coerce(spec, values[key])
        except ValueError as exc:
            misfits += 1
            example = example or str(exc)
            continue
        if value is None or value != values[key] or type(value) is not type(values[key]):
            fields = {**values}
            if value is None:
                fields.pop(key)
            else:
                fields[key] = value
            changed.append({"id": contact_id, "fields": fields})
    if misfits:
        who = "1 contact has a value" if misfits == 1 else f"{misfits} contacts have values"
        raise contacts.ContactError(
            "type",
            f"{who} in {key!r} that would not fit (for example: {example}); change or clear them first",
        )
    if changed:
        db.session.execute(update(Contact), changed)


def _key(value: object) -> str:
    key = value.strip() if isinstance(value, str) else ""
    if not KEY_PATTERN.fullmatch(key):
        raise contacts.ContactError(
            "key", "a key is 1 to 64 letters, digits and _, not starting with a digit (like order_total)"
        )
    if key.lower() in RESERVED_KEYS:
        raise contacts.ContactError("key", f"{key!r} is a built-in contact attribute: choose another key")
    return key


def _settings(data: dict) -> dict:
    label = data.get("label")
    label = label.strip() if isinstance(label, str) else ""
    if not label:
        raise contacts.ContactError("label", "a label is required (what people see, like Order total)")
    if len(label) > MAX_LABEL:
        raise contacts.ContactError("label", f"at most {MAX_LABEL} characters")
    kind = data.get("type")
    if kind not in FIELD_TYPES:
        raise contacts.ContactError("type", f"the type is one of: {', '.join(FIELD_TYPES)}")
    choices = _choices(data.get("choices")) if kind == "choice" else []
    return {"label": label, "type": kind, "choices": choices}


def _choices(value: object) -> list[str]:
    """1 to 50 distinct texts; a text (from a form) has one choice per line."""
    items = value.splitlines() if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise contacts.ContactError("choices", "a list of texts, one per line")
    choices = [item.strip() for item in items if item.strip()]
    if not 1 <= len(choices) <= MAX_CHOICES:
        raise contacts.ContactError("choices", f"a choice field needs 1 to {MAX_CHOICES} choices")
    too_long = next((c for c in choices if len(c) > MAX_CHOICE), None)
    if too_long is not None:
        raise contacts.ContactError(
            "choices", f"a choice has at most {MAX_CHOICE} characters: {too_long[:40]!r}…"
        )
    seen: set[str] = set()
    for choice in choices:
        if choice.casefold() in seen:
            raise contacts.ContactError("choices", f"{choice!r} is listed twice (choices ignore case)")
        seen.add(choice.casefold())
    return choices
