"""Group commit: concurrent webhook bodies stored in shared transactions, each committed before return."""

import threading

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import WebhookEvent
from flowapp.pipeline import intake
from flowapp.pipeline.writer import GroupCommitWriter


@pytest.fixture
def live_app(make_app, live_database_url, redis):
    """An app on its own database (group commit writes on its own connection, outside any test
    rollback): a SQLite file, or a fresh PostgreSQL database when the suite runs on PostgreSQL."""
    app = make_app(DATABASE_URL=live_database_url, INTAKE_GROUP_COMMIT=True)
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
    return app


def test_concurrent_bodies_are_each_stored_once(live_app):
    """Sixteen threads storing 25 bodies each: every body stored once, duplicates recognised."""
    results: dict[bytes, list] = {}
    lock = threading.Lock()
    batches = []
    original = GroupCommitWriter._store

    def counting_store(self, batch):
        batches.append(len(batch))
        return original(self, batch)

    def work(thread: int):
        with live_app.app_context():
            for n in range(25):
                body = b'{"n": %d}' % (n % 20 * 100 + thread % 8)  # many bodies sent twice
                outcome = intake.store(body)
                with lock:
                    results.setdefault(body, []).append(outcome)

    GroupCommitWriter._store = counting_store
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        GroupCommitWriter._store = original
    with live_app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(WebhookEvent))
    assert stored == len(results)
    for outcomes in results.values():
        ids = [event_id for event_id, _ in outcomes if event_id is not None]
        assert len(ids) == 1, outcomes  # exactly one caller stored it; the others saw a duplicate
    assert sum(batches) == 16 * 25 and max(batches) > 1  # and some transactions held several bodies


def test_store_returns_after_commit(live_app):
    """When store() returns, another connection sees the row."""
    with live_app.app_context():
        event_id, pending = intake.store(b'{"hello": "world"}')
        assert pending is True
        with db.engine.connect() as other:
            assert (
                other.execute(select(WebhookEvent.id).where(WebhookEvent.id == event_id)).scalar() == event_id
            )


def test_database_failure_reaches_every_waiter(live_app, tmp_path):
    """If the insert fails, each waiting request gets the error (and answers 500: Meta retries)."""
    with live_app.app_context():
        writer = intake.writer(live_app)
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE webhook_events")
        with pytest.raises(Exception, match="webhook_events"):
            writer.submit(intake.rows_for(b"{}", "meta"))
