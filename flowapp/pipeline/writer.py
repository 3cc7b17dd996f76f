"""Group commit for webhook intake: one writer thread per process stores many bodies per transaction.

Each request thread hands its rows to the writer and waits; the writer takes everything that queued
up meanwhile, stores it with one multi-row INSERT and one COMMIT, wakes the waiting requests with
their event ids, and announces the new events once per batch. A request still answers only after
its body is committed: durability is the same as one transaction per request, at a fraction of the
cost per webhook (the database round trips and the COMMIT are shared by the batch).

The writer is lazy and per process: it starts on the first webhook (so after gunicorn forks), and a
forked child starts its own.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite

from flowapp.extensions import INTAKE_FIRST
from flowapp.models import WebhookEvent

log = logging.getLogger("flowapp.whatsapp.intake")

_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
MAX_BATCH = 200
WAIT_SECONDS = 10.0


@dataclass
class _Pending:
    rows: list[dict]
    done: threading.Event = field(default_factory=threading.Event)
    event_ids: list[int | None] = field(default_factory=list)
    error: BaseException | None = None


@functools.cache
def _statement(dialect: str):
    table = WebhookEvent.__table__
    return (
        _INSERT[dialect](table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key, table.c.id)
    )


class GroupCommitWriter:
    """Stores webhook rows in batches on its own thread. `submit()` blocks until they are committed."""

    def __init__(self, engine: Engine, on_stored: Callable[[list[dict]], None]):
        self.engine = engine
        self.on_stored = on_stored  # called after each commit with the new rows (each with its "id")
        self.queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
        self.thread.start()

    def submit(self, rows: list[dict]) -> list[int | None]:
        """Store the rows of one body; returns their ids (None where the dedupe_key existed already)."""
        pending = _Pending(rows)
        self.queue.put(pending)
        if not pending.done.wait(WAIT_SECONDS):
            raise TimeoutError("the intake writer did not store the webhook in time")
        if pending.error is not None:
            raise pending.error
        return pending.event_ids

    def close(self, timeout: float = 5.0) -> None:
        """Store what is queued, then stop the thread."""
        self.queue.put(None)
        self.thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self.queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._store(batch)

    def _store(self, batch: list[_Pending]) -> None:
        stored = []
        try:
            ids = self._insert([row for pending in batch for row in pending.rows])
            for pending in batch:
                for row in pending.rows:
                    # Two identical bodies in one batch: the first gets the id, the second is a duplicate.
                    event_id = ids.pop(row["dedupe_key"], None)
                    pending.event_ids.append(event_id)
                    if event_id is not None and row["processed_at"] is None:
                        stored.append({**row, "id": event_id})
        except BaseException as exc:  # every waiter must wake, whatever happened
            log.exception("storing %d webhook events failed", len(batch))
            for pending in batch:
                pending.error = exc
        finally:
            for pending in batch:
                pending.done.set()
        if stored:
            try:
                self.on_stored(stored)
            except Exception:
                log.exception("could not announce %d stored webhook events", len(stored))

    def _insert(self, rows: list[dict]) -> dict[str, int]:
        """One statement, one commit. Returns {dedupe_key: id} for the rows actually inserted."""
        with (
            self.engine.connect().execution_options(**{INTAKE_FIRST: True}) as connection,
            connection.begin(),
        ):
            # A list of parameter sets: SQLAlchemy sends them as one multi-row INSERT ("insertmanyvalues")
            # and compiles the statement once, whatever the batch size.
            return dict(connection.execute(_statement(self.engine.dialect.name), rows).all())
