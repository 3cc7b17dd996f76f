"""The JSON API's frame: bearer tokens, sessions with CSRF, one error shape, pages, the rate limit,
CORS, and an OpenAPI document that names exactly the routes the app has."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from flowapp.services import api_tokens
from flowapp.web.api import limits, spec
from tests import factories


class Api:
    """A test client that sends a bearer token with every request."""

    def __init__(self, client, value: str):
        self.client = client
        self.value = value
        self.headers = {"Authorization": f"Bearer {value}"}

    def _call(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return getattr(self.client, method)(path, headers=headers, **kwargs)

    def get(self, path, **kwargs):
        return self._call("get", path, **kwargs)

    def post(self, path, **kwargs):
        return self._call("post", path, **kwargs)

    def put(self, path, **kwargs):
        return self._call("put", path, **kwargs)

    def delete(self, path, **kwargs):
        return self._call("delete", path, **kwargs)


@pytest.fixture
def api(client, admin):
    """A client with a fresh admin token."""
    _, value = api_tokens.create(admin, "tests")
    return Api(client, value)


def test_no_token_is_401_in_the_error_shape(client):
    """Without a token or session the API answers 401 with {"error": {"code", "message"}}."""
    response = client.get("/api/contacts")
    assert response.status_code == 401
    assert set(response.get_json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("header", ["Bearer fa_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "fa_x"])
def test_bad_tokens_are_refused(client, header):
    """Unknown, empty, wrongly-schemed tokens get 401 invalid_token."""
    response = client.get("/api/contacts", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_valid_token_works_and_records_last_use(api, session):
    """A valid token is accepted, and its last use is recorded."""
    response = api.get("/api/contacts")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = api_tokens.listing()[0]
    assert token.last_used_at is not None


def test_revoked_token_and_deactivated_user_stop_working(api, admin, session):
    """Revoking a token, or deactivating its user, makes the API refuse it at once."""
    token = api_tokens.listing()[0]
    api_tokens.revoke(token)
    assert api.get("/api/contacts").status_code == 401
    _, value = api_tokens.create(admin, "second")
    assert api.get("/api/contacts", headers={"Authorization": f"Bearer {value}"}).status_code == 200
    admin.active = False
    session.flush()
    assert api.get("/api/contacts", headers={"Authorization": f"Bearer {value}"}).status_code == 401


def test_session_works_for_reads_and_needs_csrf_for_writes(logged_in):
    """A logged-in browser may use the API; a change without the CSRF token is refused."""
    assert logged_in.get("/api/contacts").status_code == 200
    refused = logged_in.post("/api/contacts", json={"wa_id": "+1 555 010 0001"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    token = factories.csrf_token(logged_in, "/settings/")
    accepted = logged_in.post(
        "/api/contacts", json={"wa_id": "+1 555 010 0001"}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


def test_unknown_route_and_method_use_the_error_shape(api):
    """404 and 405 under /api answer JSON errors too."""
    missing = api.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    wrong = api.delete("/api/messages/send")
    assert wrong.status_code == 405 and "error" in wrong.get_json()


@pytest.fixture
def mid_minute(monkeypatch):
    """The limiter counts per calendar minute: pin its clock 20 s into one, so that a test's requests
    never straddle a minute's edge (which would start a fresh count)."""
    pinned = SimpleNamespace(time=lambda: 1_800_000_000.0 + 20)  # 1,800,000,000 s is a whole minute
    monkeypatch.setattr(limits, "time", pinned)


def test_rate_limit_answers_429_with_retry_after(api, app, monkeypatch, mid_minute):
    """Past API_RATE_LIMIT requests in a minute, the token gets 429 and Retry-After in seconds."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 3)
    answers = [api.get("/api/contacts") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Remaining"] == "2"
    limited = answers[-1]
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "40"  # the rest of the minute


def test_rate_limit_is_per_token(api, app, admin, monkeypatch, mid_minute):
    """One token's burst does not limit another token."""
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", 1)
    assert api.get("/api/contacts").status_code == 200
    assert api.get("/api/contacts").status_code == 429
    _, other = api_tokens.create(admin, "other")
    assert api.get("/api/contacts", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_cors_only_for_configured_origins(api, app, monkeypatch):
    """CORS headers are sent for a configured origin only; preflights answer without a token."""
    monkeypatch.setitem(app.config, "API_CORS_ORIGINS", "https://crm.example.com")
    allowed = api.get("/api/contacts", headers={"Origin": "https://crm.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://crm.example.com"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    other = api.get("/api/contacts", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = api.client.options(
        "/api/contacts",
        headers={"Origin": "https://crm.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_pagination_follows_next_links(api, session):
    """Pages of `limit` rows, newest first, linked by `next` until it is null."""
    for n in range(5):
        factories.make_contact(wa_id=f"1555010{n:04d}")
    seen, url, pages = [], "/api/contacts?limit=2", 0
    while url:
        body = api.get(url).get_json()
        seen += [c["id"] for c in body["data"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 5


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=201", "limit=x", "cursor=garbage", "since=yesterday", "direction=sideways"]
)
def test_bad_query_parameters_are_400(api, query):
    """Out-of-range or malformed parameters get 400 naming the problem."""
    path = "/api/messages?" + query
    response = api.get(path)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("invalid_parameter", "invalid_cursor")


def _flask_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_openapi_documents_exactly_the_routes(app):
    """Every /api route is in the OpenAPI document, and the document names no route that is gone."""
    documented = {
        (method, path)
        for path, item in spec.document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "delete", "patch")
    }
    assert documented == _flask_routes(app)


def test_openapi_is_served_and_valid(api):
    """/api/openapi.json is an OpenAPI 3.1 document that validates against the 3.1 meta-schema."""
    from jsonschema import Draft202012Validator

    body = api.get("/api/openapi.json").get_json()
    assert body["openapi"].startswith("3.1")
    for schema in body["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert body["servers"][0]["url"].startswith("http")
