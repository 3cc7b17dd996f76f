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


class HungRedis:
    """A TCP port that accepts connections and never answers: Redis stopped (SIGSTOP), not down."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)  # the kernel completes handshakes; nothing ever reads or writes
        self.url = f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"

    def close(self):
        self.sock.close()


def test_a_hung_redis_is_named_by_health_and_skipped_by_the_api(app, client, admin, monkeypatch):
    """Redis that hangs: /healthz answers 503 naming redis, and API requests still answer. Both use
    the quick client (one second, no retry); after the first failure the following requests skip
    the rate limiter instead of each waiting on Redis again."""
    from flowapp import extensions
    from flowapp.services import api_tokens

    hung = HungRedis()
    monkeypatch.setitem(app.config, "REDIS_URL", hung.url)
    for name in ("flowapp_redis", "flowapp_redis_quick", "flowapp_board"):
        monkeypatch.setitem(app.extensions, name, None)  # rebuilt from REDIS_URL on first use
    try:
        quick = extensions.redis_quick(app)
        kwargs = quick.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] <= 1 and kwargs["socket_connect_timeout"] <= 1
        assert quick.get_retry()._retries == 0
        assert extensions.get_redis(app).connection_pool.connection_kwargs["socket_timeout"] <= 2
        health = client.get("/healthz")
        assert health.status_code == 503 and health.get_json()["failing"] == ["redis"]
        _, token = api_tokens.create(admin, "hung")
        extensions.redis_answered()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/contacts", headers=headers).status_code == 200  # limiter gave up
        assert not extensions.redis_usable()
        assert client.get("/api/contacts", headers=headers).status_code == 200  # limiter skipped
    finally:
        extensions.redis_answered()
        for name in ("flowapp_redis", "flowapp_redis_quick"):
            if app.extensions.get(name) is not None:
                app.extensions[name].close()
        hung.close()
