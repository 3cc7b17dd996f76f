"""GET /healthz: 200 when the database and Redis answer, 503 naming the one that does not."""

from __future__ import annotations

from flask import Blueprint, jsonify

from flowapp.services import health
from flowapp.web.security import public

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """Dependency state as JSON, for load balancers and people."""
    checks = health.check()
    failing = [name for name, state in checks.items() if not state["ok"]]
    body = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response
