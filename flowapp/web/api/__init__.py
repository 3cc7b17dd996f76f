"""The JSON API under /api: bearer tokens, one error shape, a rate limit per token, optional CORS.

Authentication: `Authorization: Bearer <token>` (tokens from Settings or `flask create-token`). A
browser session is accepted too (the pages' own scripts); then CSRF protection applies to every
request that changes something, since cookies ride along with cross-site requests and bearer tokens
do not. The OpenAPI document at /api/openapi.json describes every route (tests keep them in sync).
"""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_login import current_user

from flowapp import transactions
from flowapp.extensions import csrf, db
from flowapp.services import api_tokens
from flowapp.web.api import limits
from flowapp.web.api.common import ApiError, IdConverter, api_error
from flowapp.web.security import own_auth

bp = own_auth(Blueprint("api", __name__, url_prefix="/api"))
csrf.exempt(bp)

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@bp.before_request
def authenticate():
    """Preflights answer at once; everything else needs a token (or a session plus CSRF)."""
    if request.method == "OPTIONS" and request.headers.get("Origin"):
        return limits.preflight()
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        token = api_tokens.authenticate(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return api_error(401, "invalid_token", "The bearer token is unknown, revoked or malformed.")
        if api_tokens.use_to_record(token):
            with transactions.unit_of_work():  # a write of its own, whatever the request's method
                api_tokens.record_use(token)
        g.api_user, g.api_token, g.rate_key = token.user, token, f"token-{token.id}"
    elif current_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            csrf.protect()
        g.api_user, g.api_token, g.rate_key = (
            current_user._get_current_object(),
            None,
            f"user-{current_user.id}",
        )
    else:
        return api_error(
            401, "unauthorized", "Send `Authorization: Bearer <token>` (create one in Settings)."
        )
    return limits.check(g.rate_key)


@bp.after_request
def decorate(response):
    """Rate-limit and CORS headers; API answers are never cached by browsers or proxies."""
    response.headers.setdefault("Cache-Control", "no-store")
    limits.add_headers(response)
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return api_error(exc.status, exc.code, exc.message, **exc.extra)


def init_app(app) -> None:
    """Register the API's blueprint (its views are in the modules imported below)."""
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(bp)


# The views register themselves on `bp`; imported last because they import `bp` from here.
from flowapp.web.api import automations, contacts, fields, groups, messages, spec  # noqa: E402, F401
