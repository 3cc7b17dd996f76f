"""rq-scheduler with the pinned rq: periodic reconciliation and due jobs reaching a worker."""

from datetime import UTC, datetime, timedelta

from rq import Queue
from rq_scheduler import Scheduler

from flowapp.jobs import schedule
from flowapp.services.workers import PING_KEY
from tests.jobs.test_worker import run_worker_burst

ENTRIES = [
    schedule.Periodic("flowapp.jobs.system.ping", "*/5 * * * *"),
    schedule.Periodic("flowapp.jobs.system.ping", "0 * * * *", queue="default"),
]


def test_reconcile_is_idempotent(redis):
    """Reconciling twice leaves one job per entry, with ids derived from the definition."""
    scheduler = Scheduler(queue_name="default", connection=redis)
    first = schedule.reconcile(scheduler, ENTRIES)
    second = schedule.reconcile(scheduler, ENTRIES)
    assert first == second
    ids = sorted(job.id for job in scheduler.get_jobs())
    assert ids == sorted(entry.job_id for entry in ENTRIES)


def test_reconcile_cancels_removed_entries(redis):
    """An entry removed from the list is cancelled; unrelated scheduled jobs are left alone."""
    scheduler = Scheduler(queue_name="default", connection=redis)
    other = scheduler.enqueue_in(timedelta(hours=1), "flowapp.jobs.system.ping", "x")
    schedule.reconcile(scheduler, ENTRIES)
    schedule.reconcile(scheduler, ENTRIES[:1])
    ids = {job.id for job in scheduler.get_jobs()}
    assert ids == {ENTRIES[0].job_id, other.id}


def test_due_job_is_enqueued_and_run(app, redis):
    """A job due now is moved to its queue by rq-scheduler and run by the worker."""
    scheduler = Scheduler(queue_name="default", connection=redis)
    scheduler.enqueue_at(datetime.now(UTC) - timedelta(seconds=1), "flowapp.jobs.system.ping", "sched1")
    scheduler.enqueue_jobs()
    assert Queue("default", connection=redis).count == 1
    run_worker_burst(app, redis)
    assert redis.get(PING_KEY.format(nonce="sched1")) is not None
