"""Counting the SQL statements a piece of code sends (what the pipeline's cost targets are about)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from flowapp.extensions import db

# The tests' own transaction handling, not the code under test: commits inside a test release a
# savepoint of the outer transaction.
_HARNESS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def counting():
    """Yield a list that collects every statement sent to the database meanwhile."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(_HARNESS):
            statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
