"""Deadlines survive anything: the database holds them; the scheduler's jobs are rebuilt from it."""

from datetime import timedelta

from rq import Queue
from rq_scheduler import Scheduler
from sqlalchemy import select

from flowapp import work
from flowapp.extensions import db
from flowapp.models import AutomationRun, utcnow
from flowapp.services import deadlines
from tests.jobs.test_worker import run_worker_burst
from tests.services.test_runner import MENU, deliver, publish


def scheduled_ids(redis) -> set[str]:
    return {job.id for job in Scheduler(queue_name="default", connection=redis).get_jobs()}


def test_waiting_run_schedules_its_deadline_after_commit(session, redis):
    """A wait with a timeout puts a wake-up job in rq-scheduler once the transaction commits."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)
    deliver(text="menu")
    run = db.session.scalar(select(AutomationRun))
    assert deadlines.job_id(run.id, run.state["wait"]["token"]) in scheduled_ids(redis)


def rebuild() -> int:
    """What `flask scheduler` does at start: schedule every waiting run's wake-up again."""
    wake_ups = deadlines.wake_ups()
    work.submit(wake_ups)
    return len(wake_ups)


def test_flushing_redis_loses_nothing(app, session, redis):
    """After Redis is flushed, rebuilding at scheduler start brings the deadline back, and it fires."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)
    deliver(text="menu")
    run = db.session.scalar(select(AutomationRun))
    redis.flushdb()
    assert scheduled_ids(redis) == set()
    run.wait_deadline = utcnow() - timedelta(seconds=1)  # and it is already due
    db.session.commit()
    assert rebuild() == 1
    assert deadlines.job_id(run.id, run.state["wait"]["token"]) in scheduled_ids(redis)
    Scheduler(queue_name="default", connection=redis).enqueue_jobs()
    assert Queue("default", connection=redis).count == 1
    run_worker_burst(app, redis)
    db.session.expire_all()
    assert db.session.get(AutomationRun, run.id).status == "completed"


def test_rebuild_is_idempotent(session, redis):
    """Rebuilding twice schedules each deadline once (job ids come from run and token)."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)
    deliver(text="menu")
    rebuild()
    rebuild()
    assert len([i for i in scheduled_ids(redis) if i.startswith("deadline-")]) == 1


def test_paused_runs_are_left_to_hand_back(session, redis):
    """A paused run's overdue deadline is neither swept nor rescheduled (hand-back deals with it)."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)
    deliver(text="menu")
    run = db.session.scalar(select(AutomationRun))
    run.paused = True
    run.wait_deadline = utcnow() - timedelta(minutes=5)
    db.session.commit()
    redis.flushdb()
    assert deadlines.overdue() == []
    assert rebuild() == 0
