"""The segment editor's form, read into a segment query (services/segments.py checks it, not this).

Rows are named c.<n>.kind, c.<n>.op, c.<n>.key and c.<n>.value. Values are turned into the type
their condition takes when they look like it ("30" days is 30); anything else is passed on as typed
so the check names the condition and says what it should be.
"""

from __future__ import annotations

import re

from flowapp.services.segments import CONDITION_SCHEMAS

KIND_LABELS = {
    "tag": "Tag",
    "field": "Field",
    "last_inbound": "Last message from them",
    "created": "Added",
    "opted_out": "Opted out",
    "group": "Group or segment",
    "language": "Language",
}
OP_LABELS = {
    "has": "is",
    "has_not": "is not",
    "eq": "is",
    "neq": "is not",
    "contains": "contains",
    "gt": "is more than",
    "lt": "is less than",
    "set": "is set",
    "not_set": "is not set",
    "within_days": "within the last … days",
    "not_within_days": "not within the last … days",
    "never": "never",
    "is": "is",
    "in": "is in",
    "not_in": "is not in",
}
MAX_ROWS = 20
_NUMBER = re.compile(r"-?\d{1,15}(\.\d{1,15})?")
_ROW = re.compile(r"c\.(\d{1,3})\.(kind|op|key|value)")


def ops(kind: str) -> list[str]:
    """The ops a condition kind takes, in the order the editor offers them."""
    return CONDITION_SCHEMAS.get(kind, CONDITION_SCHEMAS["tag"])["properties"]["op"]["enum"]


def read_query(form) -> dict:
    """The query the form describes; `op` "add" or "remove:<n>" adds or removes a row first."""
    rows: dict[int, dict] = {}
    for name, value in form.items(multi=True):
        found = _ROW.fullmatch(name)
        if found:
            rows.setdefault(int(found.group(1)), {})[found.group(2)] = value.strip()
    conditions = [_condition(rows[n]) for n in sorted(rows)]
    action = form.get("op", "")
    if action == "add" and len(conditions) < MAX_ROWS:
        conditions.append({"kind": "tag", "op": "has"})
    elif action.startswith("remove:") and action[7:].isdigit():
        index = int(action[7:])
        conditions = [c for n, c in enumerate(conditions) if n != index]
    return {"match": "any" if form.get("match") == "any" else "all", "conditions": conditions}


def _condition(row: dict) -> dict:
    kind = row.get("kind") if row.get("kind") in CONDITION_SCHEMAS else "tag"
    op = row.get("op") if row.get("op") in ops(kind) else ops(kind)[0]
    condition = {"kind": kind, "op": op}
    if kind == "field":
        condition["key"] = row.get("key", "")
    value = _value(kind, op, row.get("value", ""))
    if value is not None and op not in ("set", "not_set", "never"):
        condition["value"] = value
    return condition


def _value(kind: str, op: str, raw: str):
    if raw == "":
        return None
    if kind in ("last_inbound", "created", "group"):
        return int(raw) if raw.isdigit() and len(raw) < 10 else raw
    if kind == "opted_out":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "field" and op in ("gt", "lt") and _NUMBER.fullmatch(raw):
        return float(raw) if "." in raw else int(raw)
    return raw


def from_filters(args) -> dict:
    """A query for the contacts page's filters ("save these filters as a segment"); the search box
    has no condition of its own and is left out."""
    conditions: list[dict] = []
    if args.get("tag"):
        conditions.append({"kind": "tag", "op": "has", "value": args["tag"]})
    if args.get("field") and args.get("value"):
        conditions.append({"kind": "field", "key": args["field"], "op": "eq", "value": args["value"]})
    if args.get("seen_days", "").isdigit():
        conditions.append({"kind": "last_inbound", "op": "within_days", "value": int(args["seen_days"])})
    if args.get("opted_out") in ("yes", "no"):
        conditions.append({"kind": "opted_out", "op": "is", "value": args["opted_out"] == "yes"})
    if args.get("group", "").isdigit():
        conditions.append({"kind": "group", "op": "in", "value": int(args["group"])})
    return {"match": "all", "conditions": conditions or [{"kind": "tag", "op": "has"}]}
