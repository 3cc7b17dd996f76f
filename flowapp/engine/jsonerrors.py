"""jsonschema's errors, said the way the editor shows them: a field path and a short sentence."""

from __future__ import annotations

from collections.abc import Iterable

from jsonschema import ValidationError

_TYPE_NAMES = {
    "string": "a text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def field_path(parts: Iterable) -> str | None:
    """["buttons", 1, "title"] -> "buttons[1].title"; [] -> None."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _type_message(expected: object) -> str:
    kinds = expected if isinstance(expected, list) else [expected]
    return "must be " + " or ".join(_TYPE_NAMES.get(kind, kind) for kind in kinds)


def describe(error: ValidationError) -> tuple[list, str]:
    """The path (relative to the validated instance) and a readable message for one error."""
    path = list(error.absolute_path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = next((key for key in expected if key not in instance), "?")
        return [*path, missing], "is required"
    if kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(key for key in instance if key not in known)
        return path, "unknown setting " + ", ".join(repr(key) for key in extra)
    messages = {
        "maxLength": lambda: f"at most {_plural(expected, 'character')}, not {len(instance)}",
        "minLength": lambda: "must not be empty" if expected == 1 else f"at least {expected} characters",
        "maxItems": lambda: f"at most {_plural(expected, 'item')}, not {len(instance)}",
        "minItems": lambda: f"at least {_plural(expected, 'item')}",
        "enum": lambda: "must be one of: " + ", ".join(str(value) for value in expected),
        "const": lambda: f"must be {expected!r}",
        "type": lambda: _type_message(expected),
        "minimum": lambda: f"must be at least {expected}",
        "maximum": lambda: f"must be at most {expected}",
        "pattern": lambda: f"{instance!r} is not valid: " + error.schema.get("description", "wrong format"),
    }
    build = messages.get(kind)
    return path, build() if build else error.message
