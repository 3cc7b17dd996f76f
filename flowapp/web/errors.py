"""Error answers: JSON under /api and /webhooks, HTML pages elsewhere; never a trace or SQL."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from flowapp.extensions import db
from flowapp.web.requests_log import current_request_id

log = logging.getLogger("flowapp.errors")


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(StaleDataError, _stale)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unhandled)


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/webhooks/")) or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(status: int, code: str, message: str):
    """One error shape for JSON clients; a calm page for people."""
    if wants_json():
        response = jsonify(error={"code": code, "message": message})
        response.status_code = status
        return response
    template = "errors/error.html"
    return render_template(template, status=status, message=message, request_id=current_request_id()), status


def _code_name(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def _http_error(exc: HTTPException):
    if exc.code is None:
        return exc
    message = exc.description or exc.name
    response = error_response(exc.code, _code_name(exc), message)
    if exc.code == 405 and exc.valid_methods:
        response = _with_header(response, "Allow", ", ".join(exc.valid_methods))
    return response


def _csrf_error(exc: CSRFError):
    log.warning("CSRF check failed on %s %s: %s", request.method, request.path, exc.description)
    return error_response(
        400, "csrf_failed", "The form expired or came from another site. Reload and try again."
    )


def _stale(exc: StaleDataError):
    # A row with a revision (an automation) changed between this request's read and its write, and
    # the view did not expect it: the change is refused, never half-applied over the other one.
    db.session.rollback()
    log.info("conflicting write on %s %s: %s", request.method, request.path, exc)
    return error_response(
        409, "conflict", "This was changed elsewhere at the same time. Reload and try again."
    )


def _unhandled(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(
        InternalServerError.code,
        "internal_error",
        f"Something went wrong on our side. Reference: {current_request_id()}",
    )


def _with_header(response, name, value):
    if isinstance(response, tuple):
        body, status = response
        return body, status, {name: value}
    response.headers[name] = value
    return response
