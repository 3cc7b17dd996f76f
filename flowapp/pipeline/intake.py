"""Webhook intake: store the raw body, announce it to the workers, answer. Meta gets its 200 either way.

The hot path is one INSERT (plain SQL, no ORM) and one Redis call. The body is routed while it is
stored: each sender's messages become an event of the "contact" lane keyed by that sender (one
contact's events are processed in arrival order, one at a time), statuses and everything else an
event of the "bulk" lane (processed in batches, in any order). A body with several senders, or
messages and statuses together, is stored once per lane and sender. If Redis is down the events
simply wait in the database, and the sweep announces them once Redis answers again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from flowapp.extensions import db, redis_failed, redis_usable
from flowapp.models import WebhookEvent, utcnow
from flowapp.pipeline import pumps
from flowapp.pipeline.writer import GroupCommitWriter
from flowapp.whatsapp.parsing import BULK, CONTACT, routes

log = logging.getLogger("flowapp.whatsapp.intake")

COLUMNS = (
    "body",
    "dedupe_key",
    "source",
    "received_at",
    "processed_at",
    "error",
    "attempts",
    "lane",
    "contact_key",
    "phone_number_id",
)
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def store(body: bytes, source: str = "meta") -> tuple[int | None, bool]:
    """Store a signed webhook body and commit it; announces its events when they are new.

    Returns (the first event's id, or None for a redelivery of the same bytes; whether it waits
    for processing). Unlike services this commits, because with group commit (INTAKE_GROUP_COMMIT,
    on outside tests) the rows are written by the process's intake writer together with concurrent
    ones; otherwise, the session's transaction is committed here.
    """
    rows = rows_for(body, source)
    # A request that already holds a transaction (a logged-in user was loaded) stores in it: on
    # SQLite that transaction holds the write lock, and the writer thread would wait for it until
    # this very request gave up. Meta's deliveries come without one and go to the writer.
    if current_app.config.get("INTAKE_GROUP_COMMIT") and not db.session().in_transaction():
        ids = writer(current_app._get_current_object()).submit(rows)  # committed and announced
    else:
        ids = receive(rows)
        db.session.commit()
        announce(stored(rows, ids))
    return ids[0], ids[0] is not None and rows[0]["processed_at"] is None


def rows_for(body: bytes, source: str) -> list[dict]:
    """The webhook_events rows for a body: one per lane and sender (see the module's docstring).

    A body that is not JSON is stored as failed at once: answering anything but 200 would make Meta
    redeliver it for a week, and it can never succeed. The first row's dedupe key is the body's
    hash; the others add their route to it, so a redelivery of the body is refused as a whole.
    """
    now = utcnow()
    digest = hashlib.sha256(body).hexdigest()
    base = {"body": body, "source": source, "received_at": now, "processed_at": None, "error": None}
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        log.warning("webhook body of %d bytes is not JSON; stored as failed", len(body))
        error = f"body is not JSON: {exc}"[:2000]
        return [_row(base, digest, BULK, None, None) | {"processed_at": now, "error": error}]
    rows = []
    for route in routes(document):
        key = (
            digest
            if not rows
            else hashlib.sha256(f"{digest}:{route.lane}:{route.contact_key}".encode()).hexdigest()
        )
        rows.append(_row(base, key, route.lane, route.contact_key, route.phone_number_id))
    return rows


def _row(base: dict, key: str, lane: str, contact: str | None, number: str | None) -> dict:
    return {
        **base,
        "dedupe_key": key,
        "attempts": 0,
        "lane": lane,
        "contact_key": contact,
        "phone_number_id": number[:64] if number else None,
    }


def receive(rows: list[dict]) -> list[int | None]:
    """Insert rows in the session's transaction (the caller commits, then announces)."""
    statement = _insert_statement(db.session.get_bind().dialect.name)
    return [db.session.execute(statement, row).scalar() for row in rows]


def stored(rows: list[dict], ids: list[int | None]) -> list[dict]:
    """What announce needs of the rows that were new and wait for processing."""
    return [
        {
            "id": event_id,
            "lane": row["lane"],
            "contact_key": row["contact_key"],
            "phone_number_id": row["phone_number_id"],
        }
        for row, event_id in zip(rows, ids, strict=True)
        if event_id is not None and row["processed_at"] is None
    ]


def writer(app: Flask) -> GroupCommitWriter:
    """This process's group-commit writer for `app`, started on first use (so after gunicorn forks)."""
    current = app.extensions.get("flowapp_intake_writer")
    if current is None or current.pid != os.getpid():

        def announce_in_app(rows: list[dict]) -> None:
            with app.app_context():
                announce(rows)

        with app.app_context():  # the webhook fast path calls this outside Flask
            engine = db.engine
        current = GroupCommitWriter(engine, announce_in_app)
        app.extensions["flowapp_intake_writer"] = current
    return current


@functools.cache
def _insert_statement(dialect: str):
    """Built once per dialect: this is the hottest statement in Flowapp, and building a statement
    costs more CPU than sending it. The table, not the model, so the ORM adds no bookkeeping."""
    table = WebhookEvent.__table__
    return (
        _INSERT[dialect](table)
        .values({name: bindparam(name) for name in COLUMNS})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.id)
    )


def announce(rows: list[dict]) -> bool:
    """Tell the workers about stored events: their contacts become ready, the bulk lane is raised,
    and a pump starts if a slot is free. False (logged) when Redis is unavailable: then intake skips
    it for a few seconds (Meta's webhooks must be answered fast) and the sweep catches up."""
    if not rows or not redis_usable():
        return False
    contacts = [(r["phone_number_id"], r["contact_key"], r["id"]) for r in rows if r["lane"] == CONTACT]
    try:
        slot = pumps.board().announce(contacts, bulk=any(r["lane"] == BULK for r in rows))
        if slot is not None:
            pumps.start(slot)
    except (RedisError, OSError) as exc:
        redis_failed()
        log.error("redis unavailable; stored webhooks wait for the sweep (%s)", type(exc).__name__)
        return False
    return True


def route_stored(limit: int = 1000) -> int:
    """Route events stored before routing existed (events still waiting across an upgrade). The
    caller commits. Returns how many were routed."""
    events = db.session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.lane.is_(None), WebhookEvent.processed_at.is_(None))
        .order_by(WebhookEvent.id)
        .limit(limit)
    ).all()
    for event in events:
        first, *others = rows_for(event.body, event.source)
        for name in ("lane", "contact_key", "phone_number_id", "processed_at", "error"):
            setattr(event, name, first[name] if name != "error" else first[name] or event.error)
        for row in others:  # a body with several senders: one event each (they keep its time)
            receive([{**row, "received_at": event.received_at}])
    db.session.flush()
    return len(events)
