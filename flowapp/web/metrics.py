"""GET /metrics: Prometheus text format, for an admin's session or a METRICS_TOKEN bearer.

Everything is read when Prometheus scrapes (a few indexed COUNTs and Redis calls), so every web
process answers the same numbers and nothing is lost when a process restarts. What each metric
means: docs/operations.md.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from flowapp.services import analytics
from flowapp.web.errors import error_response
from flowapp.web.security import public

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
@public
def metrics():
    """The metrics, or 401/403 for anyone who is neither an admin nor holds METRICS_TOKEN."""
    refused = _refused()
    if refused is not None:
        return refused
    registry = CollectorRegistry(auto_describe=False)
    registry.register(analytics.MetricsCollector())
    response = current_app.response_class(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused():
    expected = current_app.config.get("METRICS_TOKEN")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        if expected and hmac.compare_digest(value.strip().encode(), expected.encode()):
            return None
        return _json_error(401, "invalid_token", "That is not the METRICS_TOKEN.")
    if not current_user.is_authenticated:
        return _json_error(
            401, "unauthorized", "Log in as an admin, or send Authorization: Bearer <METRICS_TOKEN>."
        )
    if not current_user.is_admin:
        return _json_error(403, "forbidden", "Only admins may read the metrics.")
    return None


def _json_error(status: int, code: str, message: str):
    response = error_response(status, code, message)
    if isinstance(response, tuple):  # an HTML page for a browser; Prometheus gets the status either way
        return response
    response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
