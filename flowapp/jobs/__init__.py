"""RQ entry points. Jobs are thin: they take ids, re-read their rows, and call one service.

The queues and the order a worker serves them are in `flowapp.extensions.QUEUES`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from rq import Retry
from rq.job import Job

from flowapp.extensions import get_queue


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


def registry() -> dict[str, Callable]:
    """Every job a `flowapp.work.Work` may name, by name (imported here, on first use)."""
    from flowapp.jobs import automations, contacts, inbound, inbox, sends, system

    modules = (automations, contacts, inbound, inbox, sends, system)
    return {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }


def dispatch(works) -> None:
    """Enqueue described work (installed by create_app as the after-commit dispatcher).

    The same work twice in one transaction (two sends both asking to wake the outbox) is enqueued once.
    """
    jobs = registry()
    seen = set()
    for work in works:
        key = (work.job, work.args, work.queue, work.job_id, work.at)
        if key in seen:
            continue
        seen.add(key)
        func = jobs.get(work.job)
        if func is None:
            raise LookupError(f"no job named {work.job!r}")
        queue = get_queue(work.queue)
        if work.at is not None:
            queue.enqueue_at(work.at, func, *work.args, job_id=work.job_id, **work.options)
        else:
            queue.enqueue(func, *work.args, job_id=work.job_id, **work.options)
