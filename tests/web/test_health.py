"""GET /healthz."""

from sqlalchemy.exc import OperationalError


def test_healthy(client):
    """200 with both dependencies reported ok, without login."""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_redis_down_names_redis(make_app):
    """503 naming redis when Redis does not answer."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["redis"]
    assert body["checks"]["database"]["ok"] is True


def test_database_down_names_database(make_app, monkeypatch):
    """503 naming the database when it does not answer; no SQL or trace in the body."""
    app = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["failing"] == ["database"]
    assert "SELECT" not in response.get_data(as_text=True)
    assert OperationalError.__name__ not in response.get_data(as_text=True)
