"""GET /api/openapi.json: the API's OpenAPI 3.1 document (kept as YAML beside this module)."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

import yaml
from flask import jsonify, request

from flowapp.web.api import bp

SPEC_PATH = Path(__file__).with_name("openapi.yaml")


@cache
def document() -> dict:
    """The OpenAPI document as data (parsed once per process)."""
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI document, with this server's address as its server (for any token or session)."""
    spec = copy.deepcopy(document())
    spec["servers"] = [{"url": request.host_url.rstrip("/"), "description": "this Flowapp"}]
    response = jsonify(spec)
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
