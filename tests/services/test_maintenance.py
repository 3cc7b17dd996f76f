"""Periodic upkeep: schedule triggers, run expiry and the retention cleanup (which never touches messages)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from flowapp.extensions import db
from flowapp.models import (
    AutomationLog,
    AutomationRun,
    Broadcast,
    Message,
    WebhookEvent,
    utcnow,
)
from flowapp.services import automations, maintenance, settings, triggers
from tests import factories

LOG_ONLY = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 0, "y": 0}},
        {"id": "note", "type": "log", "config": {"message": "weekly"}, "position": {"x": 200, "y": 0}},
    ],
    "edges": [{"from": "start", "port": "next", "to": "note"}],
}


def published(trigger: dict):
    automation = automations.create("Upkeep", trigger=trigger, graph=LOG_ONLY)
    version = automations.publish(automation)
    automation.status = "active"
    db.session.flush()
    return automation, version


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def audience(session):
    """Two VIPs (one opted out) and one other customer."""
    factories.make_contact("15550000001", tags=["vip"])
    factories.make_contact("15550000002", tags=["vip"], opted_out=True)
    factories.make_contact("15550000003", tags=["other"])


def test_cron_schedule_fires_once_in_the_account_time_zone(audience, redis):
    """09:00 in Lima is 14:00 UTC. Two missed days fire once, as the latest; then nothing until the next."""
    settings.put("timezone", "America/Lima")
    automation, version = published({"type": "schedule", "cron": "0 9 * * *", "audience": {"tags": ["vip"]}})
    day = (version.created_at + timedelta(days=2)).date()
    before_nine = datetime.combine(day, time(13, 30), UTC)  # 08:30 in Lima
    after_nine = datetime.combine(day, time(14, 30), UTC)

    assert triggers.fire_schedules(before_nine) == 1  # yesterday's 09:00, missed
    assert triggers.fire_schedules(before_nine + timedelta(minutes=1)) == 0
    assert triggers.fire_schedules(after_nine) == 1  # today's
    assert triggers.fire_schedules(after_nine + timedelta(minutes=1)) == 0

    broadcasts = db.session.scalars(select(Broadcast).order_by(Broadcast.id)).all()
    assert [b.automation_id for b in broadcasts] == [automation.id, automation.id]
    assert all(b.total == 1 for b in broadcasts)  # the opted-out VIP and the other customer are not in it
    assert broadcasts[1].audience["note"].startswith(f"schedule {day.isoformat()}T09:00")


def test_one_off_schedule_fires_once(audience, redis):
    settings.put("timezone", "UTC")
    _, version = published({"type": "schedule", "at": "2099-01-01T09:00", "audience": {}})
    at = datetime(2099, 1, 1, 9, 0, tzinfo=UTC)
    assert triggers.fire_schedules(at - timedelta(minutes=1)) == 0
    assert triggers.fire_schedules(at) == 1
    assert triggers.fire_schedules(at + timedelta(days=1)) == 0
    assert db.session.scalar(select(Broadcast.total)) == 2  # everyone not opted out


def run_for(version, contact, status, age: timedelta) -> AutomationRun:
    run = AutomationRun(
        automation_id=version.automation_id,
        version_id=version.id,
        contact_id=contact.id,
        status=status,
        current_node="note",
        started_at=utcnow() - age,
    )
    db.session.add(run)
    db.session.flush()
    return run


def test_runs_past_the_maximum_age_expire(session, redis):
    _, version = published({"type": "manual"})
    old_waiting = run_for(version, factories.make_contact("15550000011"), "waiting", timedelta(days=31))
    new_waiting = run_for(version, factories.make_contact("15550000012"), "waiting", timedelta(days=29))
    old_done = run_for(version, factories.make_contact("15550000013"), "completed", timedelta(days=60))

    assert maintenance.expire_old_runs(30) == 1
    assert old_waiting.status == "expired" and old_waiting.ended_at is not None
    assert old_waiting.error == "older than 30 days"
    assert new_waiting.status == "waiting" and old_done.status == "completed"
    logged = db.session.scalars(select(AutomationLog.event).where(AutomationLog.run_id == old_waiting.id))
    assert "expired" in list(logged)


def test_cleanup_deletes_old_logs_and_bodies_but_never_messages(session, redis):
    _, version = published({"type": "manual"})
    long_ago = utcnow() - timedelta(days=40)
    contact = factories.make_contact("15550000021")
    ended = run_for(version, contact, "completed", timedelta(days=41))
    waiting = run_for(version, factories.make_contact("15550000022"), "waiting", timedelta(days=41))
    old_ended_log = AutomationLog(run_id=ended.id, event="step", created_at=long_ago)
    recent_log = AutomationLog(run_id=ended.id, event="step")
    waiting_log = AutomationLog(run_id=waiting.id, event="step", created_at=long_ago)
    conversation = factories.make_conversation(contact)
    message = Message(
        conversation_id=conversation.id, direction="in", type="text", text="keep me", created_at=long_ago
    )

    def event(key, **fields):
        return WebhookEvent(body=b"{}", dedupe_key=key, received_at=long_ago, attempts=0, **fields)

    processed = event("a", processed_at=long_ago)
    failed = event("b", processed_at=long_ago, error="kept to be looked at")
    unprocessed = event("c")
    db.session.add_all([old_ended_log, recent_log, waiting_log, message, processed, failed, unprocessed])
    db.session.flush()

    assert maintenance.cleanup(30) == 2
    db.session.expire_all()
    remaining_logs = set(db.session.scalars(select(AutomationLog.id).where(AutomationLog.event == "step")))
    assert remaining_logs == {recent_log.id, waiting_log.id}  # a waiting run keeps its whole trace
    assert set(db.session.scalars(select(WebhookEvent.dedupe_key))) == {"b", "c"}
    assert db.session.get(Message, message.id).text == "keep me"
