"""Message text and expressions: one shared Jinja2 sandbox, each source compiled once.

WhatsApp messages are plain text, so autoescaping is off. A missing name renders as an empty
string (ChainableUndefined: `{{ vars.order.id }}` is "" when there is no order) because a
half-filled greeting is better than a run that fails on a contact without a name. The sandbox is the
immutable one: a template can read `contact` and `vars` but never change them, and reaching for
Python internals (`{{ ''.__class__ }}`) fails the render instead of quietly printing nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

# Bounds on what one expression may build: "x" * 10**9 would take the worker's memory.
MAX_REPEAT = 100_000
MAX_EXPONENT = 100


class TemplateFailure(Exception):
    """A template or expression that does not compile or fails while rendering."""

    def __init__(self, node_id: str | None, message: str):
        super().__init__(message)
        self.node_id = node_id
        self.message = message

    def __str__(self) -> str:
        return f"node {self.node_id}: {self.message}" if self.node_id else self.message


class _Missing(ChainableUndefined):
    """A missing name: prints as "", and `| int` / `| float` make it 0, as they do an empty text."""

    __slots__ = ()

    def __int__(self) -> int:
        return 0

    def __float__(self) -> float:
        return 0.0


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def unsafe_undefined(self, obj, attribute):
        # Jinja's default returns an Undefined that prints as "": a probe would go unnoticed.
        raise SecurityError(f"access to {attribute!r} of {type(obj).__name__!r} is not allowed")

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(count, int):
                    if len(sequence) * count > MAX_REPEAT:
                        raise SecurityError("the repeated text would be too long")
        return super().call_binop(context, operator, left, right)


def _as_date(value: object) -> date | datetime | None:
    if isinstance(value, date):  # datetime is a date too
        return value
    if value is None or isinstance(value, Undefined) or value == "":
        return None
    if isinstance(value, str):
        try:
            return (
                datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
            )
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD or an ISO date-time)")


def date_filter(value: object, fmt: str = "%Y-%m-%d", tz: str | None = None) -> str:
    """`{{ contact.birthday | date("%d/%m") }}`: format a date, datetime or ISO string; "" for nothing.

    With `tz` ("Europe/Madrid"), an aware date-time is shown in that time zone first.
    """
    parsed = _as_date(value)
    if parsed is None:
        return ""
    if tz and isinstance(parsed, datetime) and parsed.tzinfo is not None:
        parsed = parsed.astimezone(ZoneInfo(tz))
    return parsed.strftime(fmt)


ENV = _Sandbox(autoescape=False, undefined=_Missing, keep_trailing_newline=True)
ENV.filters["date"] = date_filter


def _without_globals(template):
    # scope() already holds the globals; an empty mapping here spares every render iterating
    # Jinja's ChainMap of them when it builds the context.
    template.globals = {}
    return template


@lru_cache(maxsize=4096)
def _template(source: str):
    return _without_globals(ENV.from_string(source))


@lru_cache(maxsize=4096)
def _expression(source: str):
    """A function of the names, like TemplateExpression.__call__ but without copying them."""
    # compile_expression parses exactly one expression (nothing can close the tag and add
    # statements); its template assigns the value to "result".
    template = _without_globals(ENV.compile_expression(source)._template)

    def value(names: dict):
        context = template.new_context(names, shared=True)
        for _ in template.root_render_func(context):
            pass
        result = context.vars["result"]
        return None if isinstance(result, Undefined) else result

    return value


def _describe(exc: Exception) -> str:
    if isinstance(exc, TemplateSyntaxError):
        return f"line {exc.lineno}: {exc.message}"
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    return f"{type(exc).__name__}: {exc}"


def scope(context: dict) -> dict:
    """The names templates see: Jinja's globals (range, dict, namespace...) and `context`.

    Built once per run, so rendering need not merge the globals in again at every step (that merge
    was most of a short template's cost).
    """
    return {**ENV.globals, **context}


def render_in(template_str: str, names: dict) -> str:
    """render() with names from scope(). Raises TemplateFailure."""
    if "{" not in template_str:  # nothing Jinja could act on: skip it (most texts, most steps)
        return template_str
    try:
        template = _template(template_str)
        # Template.render() without copying `names` (shared=True): the context only reads them.
        return ENV.concat(template.root_render_func(template.new_context(names, shared=True)))
    except Exception as exc:  # a template is user code: any error it raises is the template's
        raise TemplateFailure(None, _describe(exc)) from None


def render(template_str: str, context: dict) -> str:
    """Render message text like "Hi {{ contact.name }}!" with `context`. Raises TemplateFailure."""
    return render_in(template_str, scope(context))


def strip_braces(expression: str) -> str:
    """`{{ vars.x }}` -> `vars.x`: authors write conditions both ways."""
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}") and text.count("{{") == 1:
        return text[2:-2].strip()
    return text


def evaluate_in(expression: str, names: dict):
    """evaluate() with names from scope(). Raises TemplateFailure."""
    try:
        return _expression(strip_braces(expression))(names)
    except Exception as exc:  # see render_in()
        raise TemplateFailure(None, _describe(exc)) from None


def evaluate(expression: str, context: dict):
    """The value of an expression like `contact.fields.age | int` (not rendered to text).

    Undefined names give None. Raises TemplateFailure.
    """
    return evaluate_in(expression, scope(context))


def compile_check(template_str: str) -> str | None:
    """A readable syntax error in message text, or None when it compiles."""
    try:
        _template(template_str)
    except TemplateSyntaxError as exc:
        return _describe(exc)
    return None


def expression_check(expression: str) -> str | None:
    """A readable syntax error in an expression, or None when it compiles."""
    if not strip_braces(expression):
        return "an expression is required"
    try:
        _expression(strip_braces(expression))
    except TemplateSyntaxError as exc:
        return _describe(exc)
    return None
