"""Graceful shutdown: `flask --app wsgi worker` given SIGTERM mid-job finishes that job, takes no new
one, and exits 0 (rq 3.0's warm shutdown: a SimpleWorker marks the stop and leaves after the job)."""

from __future__ import annotations

import signal
import time

import pytest
from rq import Queue
from rq.job import Job, JobStatus

from flowapp.extensions import get_redis
from tests import live
from tests.conftest import TEST_SECRETS

pytestmark = pytest.mark.e2e

DONE_KEY = "flowapp:test:slow-job:{name}"


def slow_job(name: str, seconds: float) -> str:
    """A job that takes `seconds` and then records that it completed (run by the real worker)."""
    time.sleep(seconds)
    get_redis().set(DONE_KEY.format(name=name), "done", ex=300)
    return "done"


def test_sigterm_lets_the_job_in_flight_finish(base_config, redis, tmp_path):
    """SIGTERM while a 2-second job runs: the job completes, the next one waits, the worker exits 0."""
    queue = Queue("default", connection=redis)
    first = queue.enqueue(slow_job, "first", 2.0, job_id="slow-first", job_timeout=60)
    second = queue.enqueue(slow_job, "second", 0.1, job_id="slow-second", job_timeout=60)
    env = live.flask_env(
        DATABASE_URL=base_config["DATABASE_URL"],
        REDIS_URL=base_config["REDIS_URL"],
        INSTANCE_PATH=tmp_path / "instance",
        LOG_DIR=tmp_path / "logs",
        FLOWAPP_ENV="development",
        **TEST_SECRETS,
    )
    (tmp_path / "logs").mkdir()
    worker = live.start(
        [live.python(), "-m", "flask", "--app", "wsgi", "worker", "-q", "default"],
        env,
        tmp_path / "worker.out",
    )
    try:
        live.wait_for(
            lambda: Job.fetch(first.id, connection=redis).get_status() == JobStatus.STARTED,
            60,
            "the worker to start the slow job",
        )
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
    finally:
        code = live.stop(worker)
    output = (tmp_path / "worker.out").read_text()
    assert code == 0, output[-3000:]
    assert redis.get(DONE_KEY.format(name="first")) == b"done", output[-3000:]
    assert Job.fetch(first.id, connection=redis).get_status() == JobStatus.FINISHED
    # Warm shutdown takes no new job: the second one is still queued for the next worker.
    assert Job.fetch(second.id, connection=redis).get_status() == JobStatus.QUEUED
    assert redis.get(DONE_KEY.format(name="second")) is None
