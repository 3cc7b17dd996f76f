"""A live Flowapp for end-to-end and browser tests: gunicorn, a real RQ worker, a real RQ worker for
the AI steps' queue, the mock Graph API and the fake model server.

Loaded as a pytest plugin by tests/conftest.py, so every test directory can use `live_stack`.

The stack runs on its own database (a SQLite file, or a fresh PostgreSQL database next to
TEST_DATABASE_URL) because its processes commit for real; the test's own rolled-back transaction
would hide their work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import psycopg
import pytest
import requests
from flask_migrate import upgrade

from flowapp import create_app
from flowapp.extensions import db
from flowapp.sandbox import MockConfig, MockServer
from flowapp.sandbox.fake_llm import FakeLLMServer
from tests import live
from tests.conftest import TEST_SECRETS, close_app


@dataclass
class Stack:
    url: str
    mock: MockServer
    app: object
    fake_llm: FakeLLMServer | None
    env: dict
    processes: dict = field(default_factory=dict)

    def session(self) -> requests.Session:
        return requests.Session()

    def create_admin(self, email: str = "admin@example.com", password: str = "correct horse battery"):
        """A user on the live database (committed), for logging in through the browser."""
        from flowapp.services import users

        with self.app.app_context():
            user = users.find_by_email(email) or users.create_user(
                email, password, role="admin", name="Admin"
            )
            db.session.commit()
            return user.id


@pytest.fixture
def live_database_url(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'live.db'}"
        return
    admin = database_url.replace("postgresql+psycopg", "postgresql")
    name = f"flowapp_live_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {name}")
    yield database_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def live_stack(live_database_url, redis_url, redis, tmp_path):
    """Web (gunicorn), worker and scheduler-less stack on the live database, with the mock as Meta."""
    port = live.free_port()
    url = f"http://127.0.0.1:{port}"
    mock = MockServer(
        MockConfig(
            webhook_url=f"{url}/webhooks/whatsapp",
            app_secret=TEST_SECRETS["APP_SECRET"],
            sent_delay=0.05,
            delivered_delay=0.2,
            read_delay=0.4,
        )
    ).start()
    fake_llm = FakeLLMServer().start()
    env = live.flask_env(
        AI_BASE_URL=fake_llm.base_url,
        DATABASE_URL=live_database_url,
        REDIS_URL=redis_url,
        GRAPH_API_URL=mock.url,
        INSTANCE_PATH=tmp_path / "instance",
        LOG_DIR=tmp_path / "logs",
        FLOWAPP_ENV="development",
        PHONE_NUMBER_ID="106540352242922",
        BUSINESS_ID="102290129340398",
        **TEST_SECRETS,
    )
    app = create_app(
        {
            "LOAD_DOTENV": False,
            "DATABASE_URL": live_database_url,
            "REDIS_URL": redis_url,
            "GRAPH_API_URL": mock.url,
            "AI_BASE_URL": fake_llm.base_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "LOG_DIR": str(tmp_path / "logs"),
            "LOG_CONSOLE": False,
            "INTAKE_GROUP_COMMIT": False,
            "PHONE_NUMBER_ID": "106540352242922",
            "BUSINESS_ID": "102290129340398",
            **TEST_SECRETS,
        }
    )
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        db.session.remove()
    stack = Stack(url=url, mock=mock, app=app, env=env, fake_llm=fake_llm)
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    stack.processes["web"] = live.start(
        [
            live.python(),
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "wsgi:app",
        ],
        env,
        logs / "web.out",
    )
    stack.processes["worker"] = live.start(
        [live.python(), "-m", "flask", "--app", "wsgi", "worker"], env, logs / "worker.out"
    )
    stack.processes["ai-worker"] = live.start(
        [live.python(), "-m", "flask", "--app", "wsgi", "worker", "-q", "ai"], env, logs / "ai-worker.out"
    )
    try:
        live.wait_for(
            lambda: requests.get(f"{url}/healthz", timeout=2).status_code == 200, 60, "the web server"
        )
        yield stack
    finally:
        for process in stack.processes.values():
            live.stop(process)
        mock.stop()
        fake_llm.stop()
        close_app(app)
