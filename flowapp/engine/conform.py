"""A fast yes/no answer to "does this instance satisfy this generated schema?".

jsonschema interprets a schema keyword by keyword, about 50 µs for one node's config, and the editor
validates a whole graph on every save. Nearly every node is valid, so the validator asks this module
first (schemas compiled to plain closures, a few µs) and runs jsonschema only for an instance that
fails here, to say what is wrong. It knows exactly the keywords the engine's generated schemas
use and refuses to compile any other; tests compare its answers with jsonschema's.
"""

from __future__ import annotations

import re
from collections.abc import Callable

SUPPORTED = frozenset(
    {
        "type",
        "enum",
        "const",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "items",
        "required",
        "properties",
        "additionalProperties",
        "propertyNames",
        "description",
    }
)
Check = Callable[[object], bool]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
}


def _equal(one: object, two: object) -> bool:
    # JSON Schema: true is not 1, but 1 is 1.0.
    if isinstance(one, bool) or isinstance(two, bool):
        return type(one) is type(two) and one == two
    return one == two


def _type_check(kinds: str | list[str]) -> Check:
    tests = [_TYPES[kind] for kind in (kinds if isinstance(kinds, list) else [kinds])]
    return tests[0] if len(tests) == 1 else lambda v: any(test(v) for test in tests)


def _enum_check(values: list) -> Check:
    if all(isinstance(value, str) for value in values):
        choices = frozenset(values)
        return lambda v: isinstance(v, str) and v in choices
    return lambda v: any(_equal(v, option) for option in values)


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    return lambda v: all(check(v) for check in checks)


def _string_checks(schema: dict) -> list[Check]:
    checks: list[Check] = []
    if "minLength" in schema:
        low = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= low)
    if "maxLength" in schema:
        high = schema["maxLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) <= high)
    if "pattern" in schema:
        search = re.compile(schema["pattern"]).search
        checks.append(lambda v: not isinstance(v, str) or search(v) is not None)
    return checks


def _number_checks(schema: dict) -> list[Check]:
    checks: list[Check] = []
    if "minimum" in schema:
        low = schema["minimum"]
        checks.append(lambda v: not _is_number(v) or v >= low)
    if "maximum" in schema:
        high = schema["maximum"]
        checks.append(lambda v: not _is_number(v) or v <= high)
    return checks


def _array_checks(schema: dict) -> list[Check]:
    checks: list[Check] = []
    if "minItems" in schema:
        low = schema["minItems"]
        checks.append(lambda v: not isinstance(v, list) or len(v) >= low)
    if "maxItems" in schema:
        high = schema["maxItems"]
        checks.append(lambda v: not isinstance(v, list) or len(v) <= high)
    if "items" in schema:
        item = compile_schema(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    return checks


def _object_check(schema: dict) -> Check | None:
    required = tuple(schema.get("required", ()))
    properties = {key: compile_schema(sub) for key, sub in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    extra_check = None if isinstance(extra, bool) else compile_schema(extra)
    names = compile_schema(schema["propertyNames"]) if "propertyNames" in schema else None
    if not (required or properties or extra is not True or names):
        return None

    def check(value: object) -> bool:
        if not isinstance(value, dict):
            return True
        if any(key not in value for key in required):
            return False
        for key, item in value.items():
            if names is not None and not names(key):
                return False
            sub = properties.get(key)
            if sub is not None:
                if not sub(item):
                    return False
            elif extra is False or (extra_check is not None and not extra_check(item)):
                return False
        return True

    return check


def compile_schema(schema: dict) -> Check:
    """A function telling whether an instance satisfies `schema` (booleans as schemas included)."""
    if isinstance(schema, bool):
        return lambda v: schema
    unknown = set(schema) - SUPPORTED
    if unknown:
        raise ValueError(f"conform does not support {sorted(unknown)}: validate with jsonschema")
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "const" in schema:
        constant = schema["const"]
        checks.append(lambda v: _equal(v, constant))
    checks += _string_checks(schema) + _number_checks(schema) + _array_checks(schema)
    object_check = _object_check(schema)
    if object_check is not None:
        checks.append(object_check)
    return _all(checks) if checks else (lambda v: True)
