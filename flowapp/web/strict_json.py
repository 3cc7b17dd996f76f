"""Strict JSON in and out: what Flowapp accepts from clients, and what it answers.

Every JSON body (the API, the editor's saves, the webhook injection) is read here, so each class of
bad input gets the same clear 400 everywhere and a new endpoint cannot forget one:
- not JSON, or not an object;
- NaN and Infinity (Python's json accepts them; browsers' JSON.parse does not, and they would come
  back out in responses);
- text no database can store or no name should hold: NUL and the other control characters but
  tabs and line breaks, and lone surrogates (not valid Unicode); form fields and query arguments
  get the same rule (refuse_bad_form_text);
- nesting deeper than MAX_DEPTH (the decoder would otherwise hit Python's recursion limit).
The limits are documented in docs/api.md ("Limits"). Answers are strict JSON too
(StrictJSONProvider): a non-finite number in a response is a bug to fix, not something to send.
"""

from __future__ import annotations

import json
import re

from flask import Request, current_app, request
from flask.json.provider import DefaultJSONProvider
from jsonschema import Draft202012Validator
from werkzeug.datastructures import MultiDict

from flowapp.web.api.bodies import BodyError, check_with
from flowapp.web.errors import error_response

MAX_DEPTH = 32


class BadJSON(ValueError):
    """The body is not JSON Flowapp accepts; the message says why, naming the place."""


def takes(schema: dict):
    """Declare the JSON body a view outside the API takes (a JSON Schema): read_object() checks it,
    so a wrong type anywhere is a 400 naming the field before any of the view's rules run. (The
    API's bodies are checked against the OpenAPI document instead: web/api/bodies.py.)"""
    validator = Draft202012Validator(schema)

    def mark(view):
        view.body_schema = schema
        view.body_validator = validator
        return view

    return mark


def read_object(request: Request) -> dict:
    """The request's JSON object, checked against the view's declared body (takes), or BadJSON."""
    if not request.is_json:
        raise BadJSON("Send a JSON object with Content-Type: application/json.")
    data = parse(request.get_data(cache=True))
    if not isinstance(data, dict):
        raise BadJSON("Send a JSON object.")
    validator = getattr(current_app.view_functions.get(request.endpoint), "body_validator", None)
    if validator is not None:
        try:
            check_with(validator, data)
        except BodyError as exc:
            raise BadJSON(f"{exc.field} {exc.reason}.") from None
    return data


def parse(raw: str | bytes) -> object:
    """A JSON value Flowapp accepts (any type), or BadJSON."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadJSON(f"The JSON is nested more than {MAX_DEPTH} levels deep.") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJSON(f"The body is not valid JSON: {exc}") from None
    problem = unstorable(data)
    if problem is not None:
        raise BadJSON(problem)
    return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number; send a finite number or null")


def unstorable(data) -> str | None:
    """Why a decoded JSON document cannot be stored as it is, or None. Iterative: no recursion."""
    stack = [(data, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{path} is nested more than {MAX_DEPTH} levels deep."
        if isinstance(value, dict):
            for key, item in value.items():
                if (reason := bad_text(key)) is not None:
                    return f"A key in {path} {reason}."
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{n}]", depth + 1) for n, item in enumerate(value))
        elif isinstance(value, str) and (reason := bad_text(value)) is not None:
            return f"{path} {reason}."
    return None


def bad_text(text: str) -> str | None:
    """Why a client's text cannot be taken (NUL, another control character, a lone surrogate), or
    None. Tabs and line breaks are text; the other C0 controls are not, in a name or a message."""
    if "\x00" in text:
        return "contains a NUL character"
    if CONTROL.search(text):
        return "contains a control character (only tabs and line breaks are allowed)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f]")


def large_body(max_bytes: int):
    """Mark a view that takes bodies beyond MAX_CONTENT_LENGTH (file uploads): the limit is raised
    before anything reads the body, the form check below included."""

    def mark(view):
        view.max_body = max_bytes
        return view

    return mark


def raise_body_limit():
    """Before every other hook: a view marked with `large_body` gets its limit. It must come before
    CSRFProtect's hook, which reads the form (and would refuse a large upload with 413 first)."""
    limit = getattr(current_app.view_functions.get(request.endpoint), "max_body", None)
    if limit:
        request.max_content_length = limit


def refuse_bad_form_text():
    """Before every request: form fields and query arguments get the same rule as JSON text, so
    no form can store what PostgreSQL refuses (NUL) or what no name should hold."""
    # Only form bodies are parsed here: a JSON body (the webhook's, the API's) is read by its view.
    form = request.form if request.mimetype in FORM_TYPES else MultiDict()
    for source, values in (("form", form), ("query", request.args)):
        for key, value in values.items(multi=True):
            # A multipart part without a name or a text value (schemathesis sends them) has nothing
            # to check: werkzeug gives None there.
            reason = next((bad_text(t) for t in (key, value) if isinstance(t, str) and bad_text(t)), None)
            if reason is not None:
                return error_response(400, "invalid_text", f"The {source} field {key[:40]!r} {reason}.")
    return None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing NaN and Infinity both ways."""

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _refuse_constant)
        return super().loads(s, **kwargs)
