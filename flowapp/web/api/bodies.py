"""Request bodies checked against the OpenAPI document before any rule of the endpoint runs.

The document (web/api/spec.py) already says what each endpoint takes; checking bodies against it
means a wrong type anywhere (`{"message": {"type": {}}}`, `{"contact_id": "abc"}`) is a 400 naming
the field, for every endpoint, and the documentation cannot drift from what is enforced.
"""

from __future__ import annotations

import re
from functools import cache

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


class BodyError(ValueError):
    """A body the document does not allow: `field` is its dotted path, `reason` what is wrong."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check(rule: str, method: str, body: dict) -> None:
    """Raise BodyError unless `body` is what the document says `method rule` takes."""
    validator = _validator(rule, method.lower())
    if validator is not None:
        check_with(validator, body)


def check_with(validator: Draft202012Validator, body: object) -> None:
    """Raise BodyError naming the field of the most relevant problem `validator` finds in `body`."""
    error = best_match(validator.iter_errors(body))
    if error is not None:
        field = ".".join(str(part) for part in error.absolute_path) or _missing(error) or "body"
        raise BodyError(field, _reason(error))


def _missing(error) -> str | None:
    """For "'x' is a required property", the field is x."""
    found = re.match(r"'([^']+)' is a required property", error.message)
    return found.group(1) if found else None


def _reason(error) -> str:
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"must be of type {expected}"
    if error.validator == "enum":
        return "must be one of " + ", ".join(str(v) for v in error.validator_value)
    if error.validator == "required":
        return "is required"
    return error.message[:300]


@cache
def _validator(rule: str, method: str) -> Draft202012Validator | None:
    from flowapp.web.api import spec  # the document module registers routes on the package's blueprint

    document = spec.document()
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)
    operation = document.get("paths", {}).get(path, {}).get(method) or {}
    if "schema" not in operation.get("requestBody", {}).get("content", {}).get("application/json", {}):
        return None
    # A reference into the whole document, so that the schema's own references (#/components/...)
    # resolve in it too.
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", path, method, "requestBody", "content", "application/json", "schema")
    )
    registry = Registry().with_resource(
        DOCUMENT, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{DOCUMENT}#/{pointer}"}, registry=registry)


DOCUMENT = "urn:flowapp:openapi"
