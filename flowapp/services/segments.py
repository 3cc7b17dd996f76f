"""Segments: a query over contacts' fields, tags, activity and groups, compiled to one SQL clause.

A segment is stored as JSON (ContactGroup.query), for example "tag is vip and last inbound within
30 days":

    {"match": "all", "conditions": [
        {"kind": "tag", "op": "has", "value": "vip"},
        {"kind": "last_inbound", "op": "within_days", "value": 30}]}

`clause()` turns it into a WHERE clause on Contact that the database evaluates (contacts are never
loaded into Python to be filtered), with the same results on SQLite and PostgreSQL. The clause
helpers of the contacts page (contact_list.has_tag, field_equals) are reused so a segment and the
page's filters agree on what "has the tag vip" means.

What each condition means, where the choice was not obvious (also in docs/contacts.md):
- "neq", "has_not", "not_in" and "not_within_days" include contacts with no value at all (no such
  field, never wrote): "city is not Lisbon" includes contacts with no city.
- "gt"/"lt" compare numbers when given a number (a field stored as 9 is less than 10, whether
  stored as a JSON number or as the text "9"; values that are not numbers never match), and
  compare text when given a date such as "2026-05-01" (ISO dates sort as text).
- "language" "eq" "pt" matches "pt" and "pt-BR", ignoring case.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache

from jsonschema import Draft202012Validator
from sqlalchemy import Float, and_, case, cast, exists, false, func, not_, or_, select, true, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from flowapp.engine.jsonerrors import describe, field_path
from flowapp.extensions import db
from flowapp.models import Contact, ContactGroup, GroupMember, utcnow
from flowapp.services.contact_clauses import FIELD_NAME, field_equals, has_tag, postgresql

MAX_CONDITIONS = 20  # in one segment
MAX_DEPTH = 4  # segments referring to segments, through "group" conditions
MAX_TOTAL = 100  # conditions in all, once the referred segments are counted
MAX_DAYS = 36500
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"  # the text a field may hold that compares as a number
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]{2,})?")

_DAYS = {"type": "integer", "minimum": 1, "maximum": MAX_DAYS}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_FIELD_OPS = ("eq", "neq", "contains", "gt", "lt", "set", "not_set")


def _condition(kind: str, ops: tuple, value: dict | None, **extra: dict) -> dict:
    properties = {"kind": {"const": kind}, "op": {"enum": list(ops)}, **extra}
    if value is not None:
        properties["value"] = value
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "op", *extra],
        "properties": properties,
    }


CONDITION_SCHEMAS = {
    "tag": _condition("tag", ("has", "has_not"), {"type": "string", "minLength": 1, "maxLength": 64}),
    "field": _condition(
        "field",
        _FIELD_OPS,
        {"type": ["string", "number", "boolean"], "maxLength": 200},
        key={
            "type": "string",
            "pattern": "^" + FIELD_NAME.pattern + "$",
            "description": "letters, digits and _",
        },
    ),
    "last_inbound": _condition("last_inbound", ("within_days", "not_within_days", "never"), _DAYS),
    "created": _condition("created", ("within_days", "not_within_days"), _DAYS),
    "opted_out": _condition("opted_out", ("is",), {"type": "boolean"}),
    "group": _condition("group", ("in", "not_in"), {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
    "language": _condition("language", ("eq", "neq", "set", "not_set"), {**_TEXT, "maxLength": 16}),
}
CONDITION_KINDS = tuple(CONDITION_SCHEMAS)
# The ops that need no value; every other op requires one.
NO_VALUE_OPS = frozenset({"set", "not_set", "never"})
QUERY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["conditions"],
    "properties": {
        "match": {"enum": ["all", "any"]},
        "conditions": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_CONDITIONS,
            "items": {"type": "object"},
        },
    },
}


class SegmentError(ValueError):
    """A query refused; `index` is the condition at fault (0-based), None for the whole query."""

    def __init__(self, message: str, index: int | None = None, reason: str | None = None):
        super().__init__(message)
        self.index = index
        self.reason = reason or message


def validate(query: object) -> dict:
    """`query` checked (raises SegmentError naming the condition at fault); returned as it is."""
    for problem in _validator("query").iter_errors(query):
        path, message = describe(problem)
        raise SegmentError(f"{field_path(path) or 'the query'} {message}")
    for index, condition in enumerate(query["conditions"]):
        _check_condition(index, condition)
    return query


def _check_condition(index: int, condition: dict) -> None:
    kind = condition.get("kind")
    if kind not in CONDITION_SCHEMAS:
        raise SegmentError(f"Condition {index + 1}: kind must be one of: {', '.join(CONDITION_KINDS)}", index)
    for problem in _validator(kind).iter_errors(condition):
        path, message = describe(problem)
        raise SegmentError(f"Condition {index + 1} ({kind}): {field_path(path) or kind} {message}", index)
    op = condition["op"]
    if op not in NO_VALUE_OPS and condition.get("value") in (None, ""):
        raise SegmentError(f"Condition {index + 1} ({kind}): {op} needs a value", index)
    if kind == "field" and op in ("gt", "lt") and not _comparable(condition.get("value")):
        raise SegmentError(
            f"Condition {index + 1} (field): {op} compares a number or a date (2026-05-01)", index
        )


def _comparable(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or bool(isinstance(value, str) and _ISO_DATE.fullmatch(value))


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(QUERY_SCHEMA if name == "query" else CONDITION_SCHEMAS[name])


def clause(query: dict, *, segment_id: int | None = None):
    """The WHERE clause (on Contact) matching `query`, validated first (SegmentError).

    `segment_id` is the segment being saved or edited, so a condition referring back to it (even
    through another segment) is refused as a cycle rather than recursing forever."""
    # A query not saved yet (0 stands for it) is a level of nesting too, as it will be once saved.
    return _compile(validate(query), (segment_id or 0,), [MAX_TOTAL])


def group_clause(group: ContactGroup):
    """The contacts of a static group, or those a dynamic segment's query matches."""
    if group.kind != "dynamic":
        return _in_static(group.id)
    return _compile(validate(group.query), (group.id,), [MAX_TOTAL])


def _compile(query: dict, path: tuple, budget: list):
    budget[0] -= len(query["conditions"])
    if budget[0] < 0:
        raise SegmentError(f"At most {MAX_TOTAL} conditions in all, counting the segments referred to.")
    parts = [_one(index, condition, path, budget) for index, condition in enumerate(query["conditions"])]
    return and_(*parts) if query.get("match", "all") == "all" else or_(*parts)


def _one(index: int, condition: dict, path: tuple, budget: list):
    kind, op, value = condition["kind"], condition["op"], condition.get("value")
    if kind == "tag":
        return has_tag(value) if op == "has" else _negate(has_tag(value))
    if kind == "field":
        return _field(condition["key"], op, value)
    if kind in ("last_inbound", "created"):
        return _activity(kind, op, value)
    if kind == "opted_out":
        return Contact.opted_out.is_(value)
    if kind == "language":
        return _language(op, value)
    inside = _group(index, value, path, budget)
    return inside if op == "in" else _negate(inside)


def _negate(condition):
    # NOT of a NULL is NULL (a missing field would match neither "is" nor "is not"); the negations
    # here mean "everyone the positive condition does not match".
    return not_(func.coalesce(condition, false()))


def _activity(kind: str, op: str, days: int | None):
    column = Contact.last_inbound_at if kind == "last_inbound" else Contact.created_at
    if op == "never":
        return column.is_(None)
    recent = column >= utcnow() - timedelta(days=days)
    return recent if op == "within_days" else _negate(recent)


def _language(op: str, value: str | None):
    if op in ("set", "not_set"):
        present = and_(Contact.language.is_not(None), Contact.language != "")
        return present if op == "set" else _negate(present)
    code = value.strip().lower()
    language = func.lower(Contact.language)
    same = or_(language == code, language.like(_escape(code) + "-%", escape="\\"))
    return same if op == "eq" else _negate(same)


def _group(index: int, group_id: int, path: tuple, budget: list):
    def refuse(reason: str):
        return SegmentError(f"Condition {index + 1} (group): {reason}", index, reason)

    if group_id in path:
        raise refuse("a segment cannot include itself")
    if len(path) >= MAX_DEPTH:
        raise refuse(f"segments nest at most {MAX_DEPTH} deep")
    group = db.session.get(ContactGroup, group_id)
    if group is None:
        raise refuse(f"no group with id {group_id}")
    if group.kind != "dynamic":
        return _in_static(group.id)
    try:
        return _compile(group.query or {}, (*path, group.id), budget)
    except SegmentError as exc:  # said about this condition: the inner one's index means nothing here
        raise refuse(exc.reason) from None


def _in_static(group_id: int):
    # EXISTS on the (group_id, contact_id) primary key: an index lookup per contact, and the planner
    # may turn it into a semi-join from the group's members.
    member = select(1).where(GroupMember.group_id == group_id, GroupMember.contact_id == Contact.id)
    return exists(member)


def _field(key: str, op: str, value):
    if op in ("eq", "neq"):
        equal = field_equals(key, _as_text(value))
        return equal if op == "eq" else _negate(equal)
    text = _field_text(key)
    if op in ("set", "not_set"):
        present = and_(text.is_not(None), text != "")
        return present if op == "set" else _negate(present)
    if op == "contains":
        return text.ilike("%" + _escape(str(value)) + "%", escape="\\")
    if isinstance(value, str):  # a date: ISO text sorts as dates do; only text values compare
        stored = case((_field_type(key).in_(("string", "text")), text))
        return stored > value if op == "gt" else stored < value
    number = _field_number(key)
    return number > value if op == "gt" else number < value


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _escape(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def _field_text(key: str):
    """The field's value as text (NULL when absent)."""
    if postgresql():
        return type_coerce(Contact.fields, JSONB)[key].astext
    return func.json_extract(Contact.fields, f'$."{key}"')


def _field_type(key: str):
    """The JSON type of the field's value: "number", "string"… on PostgreSQL; "integer", "real",
    "text"… on SQLite."""
    if postgresql():
        return func.jsonb_typeof(type_coerce(Contact.fields, JSONB)[key])
    return func.json_type(Contact.fields, f'$."{key}"')


def _field_number(key: str):
    """The field as a number when it holds one (a JSON number, or text such as "9"), else NULL.

    The CASE guards the cast: PostgreSQL would fail the whole query on casting "abc"."""
    text, kind = _field_text(key), _field_type(key)
    if postgresql():
        numeric = or_(kind == "number", and_(kind == "string", text.op("~")(_NUMBER)))
        return case((numeric, cast(text, Float)))
    return case(
        (kind.in_(("integer", "real")), text),
        (and_(kind == "text", _numeric_text_sqlite(text)), cast(text, Float)),
    )


def _numeric_text_sqlite(text):
    """SQLite has no regular expressions by default: _NUMBER said with GLOB (digits, an optional
    leading minus, at most one dot with digits on both sides)."""
    return and_(
        text.op("GLOB")("*[0-9]*"),
        not_(text.op("GLOB")("*[^0-9.-]*")),
        not_(text.op("GLOB")("?*-*")),
        not_(text.op("GLOB")("*.*.*")),
        not_(text.op("GLOB")("*.")),
        not_(text.op("GLOB")(".*")),
        not_(text.op("GLOB")("-.*")),
    )


def count(where) -> int:
    """How many contacts a clause matches (counted in the database)."""
    return db.session.scalar(select(func.count()).select_from(Contact).where(where)) or 0


def sample(where, limit: int = 5) -> list[Contact]:
    """A few of the newest contacts a clause matches, to show while editing."""
    return list(db.session.scalars(select(Contact).where(where).order_by(Contact.id.desc()).limit(limit)))


def everyone():
    """A clause every contact matches (for an audience that names nothing)."""
    return true()
