"""Admin-only tools: the RQ dashboard (rq-dashboard) mounted at /admin/rq.

rq-dashboard has no authentication of its own; Flowapp's login guard sends anonymous visitors to the
login page, and the check here answers 403 to anyone who is not an admin. Its pages need inline
scripts and eval (jQuery and Underscore templates), so they get a relaxed Content-Security-Policy of
their own; Flowapp's pages keep the strict one. Its buttons POST without a CSRF token, so instead of
the token they must come from this site (Origin or Referer), on top of the SameSite session cookie.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import rq_dashboard
from flask import Flask, request
from flask_login import current_user
from redis.exceptions import ResponseError
from rq import Queue

from flowapp.extensions import csrf, get_redis
from flowapp.web.errors import error_response

URL_PREFIX = "/admin/rq"
BLUEPRINT = "rq_dashboard"
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
# Endpoints that change something although GET reaches them.
_STATE_CHANGING_GETS = {"rq_dashboard.requeue_all"}


def init_app(app: Flask) -> None:
    """Mount the dashboard on Flowapp's own Redis (REDIS_URL), for admins only."""
    app.config["RQ_DASHBOARD_REDIS_URL"] = (app.config["REDIS_URL"],)
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 5000)
    rq_dashboard.web.setup_rq_connection(app)
    csrf.exempt(rq_dashboard.blueprint)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=URL_PREFIX)
    app.view_functions[f"{BLUEPRINT}.compact_queue"] = _compact_queue
    app.before_request(_admins_only)
    app.after_request(_dashboard_csp)


def _admins_only():
    if request.blueprint != BLUEPRINT or not current_user.is_authenticated:
        return None  # the login guard already sent anonymous visitors to the login page
    if not current_user.is_admin:
        return error_response(403, "forbidden", "The job dashboard is for admins.")
    if (
        request.method not in ("GET", "HEAD") or request.endpoint in _STATE_CHANGING_GETS
    ) and not _same_origin():
        return error_response(403, "cross_site", "This request did not come from Flowapp's own pages.")
    return None


def _same_origin() -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = urlsplit(source)
    return bool(parts.netloc) and parts.netloc == request.host


def _compact_queue(queue_name: str):
    """The dashboard's "compact": RQ renames the queue's list first, which Redis refuses for an empty
    queue (it has no list). Nothing to compact is success, not a 500."""
    queue = Queue(queue_name, connection=get_redis())
    try:
        queue.compact()
    except ResponseError as exc:
        if "no such key" not in str(exc).lower():
            raise
    return {"status": "OK"}


def _dashboard_csp(response):
    if request.blueprint == BLUEPRINT:
        response.headers["Content-Security-Policy"] = DASHBOARD_CSP
    return response
