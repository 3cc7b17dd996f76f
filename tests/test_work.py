"""Work described in a transaction is enqueued when it commits, and dropped when it rolls back."""

import pytest
from rq.job import Job

from flowapp import work
from flowapp.extensions import db
from flowapp.work import Work
from tests import factories


def test_committed_work_is_enqueued_on_its_queue(session, redis):
    """After commit, and not before, the job is on the queue it names, with the id it names."""
    work.after_commit(Work("ping", ("n1",), queue="sends", job_id="ping-n1"))
    assert redis.llen("rq:queue:sends") == 0
    db.session.commit()
    assert redis.llen("rq:queue:sends") == 1
    assert redis.llen("rq:queue:default") == 0
    job = Job.fetch("ping-n1", connection=redis)
    assert job.func_name == "flowapp.jobs.system.ping" and job.args == ("n1",) and job.origin == "sends"


def test_options_reach_the_job(session, redis):
    """A Work's options (timeout, result TTL) are the job's."""
    work.after_commit(Work("ping", ("n1",), job_id="ping-n1", options={"job_timeout": 42, "result_ttl": 7}))
    db.session.commit()
    job = Job.fetch("ping-n1", connection=redis)
    assert job.timeout == 42 and job.result_ttl == 7


def test_rolled_back_work_is_dropped(session, redis):
    """Work of a transaction that rolls back is never enqueued, not even by the next commit."""
    factories.make_contact()  # what the work would have read, gone with the rollback
    work.after_commit(Work("ping", ("n1",), job_id="ping-n1"))
    db.session.rollback()
    db.session.commit()
    assert redis.llen("rq:queue:default") == 0


def test_submit_enqueues_at_once(session, redis):
    """`submit` is for callers whose rows are committed already: no commit needed."""
    work.submit([Work("ping", ("n1",), job_id="ping-n1")])
    assert redis.llen("rq:queue:default") == 1


def test_submit_needs_the_dispatcher_create_app_installs(app, monkeypatch):
    """An app built without the jobs layer's dispatcher says so rather than dropping work."""
    monkeypatch.delitem(app.extensions, work.DISPATCH_KEY)
    with pytest.raises(RuntimeError, match="no work dispatcher"):
        work.submit([Work("ping", ("n1",))], app)
