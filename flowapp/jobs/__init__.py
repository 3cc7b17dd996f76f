"""RQ entry points. Jobs are thin: they take ids, re-read their rows, and call one service.

Queues, in the order a worker serves them:
- webhooks: processing what Meta delivered (a customer is waiting for the reply);
- sends: the outbound pipeline;
- default: everything else (periodic work, imports, broadcasts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from rq import Retry
from rq.job import Job

from flowapp.extensions import get_queue

QUEUES = ("webhooks", "sends", "default")


def enqueue(
    queue: str,
    func: Callable,
    *args: Any,
    job_id: str | None = None,
    retry: Retry | None = None,
    app: Flask | None = None,
    **options: Any,
) -> Job:
    """Put `func(*args)` on `queue`. Call only after the rows it reads are committed."""
    app = app or current_app._get_current_object()
    return get_queue(queue, app).enqueue(func, *args, job_id=job_id, retry=retry, **options)
