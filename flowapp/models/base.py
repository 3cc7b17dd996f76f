"""Shared model pieces: the declarative base, a UTC datetime type and a portable JSON type."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# Named constraints so that Alembic migrations name them the same way on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Indexes over an expression that the migrations create on PostgreSQL only, and that the models
# therefore cannot declare (SQLite cannot reflect an expression index, and warns). Alembic's
# comparisons leave them out: `include_object` below, used by migrations/env.py and the tests.
PG_ONLY_INDEXES = frozenset({"ix_contacts_fields_trgm", "ix_knowledge_chunks_search"})

# SQLite's FTS5 table for knowledge search and the shadow tables FTS5 makes for it (…_data, …_idx,
# …_docsize, …_config): the migration creates them on SQLite only, so the models do not declare them.
SQLITE_ONLY_TABLE_PREFIX = "knowledge_chunks_fts"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: everything but the dialect-only structures above."""
    if type_ == "table" and name and name.startswith(SQLITE_ONLY_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in PG_ONLY_INDEXES)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC and always returns timezone-aware UTC datetimes.

    SQLite has no time zones and returns naive values; PostgreSQL returns aware ones. Normalising here
    means every comparison in the code is between aware datetimes, whichever database is in use.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use flowapp.models.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, supports containment), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
