"""INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike.

Deduplication in Flowapp rests on unique keys (a webhook body's hash, a wamid, a (wamid, status)
pair): the database decides who was first, even with several workers racing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from flowapp.extensions import db

DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_or_ignore(model: type, values: dict[str, Any], conflict_columns: list[str]) -> Any | None:
    """Insert a row unless one with the same `conflict_columns` exists.

    Returns the new row's primary key, or None when the row existed already.
    """
    insert = DIALECT_INSERT[db.session.get_bind().dialect.name]
    primary_key = model.__mapper__.primary_key[0]
    statement = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        .returning(primary_key)
    )
    return db.session.execute(statement).scalar()
