"""Strict JSON in and out: what Flowapp accepts from clients, and what it answers.

Every JSON body (the API, the editor's saves, the webhook injection) is read here, so each class of
bad input gets the same clear 400 everywhere and a new endpoint cannot forget one:
- not JSON, or not an object;
- NaN and Infinity (Python's json accepts them; browsers' JSON.parse does not, and they would come
  back out in responses);
- text no database can store: NUL characters, and lone surrogates (not valid Unicode);
- nesting deeper than MAX_DEPTH (the decoder would otherwise hit Python's recursion limit).
The limits are documented in docs/api.md ("Limits"). Answers are strict JSON too
(StrictJSONProvider): a non-finite number in a response is a bug to fix, not something to send.
"""

from __future__ import annotations

import json

from flask import Request
from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


class BadJSON(ValueError):
    """The body is not JSON Flowapp accepts; the message says why, naming the place."""


def read_object(request: Request) -> dict:
    """The request's JSON object, or BadJSON."""
    if not request.is_json:
        raise BadJSON("Send a JSON object with Content-Type: application/json.")
    data = parse(request.get_data(cache=True))
    if not isinstance(data, dict):
        raise BadJSON("Send a JSON object.")
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
                if (reason := _bad_text(key)) is not None:
                    return f"A key in {path} {reason}."
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{n}]", depth + 1) for n, item in enumerate(value))
        elif isinstance(value, str) and (reason := _bad_text(value)) is not None:
            return f"{path} {reason}."
    return None


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing NaN and Infinity both ways."""

    def dumps(self, obj, **kwargs) -> str:
        kwargs.setdefault("allow_nan", False)
        return super().dumps(obj, **kwargs)

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _refuse_constant)
        return super().loads(s, **kwargs)
