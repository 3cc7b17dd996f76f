"""Triggers: validation, keyword matching in every mode (case- and accent-insensitive), priority."""

from __future__ import annotations

import pytest

from flowapp.engine import (
    TRIGGER_TYPES,
    keyword_matches,
    match_order,
    match_priority,
    normalize,
    validate_trigger,
)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("  Menú   DEL  Día ", "menu del dia"),
        ("ÇA VA", "ca va"),
        ("Straße", "strasse"),
        ("ﬁn", "fin"),
        (None, ""),
        (42, "42"),
    ],
)
def test_normalize(text, expected):
    """casefold, accents stripped, whitespace collapsed."""
    assert normalize(text) == expected


def kw(mode: str, *keywords: str) -> dict:
    return {"type": "keyword", "keywords": list(keywords), "match": mode}


@pytest.mark.parametrize(
    "trigger,text,expected",
    [
        (kw("exact", "menu"), "menu", True),
        (kw("exact", "menu"), "  MENÚ! ", True),
        (kw("exact", "menu"), "menu please", False),
        (kw("exact", "buenos días"), "Buenos Dias", True),
        (kw("first_word", "hola"), "Hola, quiero pedir", True),
        (kw("first_word", "hola"), "¡HÓLA!", True),
        (kw("first_word", "hola"), "digo hola", False),
        (kw("first_word", "hola"), "holanda", False),
        (kw("starts_with", "menu"), "Menús del día", True),
        (kw("starts_with", "menu"), "el menu", False),
        (kw("contains", "precio"), "¿Cuál es el PRECIO?", True),
        (kw("contains", "precio"), "preciosa", False),
        (kw("contains", "de verdad"), "es de verdad?", True),
        (kw("regex", r"^pedido\s*#?\d+$"), "Pedido #123", True),
        (kw("regex", r"\b(agent|human)\b"), "I want a HUMAN please", True),
        (kw("regex", r"cafe"), "Café con leche", True),
        (kw("regex", r"(("), "((", False),
        (kw("exact", "menu", "carta"), "Carta", True),
        ({"type": "keyword", "keywords": ["hola"]}, "hola amigo", True),
        (kw("exact", "menu"), "", False),
        (kw("exact", "menu"), None, False),
        ({"type": "any_message"}, "menu", False),
    ],
)
def test_keyword_matches(trigger, text, expected):
    """Each mode, with accents and case ignored; first_word is the default mode."""
    assert keyword_matches(trigger, text) is expected


def test_priority_is_documented_order():
    """exact > first_word > starts_with > contains > regex > new_contact > any_message > the rest."""
    ordered = [
        kw("exact", "x"),
        kw("first_word", "x"),
        kw("starts_with", "x"),
        kw("contains", "x"),
        kw("regex", "x"),
        {"type": "new_contact"},
        {"type": "any_message"},
        {"type": "schedule", "cron": "0 9 * * *"},
    ]
    ranks = [match_priority(trigger) for trigger in ordered]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
    assert match_priority({"type": "keyword", "keywords": ["x"]}) == match_priority(kw("first_word", "x"))


def test_match_order_breaks_ties_by_priority_then_id():
    """Sorting by match_order puts the winner first: rank, then higher priority, then lower id."""
    candidates = [
        (kw("contains", "x"), 9, 1),
        (kw("exact", "x"), 0, 5),
        (kw("exact", "x"), 0, 3),
        (kw("exact", "x"), 2, 8),
    ]
    ordered = sorted(candidates, key=lambda c: match_order(*c))
    assert [c[2] for c in ordered] == [8, 3, 5, 1]


VALID = [
    {"type": "any_message"},
    {"type": "keyword", "keywords": ["menu", "hola"], "match": "exact", "interrupts": True},
    {"type": "new_contact"},
    {"type": "date_field", "field": "birthday", "offset_days": -1, "time": "09:00", "timezone": "contact"},
    {"type": "schedule", "cron": "0 9 * * 1", "audience": {"tags": ["vip"], "fields": {"city": "Lima"}}},
    {"type": "schedule", "at": "2026-12-24T09:00"},
    {"type": "manual"},
    {"type": "manual", "audience": {"tags": ["beta"]}},
]


@pytest.mark.parametrize("trigger", VALID)
def test_valid_triggers(trigger):
    """Every trigger type in its documented shape validates clean."""
    assert validate_trigger(trigger) == []


def test_every_type_is_covered():
    """The list of valid examples covers TRIGGER_TYPES."""
    assert {t["type"] for t in VALID} == set(TRIGGER_TYPES)


@pytest.mark.parametrize(
    "trigger,field,fragment",
    [
        (None, "trigger", "a trigger is required"),
        ({"type": "telepathy"}, "trigger.type", "must be one of"),
        ({"type": "keyword"}, "trigger.keywords", "is required"),
        ({"type": "keyword", "keywords": []}, "trigger.keywords", "at least 1 item"),
        ({"type": "keyword", "keywords": ["x"], "match": "fuzzy"}, "trigger.match", "must be one of"),
        (
            {"type": "keyword", "keywords": ["ok", "(("], "match": "regex"},
            "trigger.keywords[1]",
            "regular expression",
        ),
        ({"type": "schedule"}, "trigger.cron", "either a cron expression or a date-time"),
        ({"type": "schedule", "cron": "0 9 * * 1", "at": "2026-01-01T09:00"}, "trigger.cron", "not both"),
        ({"type": "schedule", "cron": "0 25 * * *"}, "trigger.cron", "hour: '25' is outside 0-23"),
        ({"type": "schedule", "at": "next tuesday"}, "trigger.at", "date and time"),
        ({"type": "date_field", "field": "birthday", "time": "9am"}, "trigger.time", "HH:MM"),
        (
            {"type": "date_field", "field": "birthday", "offset_days": 400},
            "trigger.offset_days",
            "at most 365",
        ),
        ({"type": "any_message", "keywords": ["x"]}, "trigger", "unknown setting 'keywords'"),
    ],
)
def test_invalid_triggers(trigger, field, fragment):
    """Each problem names the trigger's field."""
    issues = validate_trigger(trigger)
    assert any(i.field == field and fragment in i.message and i.level == "error" for i in issues), issues


def test_unknown_date_fields_warn_when_fields_are_known():
    """A date_field on a field that does not exist is a warning; birthday always exists."""
    trigger = {"type": "date_field", "field": "anniversary"}
    assert validate_trigger(trigger) == []
    warned = validate_trigger(trigger, {"fields": {"city"}})
    assert [(i.level, i.field) for i in warned] == [("warning", "trigger.field")]
    assert validate_trigger({"type": "date_field", "field": "birthday"}, {"fields": set()}) == []
