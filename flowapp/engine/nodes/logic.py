"""Logic: conditions, variables and random splits."""

from __future__ import annotations

import re

from flowapp.engine.conditions import OPERATORS, WITH_VALUE2, WITHOUT_LEFT, WITHOUT_VALUE, matches
from flowapp.engine.nodes.common import (
    ID,
    VARIABLE,
    duplicate_problems,
    ids,
    keyed,
    obj,
    quote,
    reserved_problems,
    text,
)
from flowapp.engine.registry import node_type
from flowapp.engine.state import NodeFailure
from flowapp.engine.text import regex_error
from flowapp.whatsapp.payloads import MAX_TEXT

SCALAR = {"type": ["string", "number", "boolean", "null"]}
CASE = obj(
    {"id": ID, "left": text(1000), "op": {"enum": list(OPERATORS)}, "value": SCALAR, "value2": SCALAR},
    ("id", "op"),
)


def _cases(config: dict) -> list[dict]:
    cases = config.get("cases")
    return [case for case in cases if isinstance(case, dict)] if isinstance(cases, list) else []


def _case_problems(index: int, case: dict):
    field, op = f"cases[{index}]", case.get("op")
    if op not in WITHOUT_LEFT and not str(case.get("left") or "").strip():
        yield ("error", f"{field}.left", "an expression to test is required (like contact.fields.city)")
    if op not in WITHOUT_VALUE and case.get("value") in (None, ""):
        yield ("error", f"{field}.value", f"a value is required for {op}")
    if op in WITH_VALUE2 and case.get("value2") in (None, ""):
        yield ("error", f"{field}.value2", "between needs an upper bound (value2)")
    if op == "regex" and isinstance(case.get("value"), str) and "{" not in case["value"]:
        problem = regex_error(case["value"])
        if problem:
            yield ("error", f"{field}.value", problem)


def _condition_check(config: dict):
    for index, case in enumerate(_cases(config)):
        yield from _case_problems(index, case)
    yield from duplicate_problems(keyed(config.get("cases"), "id", "cases"), "case")
    yield from reserved_problems(keyed(config.get("cases"), "id", "cases"), ("else",))


def _condition_texts(config: dict):
    for index, case in enumerate(_cases(config)):
        for key in ("value", "value2"):
            if isinstance(case.get(key), str):
                yield (f"cases[{index}].{key}", case[key])


def _condition_expressions(config: dict):
    for index, case in enumerate(_cases(config)):
        if case.get("op") not in WITHOUT_LEFT and isinstance(case.get("left"), str):
            yield (f"cases[{index}].left", case["left"])


def _condition_summary(config: dict) -> str:
    cases = _cases(config)
    if not cases:
        return "No cases"
    first = cases[0]
    more = f" (+{len(cases) - 1})" if len(cases) > 1 else ""
    return f"{first.get('left') or 'contact'} {first.get('op')} {first.get('value', '')}".strip() + more


def _value(run, value):
    return run.render(value) if isinstance(value, str) else value


@node_type(
    "condition",
    ports=lambda config: [*ids(config.get("cases")), "else"],
    label="Condition",
    icon="🔀",
    description="Branch on the first case that matches, else the else port",
    category="logic",
    config_schema=obj({"cases": {"type": "array", "minItems": 1, "items": CASE}}, ("cases",)),
    required=("cases",),
    default_config={"cases": [{"id": "yes", "left": "message.text", "op": "contains_any", "value": "yes"}]},
    summary=_condition_summary,
    texts=_condition_texts,
    expressions=_condition_expressions,
    check=_condition_check,
)
def condition(run, node_id: str, config: dict):
    """Take the port of the first case (in order) whose test passes, else "else".

    `left` is an expression; `value` and `value2` are literals or templates. Operators: equals,
    not_equals, contains_any (any word of value, space or comma separated, is a word of left),
    starts_with, regex, lt, lte, gt, gte, between (value <= left <= value2), empty, not_empty,
    in_list (left equals one of value's comma-separated items), has_tag (the contact has tag value).

        {"id": "route", "type": "condition",
         "config": {"cases": [{"id": "vip", "op": "has_tag", "value": "vip"},
                              {"id": "adult", "left": "contact.fields.age", "op": "gte", "value": 18}]}}
    """
    for case in config.get("cases") or []:
        op = case["op"]
        left = None if op in WITHOUT_LEFT else run.evaluate(case.get("left") or "none")
        try:
            matched = matches(
                op, left, _value(run, case.get("value")), _value(run, case.get("value2")), run.contact["tags"]
            )
        except re.error as exc:
            raise NodeFailure(f"case {case.get('id')!r}: not a valid regular expression: {exc}") from None
        if matched:
            return case["id"]
    return "else"


@node_type(
    "set_variable",
    ports=("next",),
    label="Set variable",
    icon="📝",
    description="Save a value (a template) in a run variable",
    category="logic",
    config_schema=obj({"name": VARIABLE, "value": text(MAX_TEXT)}, ("name", "value")),
    required=("name",),
    default_config={"name": "result", "value": ""},
    summary=lambda config: f"vars.{config.get('name') or '?'} = {quote(config.get('value'), 30)}",
    texts=lambda config: [("value", config["value"])] if isinstance(config.get("value"), str) else [],
)
def set_variable(run, node_id: str, config: dict):
    """Render `value` and save it as vars[name] (text; use filters like `| int` where a number is compared).

    {"id": "greet", "type": "set_variable",
     "config": {"name": "greeting", "value": "Hello {{ contact.name | title }}"}}
    """
    run.vars[config["name"]] = run.render(config.get("value"))
    return "next"


def _split_check(config: dict):
    branches = config.get("branches") if isinstance(config.get("branches"), list) else []
    weights = [b.get("weight") for b in branches if isinstance(b, dict)]
    if weights and all(isinstance(w, int | float) for w in weights) and sum(weights) <= 0:
        yield ("error", "branches", "at least one branch needs a weight above 0")
    yield from duplicate_problems(keyed(branches, "id", "branches"), "branch")


BRANCH = obj({"id": ID, "weight": {"type": "number", "minimum": 0}}, ("id", "weight"))


@node_type(
    "random_split",
    ports=lambda config: ids(config.get("branches")),
    label="Random split",
    icon="🎲",
    description="Send contacts down weighted random branches (A/B tests)",
    category="logic",
    config_schema=obj(
        {"branches": {"type": "array", "minItems": 2, "maxItems": 10, "items": BRANCH}}, ("branches",)
    ),
    required=("branches",),
    default_config={"branches": [{"id": "a", "weight": 50}, {"id": "b", "weight": 50}]},
    summary=lambda config: " / ".join(
        f"{b.get('id')} {b.get('weight')}" for b in config.get("branches") or [] if isinstance(b, dict)
    ),
    check=_split_check,
)
def random_split(run, node_id: str, config: dict):
    """Take one branch at random, in proportion to the weights; reproducible from context["random"].

    {"id": "ab", "type": "random_split",
     "config": {"branches": [{"id": "a", "weight": 70}, {"id": "b", "weight": 30}]}}
    """
    branches = config.get("branches") or []
    total = sum(branch["weight"] for branch in branches)
    if total <= 0:
        raise NodeFailure("every branch has weight 0")
    draw = run.draw()
    point, reached = draw * total, 0.0
    for branch in branches:
        reached += branch["weight"]
        if point < reached:
            break
    run.note(node_id, "random", {"draw": draw, "branch": branch["id"]})
    return branch["id"]
