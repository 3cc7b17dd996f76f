"""The condition operators, directly."""

from __future__ import annotations

import pytest

from flowapp.engine.conditions import OPERATORS, matches


@pytest.mark.parametrize(
    "op,left,value,value2,expected",
    [
        ("equals", "Lima", "LIMA", None, True),
        ("equals", "Perú", "peru", None, True),
        ("equals", "12", 12, None, True),
        ("equals", 12.0, "12", None, True),
        ("equals", "nan", "nan", None, True),
        ("equals", None, "", None, True),
        ("not_equals", "a", "b", None, True),
        ("contains_any", "quiero el menú", "carta, menu", None, True),
        ("contains_any", "menus", "menu", None, False),
        ("contains_any", ["si", "no"], "si", None, True),
        ("starts_with", "Hola qué tal", "hola", None, True),
        ("starts_with", "Hola", "", None, False),
        ("regex", "Pedido 123", r"pedido \d+", None, True),
        ("lt", "3", 10, None, True),
        ("lt", "abc", 10, None, False),
        ("lte", 10, "10", None, True),
        ("gt", "2026-03-02", "2026-01-01", None, True),
        ("gte", "7,5", 7.5, None, True),
        ("between", 5, 1, 10, True),
        ("between", 11, 1, 10, False),
        ("between", "x", 1, 10, False),
        ("empty", "   ", None, None, True),
        ("empty", [], None, None, True),
        ("empty", 0, None, None, False),
        ("not_empty", "x", None, None, True),
        ("in_list", "Cusco", "lima, cusco", None, True),
        ("in_list", "cus", "lima, cusco", None, False),
        ("in_list", "b", ["a", "B"], None, True),
    ],
)
def test_operators(op, left, value, value2, expected):
    """Each operator on text, numbers, dates and lists."""
    assert matches(op, left, value, value2) is expected


def test_has_tag_ignores_case_and_accents():
    """has_tag looks in the contact's tags."""
    assert matches("has_tag", None, "VIP", tags=["vip", "lead"]) is True
    assert matches("has_tag", None, "cliente", tags=["Clienté"]) is True
    assert matches("has_tag", None, "vip", tags=[]) is False


def test_every_operator_is_known():
    """matches() handles every listed operator and refuses others."""
    for op in OPERATORS:
        matches(op, "1", "1", "2", tags=[])
    with pytest.raises(ValueError):
        matches("approximately", 1, 1)
