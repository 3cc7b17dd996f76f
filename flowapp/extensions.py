"""Flask extensions, created unbound here and bound to an app with `init_app` in `create_app`.

Redis is reached through `get_redis()`, which builds one connection pool per app on first use, so
importing this module or creating an app never opens a connection.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

from flask import Flask, current_app
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf.csrf import CSRFProtect
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy import event

from flowapp.models.base import Base
from flowapp.sqlite_gate import WriterGate

# Execution option of the webhook intake's connections: on SQLite they begin before other writers.
INTAKE_FIRST = "flowapp_intake_first"
# False while a safe request (a reader) runs: its SQLite transactions begin DEFERRED, taking no lock.
# Set by flowapp.transactions, which has the rules.
WRITER: ContextVar[bool] = ContextVar("flowapp_writer", default=True)

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = HTMX()


def init_app(app: Flask) -> None:
    """Bind every extension to `app`."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]), compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    app.extensions["flowapp_redis"] = None
    if not event.contains(FlaskSession, "after_commit", _after_commit):
        event.listen(FlaskSession, "after_commit", _after_commit)
        event.listen(FlaskSession, "after_rollback", _after_rollback)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)


def _after_commit(session) -> None:
    """Enqueue the work the transaction described (flowapp.work), now that it committed."""
    works = session.info.pop("work", [])
    if not works:
        return
    try:
        current_app.extensions["flowapp_dispatch"](works)
    except Exception:  # the commit happened; a lost wake-up is caught by the periodic sweeps
        logging.getLogger("flowapp.database").exception("enqueueing %d jobs after commit failed", len(works))


def _after_rollback(session) -> None:
    session.info.pop("work", None)


def _tune_sqlite(engine) -> None:
    """Make SQLite behave under several processes, and give it real transactions.

    - WAL: readers never block the writer; NORMAL sync is safe against a crashed process.
    - foreign_keys: SQLite ignores ON DELETE CASCADE without it.
    - BEGIN issued by us instead of pysqlite, whose own transaction handling breaks SAVEPOINTs
      (SQLAlchemy's documented recipe): IMMEDIATE for writers, because a transaction that reads
      then writes would otherwise fail with "database is locked" when another process wrote in
      between; DEFERRED for readers (safe requests), which then take no lock at all
      (flowapp/transactions.py).
    - A file database gets a WriterGate: connections with the INTAKE_FIRST execution option (the
      webhook intake's writer) begin ahead of every other writer (see flowapp/sqlite_gate.py).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    gate = WriterGate(engine.url.database) if engine.url.database not in (None, "", ":memory:") else None

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not WRITER.get() and not connection.get_execution_options().get(INTAKE_FIRST):
            connection.exec_driver_sql("BEGIN")
        elif gate is None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif connection.get_execution_options().get(INTAKE_FIRST):
            with gate.first():  # webhook intake: no other writer starts until we have the database
                connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            gate.pass_through()
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def get_redis(app: Flask | None = None) -> Redis:
    """The app's Redis client (created lazily).

    Short timeouts and a single retry: a Redis that is down, or hung (accepting connections and
    answering nothing), costs a caller about two seconds, not the library's default of several
    retries of a longer timeout. Workers lengthen the timeout for RQ's blocking dequeue themselves.
    """
    app = app or current_app._get_current_object()
    client = app.extensions.get("flowapp_redis")
    if client is None:
        client = Redis.from_url(
            app.config["REDIS_URL"],
            socket_connect_timeout=1,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        app.extensions["flowapp_redis"] = client
    return client


def redis_quick(app: Flask | None = None) -> Redis:
    """A client that gives up after a second, without retrying: for health checks (so /healthz
    answers within a load balancer's patience when Redis hangs) and for what can do without Redis
    (the API's rate limit)."""
    app = app or current_app._get_current_object()
    client = app.extensions.get("flowapp_redis_quick")
    if client is None:
        client = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        app.extensions["flowapp_redis_quick"] = client
    return client


# After Redis failed (down or hung), what can do without it (webhook intake's announcements, the
# API's rate limit) skips it for this long instead of paying a timeout on every request. Per process.
REDIS_BACKOFF_SECONDS = 5.0
_redis_down_until = 0.0


def redis_usable() -> bool:
    """False for a few seconds after a Redis call failed in this process."""
    return time.monotonic() >= _redis_down_until


def redis_failed() -> None:
    """A Redis call failed: skip Redis where possible for REDIS_BACKOFF_SECONDS."""
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_BACKOFF_SECONDS


def redis_answered() -> None:
    """Redis answered (a worker's job ran): stop skipping it."""
    global _redis_down_until
    _redis_down_until = 0.0


# The queues, in the order a worker serves them:
# - webhooks: processing what Meta delivered (a customer is waiting for the reply);
# - sends: the outbound pipeline;
# - default: everything else (periodic work, imports, broadcasts).
QUEUES = ("webhooks", "sends", "default")
# Model calls (AI steps) take seconds: they have a queue of their own, served by workers of their
# own (`worker -q ai`, AI_WORKERS under `make run`), never by the workers the queues above need.
AI_QUEUE = "ai"
ALL_QUEUES = (*QUEUES, AI_QUEUE)


def get_queue(name: str = "default", app: Flask | None = None) -> Queue:
    """An RQ queue on the app's Redis."""
    app = app or current_app._get_current_object()
    return Queue(name, connection=get_redis(app), default_timeout=app.config.get("RQ_JOB_TIMEOUT", 300))
