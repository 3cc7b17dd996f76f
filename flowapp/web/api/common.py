"""What every API view shares: the error shape, reading JSON bodies and query parameters, pages."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy import Select
from werkzeug.routing import BaseConverter, ValidationError

from flowapp.extensions import db
from flowapp.web.api import bodies
from flowapp.web.strict_json import BadJSON, read_object

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# Ids are 32-bit integers on PostgreSQL; a larger number names no row (and must not reach the driver).
MAX_ID = 2**31 - 1


class IdConverter(BaseConverter):
    """`<id:name>`: a row id, 1 to MAX_ID; anything else matches no route (404)."""

    regex = r"[1-9][0-9]{0,9}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def is_id(value) -> bool:
    """Whether a JSON value is a possible row id."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


class ApiError(Exception):
    """Raised by a view to answer {"error": {"code", "message", ...}} with `status`."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def api_error(status: int, code: str, message: str, **extra: Any):
    """The API's one error shape: {"error": {"code", "message"}}, plus "field" or "issues" when known."""
    body = {"code": code, "message": message}
    body.update({key: value for key, value in extra.items() if value is not None})
    response = jsonify(error=body)
    response.status_code = status
    return response


def json_body() -> dict:
    """The request's JSON object, checked against the OpenAPI document's schema for this endpoint,
    or ApiError 400 saying what is wrong (web/strict_json.py, web/api/bodies.py)."""
    try:
        data = read_object(request)
    except BadJSON as exc:
        raise ApiError(400, "invalid_json", str(exc)) from None
    try:
        bodies.check(request.url_rule.rule, request.method, data)
    except bodies.BodyError as exc:
        raise ApiError(400, "invalid_request", f"{exc.field} {exc.reason}.", field=exc.field) from None
    return data


def int_arg(name: str, default: int | None = None, *, minimum: int = 0, maximum: int = MAX_ID):
    """An integer query parameter within bounds, or ApiError 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name} must be a whole number.", field=name) from None
    if value < minimum or value > maximum:
        bounds = f"between {minimum} and {maximum}"
        raise ApiError(400, "invalid_parameter", f"{name} must be {bounds}.", field=name)
    return value


def time_arg(name: str) -> datetime | None:
    """An ISO 8601 date or time query parameter (UTC when it names no zone), or ApiError 400."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise ApiError(
            400,
            "invalid_parameter",
            f"{name} must be an ISO 8601 time like 2026-01-31T09:00:00Z.",
            field=name,
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def choice_arg(name: str, choices: tuple[str, ...]) -> str | None:
    """A query parameter that must be one of `choices` (None when absent), or ApiError 400."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise ApiError(400, "invalid_parameter", f"{name} must be one of {', '.join(choices)}.", field=name)
    return raw


def encode_cursor(last_id: int) -> str:
    """The opaque cursor of the page after the row `last_id`."""
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor stands for, or ApiError 400 for one this API did not hand out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(400, "invalid_cursor", "cursor is not one this API handed out; start again without it.")


def paginate(query: Select, id_column, serialize, **view_args):
    """One page of `query`, newest (highest id) first: {"data": [...], "next": url or null}.

    Keyset pagination on the id, so that rows added meanwhile never shift a page; `cursor` is opaque.
    """
    limit = int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    cursor = request.args.get("cursor")
    if cursor:
        query = query.where(id_column < decode_cursor(cursor))
    rows = list(db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args.update(view_args)
        next_url = url_for(request.endpoint, **args, cursor=encode_cursor(rows[-1].id), _external=False)
    return jsonify(data=[serialize(row) for row in rows], next=next_url)


def iso(value: datetime | None) -> str | None:
    """A UTC time as ISO 8601 with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
