"""Message text and expressions: Jinja2's sandbox, plain text, empty for missing names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from flowapp.engine import TemplateFailure
from flowapp.engine.templating import _template, compile_check, evaluate, expression_check, render

CONTEXT = {
    "contact": {"name": "ana lópez", "fields": {"city": "Lima"}, "tags": ["vip"], "birthday": "1990-05-17"},
    "vars": {"n": 3, "order": {"id": "A-1"}},
    "message": {"text": "hola"},
    "trigger": {"type": "keyword"},
    "now": datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
}


@pytest.mark.parametrize(
    "source,expected",
    [
        ("Hi {{ contact.name }}", "Hi ana lópez"),
        (
            "{{ contact.name | title }} / {{ contact.name | upper }} / {{ 'ABC' | lower }}",
            "Ana López / ANA LÓPEZ / abc",
        ),
        (
            "{{ contact.fields.city }} {{ vars.order.id }} {{ message.text }} {{ trigger.type }}",
            "Lima A-1 hola keyword",
        ),
        ("[{{ contact.fields.missing }}][{{ vars.a.b.c }}][{{ nothing }}]", "[][][]"),
        ("{{ vars.missing | default('friend') }}", "friend"),
        ("{{ vars.missing | int + 1 }} {{ vars.missing | float }}", "1 0.0"),
        ("{{ contact.birthday | date('%d/%m') }}", "17/05"),
        ("{{ now | date('%H:%M', 'Europe/Madrid') }}", "11:00"),
        ("{{ vars.n + 1 }}{% if 'vip' in contact.tags %} VIP{% endif %}", "4 VIP"),
        ("<b>Tom & Jerry</b>", "<b>Tom & Jerry</b>"),
        ("{{ '<b>&' }}", "<b>&"),
        ("no braces at all", "no braces at all"),
        ("line\n", "line\n"),
    ],
)
def test_render(source, expected):
    """Names, filters, missing names as empty text, no HTML escaping, trailing newlines kept."""
    assert render(source, CONTEXT) == expected


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact['__class__'] }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ vars.update({'x': 1}) }}",
        "{{ contact.tags.append('hacked') }}",
        "{{ 'x' * 1000000 }}",
        "{{ 2 ** 100000 }}",
    ],
)
def test_the_sandbox_refuses_internals_and_changes(source):
    """Reaching for Python internals, mutating the context or building huge values fails the render."""
    with pytest.raises(TemplateFailure):
        render(source, CONTEXT)
    assert CONTEXT["vars"] == {"n": 3, "order": {"id": "A-1"}}
    assert CONTEXT["contact"]["tags"] == ["vip"]


@pytest.mark.parametrize(
    "source", ["{{ 1 / 0 }}", "{{ contact.name | date }}", "{{ vars.n | nofilter }}", "{% if %}"]
)
def test_errors_are_template_failures(source):
    """Runtime and syntax errors come out as TemplateFailure with a readable message."""
    with pytest.raises(TemplateFailure) as caught:
        render(source, CONTEXT)
    assert caught.value.message
    assert caught.value.node_id is None


def test_failure_names_its_node():
    """str(TemplateFailure) says which node failed when it is known."""
    assert str(TemplateFailure("hello", "boom")) == "node hello: boom"
    assert str(TemplateFailure(None, "boom")) == "boom"


@pytest.mark.parametrize(
    "expression,expected",
    [
        ("vars.n", 3),
        ("{{ vars.n }}", 3),
        ("vars.n * 2 > 5", True),
        ("contact.tags", ["vip"]),
        ("vars.missing", None),
        ("contact.fields.city | lower", "lima"),
        ("'vip' in contact.tags", True),
    ],
)
def test_evaluate_returns_values(expression, expected):
    """Expressions give Python values (not text); missing names give None; braces are optional."""
    assert evaluate(expression, CONTEXT) == expected


def test_evaluate_refuses_internals():
    """The sandbox applies to expressions too."""
    with pytest.raises(TemplateFailure):
        evaluate("contact.__class__", CONTEXT)


def test_compile_check():
    """Syntax errors and unknown filters are found without rendering; valid templates give None."""
    assert compile_check("Hi {{ contact.name }}") is None
    assert compile_check("Hi {{ contact.name ").startswith("line 1:")
    assert "No filter named 'shout'" in compile_check("{{ x | shout }}")
    assert compile_check("{% for x in y %}") is not None
    assert expression_check("contact.name ==") is not None
    assert expression_check("contact.name == 'x'") is None
    assert expression_check("  ") == "an expression is required"


def test_templates_are_compiled_once():
    """The same source is compiled once and reused (an LRU cache keyed by the source)."""
    source = "cached {{ vars.n }} " + str(id(CONTEXT))
    render(source, CONTEXT)
    hits = _template.cache_info().hits
    render(source, CONTEXT)
    assert _template.cache_info().hits == hits + 1


def test_date_filter_accepts_dates_and_empties():
    """date() takes date objects, ISO strings and nothing."""
    context = {"d": date(2026, 1, 2), "empty": ""}
    assert render("{{ d | date('%Y') }}|{{ empty | date }}|{{ missing | date }}", context) == "2026||"
