"""Shared fixtures: a real database (SQLite or PostgreSQL) and a real Redis.

- TEST_DATABASE_URL: the database to test against (its tables are dropped and rebuilt by the
  migrations at the start of the run). Unset: a SQLite file in a temporary folder.
- REDIS_URL: a Redis server; the tests use its database 15 and flush it before every test.
  Unset: an embedded redis-server on a unix socket in a temporary folder.

The schema is built once per run by the Alembic migrations (so every run also tests them); each
test runs inside a transaction that is rolled back afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from flowapp import create_app
from flowapp.config import normalize_database_url
from flowapp.extensions import db, get_redis
from flowapp.redis_server import EmbeddedRedis
from tests import factories

pytest_plugins = ["tests.live_stack", "tests.browser_support"]

TEST_SECRETS = {
    "SECRET_KEY": "test-secret-key-0123456789",
    "APP_SECRET": "test-app-secret-abcdef",
    "WEBHOOK_VERIFY_TOKEN": "test-verify-token",
}


def redis_test_url(url: str, database: int = 15) -> str:
    """The same server, database `database` (never the one a developer's data lives in)."""
    if url.startswith("unix://"):
        return url.split("?", 1)[0] + f"?db={database}"
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def reset_database(url: str) -> None:
    """Empty the test database so the migrations build it from nothing."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("REDIS_URL")
    if url:
        yield redis_test_url(url)
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), persist=False).start()
    yield redis_test_url(server.url)
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return normalize_database_url(url)


@pytest.fixture(scope="session")
def base_config(database_url, redis_url, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("instance")
    return {
        "LOAD_DOTENV": False,
        "FLOWAPP_ENV": "testing",
        "TESTING": True,
        "INSTANCE_PATH": str(root),
        "LOG_DIR": str(root / "logs"),
        "LOG_CONSOLE": False,
        "LOG_LEVEL": "INFO",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WHATSAPP_TOKEN": None,
        "PHONE_NUMBER_ID": "106540352242922",
        "BUSINESS_ID": "102290129340398",
        "GRAPH_API_URL": "http://127.0.0.1:9",
        # Tests roll back one transaction per test; group commit writes on its own connection, so it
        # is exercised by its own test (tests/services/test_intake_writer.py) and the e2e tests.
        "INTAKE_GROUP_COMMIT": False,
        # Any network call made while a database transaction is open fails the test.
        "TRANSACTION_GUARD": "strict",
        **TEST_SECRETS,
    }


@pytest.fixture(scope="session")
def app(base_config):
    """The app every test uses, with a schema built by the migrations."""
    from flask_migrate import upgrade

    reset_database(base_config["DATABASE_URL"])
    application = create_app(dict(base_config))
    with application.app_context():
        upgrade(directory=str(application.config["MIGRATIONS_DIR"]))
        db.engine.dispose()
    yield application
    close_app(application)


def close_app(application) -> None:
    """Release the app's intake writer, Redis and database connections."""
    writer = application.extensions.get("flowapp_intake_writer")
    if writer is not None:
        writer.close()
    for name in ("flowapp_redis", "flowapp_redis_quick"):
        client = application.extensions.get(name)
        if client is not None:
            client.close()
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(base_config):
    """Build an app with overrides, for tests of configuration itself (no schema work)."""
    built = []

    def build(**overrides):
        built.append(create_app({**base_config, **overrides}))
        return built[-1]

    yield build
    for application in built:
        close_app(application)


@pytest.fixture
def session(app):
    """A database session inside a transaction that is rolled back after the test.

    Code under test may commit: with join_transaction_mode="create_savepoint" its commits release
    a savepoint, and the outer transaction still undoes everything.
    """
    with app.app_context():
        engines = db._app_engines[app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection
        original = db.session
        db.session = db._make_scoped_session({"join_transaction_mode": "create_savepoint"})
        try:
            yield db.session
        finally:
            db.session.remove()
            # Settings read through settings.cached() would outlive the rolled-back rows.
            app.extensions.pop("flowapp_settings_cache", None)
            db.session = original
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def redis(app):
    """The test Redis database, empty at the start of the test."""
    client = get_redis(app)
    client.flushdb()
    return client


class CommittingClient(FlaskClient):
    """Commits the test's session before each request, as a real client only ever sees committed
    rows: the request starts with no transaction open and no writes pending (flowapp/transactions.py
    refuses a network call or a unit of work with either). The outer transaction still undoes it all."""

    def open(self, *args, **kwargs):
        db.session.commit()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, session, redis):
    """A test client whose requests share the test's (outer) transaction."""
    app.test_client_class = CommittingClient
    try:
        yield app.test_client()
    finally:
        app.test_client_class = None


@pytest.fixture
def graph_mock(app):
    """The sandbox's mock Graph API, with this app's client pointed at it (no status webhooks)."""
    from flowapp.sandbox import MockConfig, MockServer

    with MockServer(MockConfig(statuses=False)) as server:
        previous = app.config["GRAPH_API_URL"]
        app.config["GRAPH_API_URL"] = server.url
        app.extensions.pop("flowapp_graph", None)
        yield server
        app.config["GRAPH_API_URL"] = previous
        client = app.extensions.pop("flowapp_graph", None)
        if client is not None:
            client.close()


@pytest.fixture
def fake_llm(app):
    """The fake model server, with this app's AI provider pointed at it (no key required)."""
    from flowapp.sandbox.fake_llm import FakeLLMServer

    with FakeLLMServer() as server:
        previous = app.config["AI_BASE_URL"]
        app.config["AI_BASE_URL"] = server.base_url
        app.extensions.pop("flowapp_ai_client", None)
        yield server
        app.config["AI_BASE_URL"] = previous
        app.extensions.pop("flowapp_ai_client", None)


@pytest.fixture
def user(session):
    return factories.make_user(email="agent@example.com", password="correct horse battery", role="agent")


@pytest.fixture
def admin(session):
    return factories.make_user(email="admin@example.com", password="correct horse battery", role="admin")


@pytest.fixture
def logged_in(client, admin):
    """A client logged in as an admin."""
    factories.login(client, admin.email, "correct horse battery")
    return client
