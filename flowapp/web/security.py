"""Default-deny access: every route needs a logged-in user unless it is marked public.

A new page is therefore protected the moment it exists. Public routes are the login page, the
health check, static files and Meta's webhook; blueprints with their own authentication (the JSON
API's bearer tokens) are registered with `own_auth`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, Flask, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from flowapp.extensions import db, login_manager
from flowapp.models import User
from flowapp.web.errors import error_response

_PUBLIC_ENDPOINTS: set[str] = {"static"}
_OWN_AUTH_BLUEPRINTS: set[str] = set()

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)


# Added to every response that does not set its own (see requests_log.RequestMiddleware).
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def public(view: Callable) -> Callable:
    """Mark a view as reachable without login (used on login, health and webhooks)."""
    view.flowapp_public = True
    return view


def admin_required(view: Callable) -> Callable:
    """Only admins may use this view: anyone else gets 403 (checked on the server, whatever the page
    shows). The login guard has already sent anonymous visitors to the login page."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated or not current_user.is_admin:
            return error_response(403, "forbidden", "Only an admin can do this.")
        return view(*args, **kwargs)

    return guarded


def own_auth(blueprint: Blueprint) -> Blueprint:
    """Mark a blueprint whose views authenticate requests themselves (bearer tokens)."""
    _OWN_AUTH_BLUEPRINTS.add(blueprint.name)
    return blueprint


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    app.before_request(_require_login)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except ValueError:
        return None
    return user if user and user.active else None


def _is_public() -> bool:
    if request.endpoint is None:  # 404s and 405s: let the error handlers answer
        return True
    if request.endpoint in _PUBLIC_ENDPOINTS or request.blueprint in _OWN_AUTH_BLUEPRINTS:
        return True
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "flowapp_public", False))


def _require_login():
    if _is_public() or current_user.is_authenticated:
        return None
    if (
        request.path.startswith(("/api/", "/webhooks/"))
        or request.accept_mimetypes.best == "application/json"
    ):
        response = jsonify(error={"code": "unauthorized", "message": "Log in first."})
        response.status_code = 401
        return response
    login_url = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request"):
        # An HTMX request cannot follow a redirect into a full page; ask htmx to navigate instead.
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)
