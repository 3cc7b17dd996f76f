"""Typed custom fields (engine/fields.py): each type with values that fit and values that do not, and
the validator's check of Update contact's literal values against the host's declarations."""

from __future__ import annotations

from datetime import date

import pytest

from flowapp.engine import validate
from flowapp.engine.fields import FIELD_TYPES, coerce, fits, is_literal
from flowapp.models import FIELD_TYPES as MODEL_TYPES
from tests.engine.helpers import graph, node

CHOICE = {"type": "choice", "choices": ["Gold", "Silver", "Bronze"]}

# (spec, given, stored)
FITS = [
    ({"type": "text"}, "  hello ", "hello"),
    ({"type": "text"}, 42, "42"),
    ({"type": "text"}, "x" * 1000, "x" * 1000),
    ({"type": "number"}, "12", 12),
    ({"type": "number"}, " -3.5 ", -3.5),
    ({"type": "number"}, "+7", 7),
    ({"type": "number"}, ".5", 0.5),
    ({"type": "number"}, 2.25, 2.25),
    ({"type": "number"}, 10, 10),
    ({"type": "number"}, "999999999999999", 999999999999999),
    ({"type": "date"}, "2026-12-07", "2026-12-07"),
    ({"type": "date"}, " 2024-02-29 ", "2024-02-29"),
    ({"type": "date"}, date(2026, 1, 2), "2026-01-02"),
    (CHOICE, "gold", "Gold"),
    (CHOICE, "  SILVER ", "Silver"),
    ({"type": "choice", "choices": ["1", "2"]}, 2, "2"),
    ({"type": "number"}, "", None),
    ({"type": "date"}, "   ", None),
    (CHOICE, None, None),
]

# (spec, given, a piece of the reason)
MISFITS = [
    ({"type": "text"}, "x" * 1001, "at most 1000 characters"),
    ({"type": "text"}, True, "must be text"),
    ({"type": "text"}, ["a"], "must be text"),
    ({"type": "number"}, "twelve", "is not a number"),
    ({"type": "number"}, "1,5", "decimals with a dot"),
    ({"type": "number"}, "1,500", "no thousands separators"),
    ({"type": "number"}, "1 000", "is not a number"),
    ({"type": "number"}, "1e3", "is not a number"),
    ({"type": "number"}, "nan", "is not a number"),
    ({"type": "number"}, float("inf"), "finite"),
    ({"type": "number"}, True, "not true/false"),
    ({"type": "number"}, "1000000000000000", "at most 15 digits"),
    ({"type": "number"}, {"a": 1}, "must be a number"),
    ({"type": "date"}, "07/12/2026", "YYYY-MM-DD"),
    ({"type": "date"}, "20261207", "YYYY-MM-DD"),
    ({"type": "date"}, "2026-02-30", "not a day of the calendar"),
    ({"type": "date"}, 20261207, "YYYY-MM-DD"),
    (CHOICE, "Platinum", "not one of the choices: Gold, Silver, Bronze"),
    (CHOICE, False, "must be one of"),
]


@pytest.mark.parametrize(("spec", "given", "stored"), FITS, ids=lambda v: repr(v)[:30])
def test_a_value_that_fits_is_stored_in_the_types_form(spec, given, stored):
    """Good values come back in the form that is stored (numbers as numbers, choices as declared)."""
    value = coerce(spec, given)
    assert value == stored and type(value) is type(stored)
    assert fits(spec, given)


@pytest.mark.parametrize(("spec", "given", "reason"), MISFITS, ids=lambda v: repr(v)[:30])
def test_a_value_that_does_not_fit_is_refused_with_a_reason(spec, given, reason):
    """Bad values raise ValueError saying why, for people."""
    with pytest.raises(ValueError) as caught:
        coerce(spec, given)
    assert reason in str(caught.value)
    assert not fits(spec, given)


def test_the_engine_and_the_model_know_the_same_types():
    """The model's FIELD_TYPES (what Settings offers) are the types the engine can read."""
    assert tuple(FIELD_TYPES) == tuple(MODEL_TYPES)


@pytest.mark.parametrize(
    ("text", "literal"), [("12", True), ("{{ vars.age }}", False), ("{% if x %}1{% endif %}", False)]
)
def test_is_literal(text, literal):
    """Only text without template syntax is checked before the run."""
    assert is_literal(text) is literal


TYPES = {"age": {"type": "number"}, "plan": CHOICE, "due": {"type": "date"}}

# (fields of an Update contact node, the issues expected as (field, piece of the message))
LITERALS = [
    ({"age": "12", "plan": "gold", "due": "2026-01-31"}, []),
    ({"age": "{{ message.text }}", "plan": "{{ vars.plan }}"}, []),
    ({"age": "twelve"}, [("fields.age", "the number field 'age': 'twelve' is not a number")]),
    ({"plan": "Platinum"}, [("fields.plan", "not one of the choices")]),
    ({"due": "31/01/2026", "note": "anything"}, [("fields.due", "YYYY-MM-DD")]),
]


@pytest.mark.parametrize(("fields", "expected"), LITERALS, ids=lambda v: repr(v)[:40])
def test_update_contacts_literal_values_are_checked_against_declared_types(fields, expected):
    """A literal value that would never fit its declared type is an error naming node and field."""
    document = graph([node("save", "update_contact", fields=fields)], [["start", "next", "save"]])
    known = {"field_types": TYPES, "fields": {"name", "age", "plan", "due", "note"}}
    issues = [i for i in validate(document, None, known) if i.level == "error"]
    assert [(i.node, i.field) for i in issues] == [("save", field) for field, _ in expected]
    for issue, (_, piece) in zip(issues, expected, strict=True):
        assert piece in issue.message


def test_without_declarations_literals_are_not_checked():
    """A host that passes no field_types gets the old, untyped behaviour."""
    document = graph([node("save", "update_contact", fields={"age": "twelve"})], [["start", "next", "save"]])
    assert [i for i in validate(document) if i.level == "error"] == []
