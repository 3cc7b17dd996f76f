"""Transactions: reads in deferred transactions, writes in short units, never a network call inside one.

The rules, and where each is kept:

- **Readers and writers.** A request with a safe method (GET, HEAD, OPTIONS) is a reader: on SQLite
  its transactions begin DEFERRED, so they take no lock (WAL: readers never block the writer) however
  long the view runs. Everything else (unsafe requests, jobs, commands) is a writer: on SQLite its
  transactions begin IMMEDIATE, so one that reads and then writes cannot fail half-way with
  "database is locked" because another process wrote in between. PostgreSQL needs neither.
- **A reader writes only in a unit of work** (`unit_of_work()`), which begins its own writer
  transaction and commits it. A reader's transaction that writes outside one is refused when the
  guard is strict (tests), and logged otherwise.
- **No network call inside a transaction.** The service function that owns a network call declares
  the boundary once (`before_network()`): a transaction that only read is ended there (objects stay
  loaded), and one holding uncommitted writes is refused with PendingWrites rather than committed
  behind the caller's back, so a request is never split into two transactions silently. The clients
  (the Graph API's, the HTTP node's, the sandbox phone's) call `check_outbound()` before each request,
  which fails when a transaction is still open: strict under tests, a logged error in production.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event

from flowapp.extensions import WRITER, db

log = logging.getLogger("flowapp.database")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class TransactionOpen(RuntimeError):
    """A network call was about to be made while a database transaction was open."""


class PendingWrites(RuntimeError):
    """A network boundary was reached with writes not yet committed: commit the unit of work first."""


class WriteOutsideUnit(RuntimeError):
    """A reader (a GET request) wrote outside `unit_of_work()`."""


def init_app(app: Flask) -> None:
    """Track what each session wrote, and make requests readers or writers by their method."""
    app.config.setdefault("TRANSACTION_GUARD", "log")
    if not event.contains(FlaskSession, "after_flush", _flushed):
        event.listen(FlaskSession, "after_flush", _flushed)
        event.listen(FlaskSession, "do_orm_execute", _executed)
        event.listen(FlaskSession, "after_commit", _ended)
        event.listen(FlaskSession, "after_rollback", _ended)
    app.before_request(_classify_request)
    app.teardown_request(_end_request)


def writing() -> bool:
    """True when transactions begun now may write (SQLite begins them IMMEDIATE)."""
    return WRITER.get()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """A short writer transaction of its own: begun on entry, committed on exit, rolled back on error.

    A read-only transaction open on entry is ended first; one holding uncommitted writes is refused
    (PendingWrites), because ending it would commit them as a side effect.
    """
    session = db.session()
    _end_reads(session, "a unit of work")
    token = WRITER.set(True)
    session.info["unit"] = session.info.get("unit", 0) + 1
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info["unit"] -= 1
        WRITER.reset(token)


def before_network(what: str) -> None:
    """Declare a network boundary: end a transaction that only read (its objects stay loaded), or
    refuse with PendingWrites when it holds writes. `what` names the call for the error."""
    if has_app_context():
        _end_reads(db.session(), what)


def check_outbound(target: str) -> None:
    """The guard, called by the HTTP clients before each request: no transaction may be open."""
    if not has_app_context():
        return  # a client used outside the app (a thread pool's worker, a script): nothing to check
    session = db.session()
    if not session.in_transaction():
        return
    message = f"network call to {target} while a database transaction is open"
    if current_app.config.get("TRANSACTION_GUARD") == "strict":
        raise TransactionOpen(message)
    log.error("%s (declare the boundary with before_network)", message)


def _end_reads(session, what: str) -> None:
    if not session.in_transaction():
        return
    if session.info.get("wrote") or session.new or session.dirty or session.deleted:
        raise PendingWrites(f"uncommitted writes before {what}: commit the unit of work first")
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()  # it only read: committing ends it and keeps what it loaded
    finally:
        session.expire_on_commit = expire


def _classify_request() -> None:
    WRITER.set(request.method not in SAFE_METHODS)


def _end_request(_exc) -> None:
    WRITER.set(True)  # the thread's next user (a test, a job) is a writer again


def _flushed(session, _context) -> None:
    _wrote(session)


def _executed(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _wrote(state.session)


def _wrote(session) -> None:
    session.info["wrote"] = True
    if WRITER.get():
        return
    message = "a reader (safe request) wrote outside unit_of_work()"
    if current_app.config.get("TRANSACTION_GUARD") == "strict":
        raise WriteOutsideUnit(message)
    log.warning("%s on %s %s", message, request.method, request.path)


def _ended(session) -> None:
    session.info.pop("wrote", None)
