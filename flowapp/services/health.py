"""Whether the database and Redis answer."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from flowapp.extensions import db, redis_quick

log = logging.getLogger("flowapp.health")


def check() -> dict[str, dict]:
    """State of each dependency: {"database": {"ok": bool, ...}, "redis": {...}}."""
    return {"database": _database(), "redis": _redis()}


def _database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "dialect": db.engine.dialect.name}
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.error("health: database unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": "database unreachable"}


def _redis() -> dict:
    try:
        redis_quick().ping()
        return {"ok": True}
    except (RedisError, OSError) as exc:
        log.error("health: redis unreachable: %s", type(exc).__name__)
        return {"ok": False, "error": "redis unreachable"}
