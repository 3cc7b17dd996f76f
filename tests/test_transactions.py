"""Transactions (flowapp/transactions.py): readers take no lock, writes go in units, and no network
call is ever made inside a transaction.

The guard itself runs in every test: the suite's config is TRANSACTION_GUARD=strict (and so are the
live stacks' processes), so any code path that calls Meta, the mock or an HTTP node's URL with a
transaction open fails the test that reaches it. The tests here check the guard and the rules, and
reproduce the original fault: a media download waiting on Meta while another writer needs the
database.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect as orm_inspect
from sqlalchemy import select, text

from flowapp import transactions
from flowapp.extensions import db
from flowapp.models import Contact, Message, User
from flowapp.services import graph
from tests import factories

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


# -- the guard and the boundary (inside the test's rolled-back transaction) ---------------------


def test_a_network_call_inside_a_transaction_is_refused(app, session, graph_mock):
    """Strict (the tests): the call is refused before it leaves; the transaction is untouched."""
    session.scalar(select(User).limit(1))  # a read: the session's transaction is open
    with pytest.raises(transactions.TransactionOpen, match="the Graph API"):
        graph.client().phone_number()
    assert session().in_transaction()


def test_outside_tests_the_guard_logs_and_lets_the_call_go(app, session, graph_mock, monkeypatch, caplog):
    """ "log" (the default): an error line names the call; production keeps working."""
    monkeypatch.setitem(app.config, "TRANSACTION_GUARD", "log")
    session.scalar(select(User).limit(1))
    with caplog.at_level(logging.ERROR, logger="flowapp.database"):
        assert graph.client().phone_number()["verified_name"]
    assert any("while a database transaction is open" in r.getMessage() for r in caplog.records)


def test_the_boundary_ends_a_read_and_keeps_what_it_loaded(session, graph_mock):
    """before_network ends a transaction that only read; its objects stay loaded (no new query)."""
    user = factories.make_user()
    session.commit()
    loaded = session.get(User, user.id)
    assert session().in_transaction()
    transactions.before_network("a test call")
    assert not session().in_transaction()
    assert not orm_inspect(loaded).expired and loaded.email == "user@example.com"
    assert graph.profile()["verified_name"]  # the service declares its own boundary


@pytest.mark.parametrize("how", ["pending", "flushed", "bulk update"])
def test_uncommitted_writes_at_a_boundary_are_refused_not_committed(session, how):
    """A request is never split silently: writes not yet committed stop the call (PendingWrites) and
    stay uncommitted, for the caller to commit as a unit or roll back."""
    contact = factories.make_contact()
    session.commit()
    if how == "pending":
        session.add(Contact(wa_id="15550009999"))
    elif how == "flushed":
        session.get(Contact, contact.id).display_name = "Changed"
        session.flush()
    else:
        session.execute(db.update(Contact).values(display_name="Bulk"))
    with pytest.raises(transactions.PendingWrites):
        transactions.before_network("a test call")
    assert session().in_transaction()
    session.rollback()
    assert session.get(Contact, contact.id).display_name is None
    transactions.before_network("a test call")  # nothing pending now: the boundary passes


def test_a_reader_writes_only_in_a_unit_of_work(app, session):
    """A GET request that writes outside unit_of_work() is refused (strict); inside one, it commits."""
    with app.test_request_context("/inbox/", method="GET"):
        app.preprocess_request()
        assert not transactions.writing()
        session.add(Contact(wa_id="15550001111"))
        with pytest.raises(transactions.WriteOutsideUnit):
            session.flush()
        session.rollback()
        with transactions.unit_of_work():
            assert transactions.writing()
            session.add(Contact(wa_id="15550002222"))
        assert not session().in_transaction() and not transactions.writing()
        assert session.scalar(select(Contact.id).where(Contact.wa_id == "15550002222")) is not None
    assert transactions.writing()  # the request's end makes the thread a writer again


def test_a_unit_of_work_rolls_back_on_error(session):
    with pytest.raises(RuntimeError), transactions.unit_of_work():
        session.add(Contact(wa_id="15550003333"))
        session.flush()
        raise RuntimeError("refused")
    assert session.scalar(select(Contact.id).where(Contact.wa_id == "15550003333")) is None


# -- on a database of its own, with real commits ----------------------------------------------


@pytest.fixture
def live_app(make_app, live_database_url, redis):
    app = make_app(DATABASE_URL=live_database_url)
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
    return app


def _sqlite_path(app) -> str | None:
    with app.app_context():
        engine = db.engine
        return engine.url.database if engine.dialect.name == "sqlite" else None


def _write_elsewhere(path: str) -> None:
    """Another process writes, unwilling to wait: a lock held by the request fails it at once."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE contacts SET display_name = 'elsewhere'")
        other.execute("COMMIT")
    finally:
        other.close()


@pytest.mark.parametrize(("method", "locks"), [("GET", False), ("POST", True)])
def test_on_sqlite_a_reader_holds_no_lock_and_a_writer_does(live_app, method, locks):
    """A safe request's transaction begins DEFERRED: another writer goes through while it is open.
    An unsafe one begins IMMEDIATE (a read-then-write cannot fail half-way): the writer is locked out."""
    path = _sqlite_path(live_app)
    if path is None:
        pytest.skip("SQLite only: PostgreSQL readers never lock writers")
    with live_app.app_context():
        factories.make_contact()
        db.session.commit()
    with live_app.test_request_context("/inbox/", method=method):
        live_app.preprocess_request()
        db.session.scalar(select(Contact).limit(1))  # the request's transaction is open now
        if locks:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                _write_elsewhere(path)
        else:
            _write_elsewhere(path)
        db.session.rollback()


class _SlowMeta(BaseHTTPRequestHandler):
    """Meta's media endpoints (GET /{version}/{media-id} -> url; GET url -> bytes), the download held
    until the test releases it."""

    arrived = threading.Event()
    release = threading.Event()

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.startswith("/download"):
            type(self).arrived.set()
            type(self).release.wait(30)
            self._answer(200, PNG, "image/png")
            return
        host = f"http://{self.headers['Host']}"
        info = {
            "messaging_product": "whatsapp",
            "url": f"{host}/download/slow-1",
            "mime_type": "image/png",
            "sha256": "0" * 64,
            "file_size": len(PNG),
            "id": "slow-1",
        }
        self._answer(200, json.dumps(info).encode(), "application/json")

    def _answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def slow_meta(live_app):
    _SlowMeta.arrived.clear()
    _SlowMeta.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowMeta)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    live_app.config["GRAPH_API_URL"] = f"http://127.0.0.1:{server.server_port}"
    live_app.extensions.pop("flowapp_graph", None)
    yield _SlowMeta
    _SlowMeta.release.set()
    server.shutdown()
    server.server_close()


def test_a_media_download_waiting_on_meta_holds_no_transaction(live_app, slow_meta):
    """The original fault: the inbox's media download held the database while Meta took its time.
    Now, while Meta holds the download, another writer commits at once (SQLite) and no connection
    sits idle in a transaction (PostgreSQL); then the file is served."""
    with live_app.app_context():
        factories.make_user(email="agent@example.com")
        conversation = factories.make_conversation()
        message = Message(
            conversation=conversation,
            direction="in",
            type="image",
            wamid="wamid.slow-media",
            payload={"media": {"id": "slow-1", "mime_type": "image/png"}},
            status="received",
        )
        db.session.add(message)
        db.session.commit()
        message_id, dialect = message.id, db.engine.dialect.name
    client = live_app.test_client()
    factories.login(client, "agent@example.com", "correct horse battery")
    answer = {}
    download = threading.Thread(target=lambda: answer.update(r=client.get(f"/inbox/media/{message_id}")))
    download.start()
    try:
        assert slow_meta.arrived.wait(30), "the download never reached Meta"
        if dialect == "sqlite":
            _write_elsewhere(_sqlite_path(live_app))
        else:
            with live_app.app_context():
                idle = db.session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
                    )
                )
                db.session.rollback()
            assert idle == 0
    finally:
        slow_meta.release.set()
        download.join(30)
    response = answer["r"]
    assert response.status_code == 200 and response.data == PNG
