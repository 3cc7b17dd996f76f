"""The jobs layer's dispatcher: described work becomes RQ jobs (once each, at their time, by name)."""

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq_scheduler import Scheduler

from flowapp import jobs, work
from flowapp.extensions import db
from flowapp.services import outbox
from flowapp.work import Work


def test_the_same_work_twice_in_a_transaction_is_enqueued_once(session, redis):
    """Two sends in one transaction both ask for the same job: it is enqueued once (dict args too)."""
    for _ in range(2):
        work.after_commit(Work("ping", ("n1",), job_id="ping-n1"))
        work.after_commit(Work("perform_http", (1, "t", {"url": "https://example.com"}), job_id="http-1-t"))
    db.session.commit()
    assert redis.llen("rq:queue:default") == 2


def test_at_schedules_instead_of_enqueueing(session, redis):
    """A Work with `at` waits in RQ's scheduled registry of its queue until that time."""
    at = datetime.now(UTC) + timedelta(hours=1)
    work.after_commit(Work("kick_outbox", queue="sends", job_id="wakeup-1", at=at))
    db.session.commit()
    assert redis.llen("rq:queue:sends") == 0
    registry = ScheduledJobRegistry("sends", connection=redis)
    assert registry.get_job_ids() == ["wakeup-1"]
    assert abs((registry.get_scheduled_time("wakeup-1") - at).total_seconds()) < 1


def test_scheduler_work_goes_to_rq_scheduler(session, redis):
    """With scheduler=True the job waits in rq-scheduler (what `flask scheduler` runs and rebuilds)."""
    at = datetime.now(UTC) + timedelta(hours=1)
    work.after_commit(
        Work(
            "fire_deadline", (1, "t"), job_id="deadline-1-t", at=at, scheduler=True, options={"timeout": 300}
        )
    )
    db.session.commit()
    assert redis.llen("rq:queue:default") == 0
    assert ScheduledJobRegistry("default", connection=redis).get_job_ids() == []
    (job,) = Scheduler(queue_name="default", connection=redis).get_jobs()
    assert job.id == "deadline-1-t" and job.origin == "default" and job.timeout == 300
    assert job.func_name == "flowapp.jobs.automations.fire_deadline"


def test_an_unknown_job_name_raises_and_enqueues_nothing(session, redis):
    """A misspelt job is a bug: it raises, and the valid work beside it is not half enqueued."""
    with pytest.raises(LookupError, match="no_such_job"):
        work.submit([Work("ping", ("n1",)), Work("no_such_job")])
    assert redis.llen("rq:queue:default") == 0


def test_registry_names_only_job_functions():
    """The registry holds the jobs of the job modules, not what they import (start_drain, helpers)."""
    registry = jobs.registry()
    assert registry["drain_outbox"].__module__ == "flowapp.jobs.sends"
    assert "start_drain" not in registry and "enqueue" not in registry
    assert not any(name.startswith("_") for name in registry)


def test_a_drain_takes_a_free_slot(app, session, redis):
    """Asking for a drain starts one per free slot (SEND_PARALLEL), then no more until a slot frees."""
    parallel = app.config["SEND_PARALLEL"]
    for _ in range(parallel + 1):
        work.submit([outbox.DRAIN])
    queued = Queue("sends", connection=redis).jobs
    assert len(queued) == parallel
    assert sorted(job.args for job in queued) == [(slot,) for slot in range(parallel)]
    assert {job.func_name for job in queued} == {"flowapp.jobs.sends.drain_outbox"}
    assert all(job.timeout == outbox.DRAIN_TIMEOUT and job.result_ttl == 60 for job in queued)
    outbox.release_slot(redis, 0)
    assert jobs.start_drain() is True
    assert Job.fetch(Queue("sends", connection=redis).job_ids[-1], connection=redis).args == (0,)
