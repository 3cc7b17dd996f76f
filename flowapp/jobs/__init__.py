"""RQ entry points. Jobs are thin: they take ids, re-read their rows, and call one service.

Services never enqueue: they describe what should follow as a `flowapp.work.Work`, and `dispatch`
(installed by create_app) enqueues it once the transaction commits. The queues and the order a
worker serves them are in `flowapp.extensions.QUEUES`.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, current_app
from redis.exceptions import RedisError
from rq import Retry
from rq.job import Job
from rq_scheduler import Scheduler

from flowapp.extensions import get_queue
from flowapp.services import outbox
from flowapp.work import Work

log = logging.getLogger("flowapp.whatsapp.sending")


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
    from flowapp.jobs import automations, contacts, inbound, inbox, knowledge, sends, system

    modules = (automations, contacts, inbound, inbox, knowledge, sends, system)
    return {
        name: value
        for module in modules
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }


def dispatch(works: Iterable[Work]) -> None:
    """Enqueue described work (installed by create_app as the after-commit dispatcher).

    The same work twice in one transaction (two sends both asking to wake the outbox) is enqueued
    once. Every name is looked up before anything is enqueued, so a misspelt job enqueues nothing.
    """
    jobs = registry()
    resolved = []
    for work in _distinct(works):
        func = jobs.get(work.job)
        if func is None:
            raise LookupError(f"no job named {work.job!r}")
        resolved.append((work, func))
    for work, func in resolved:
        if work.job == "drain_outbox":
            start_drain(work)  # a drain needs a free slot, taken as it starts
        else:
            _enqueue(work, func)


def _distinct(works: Iterable[Work]) -> list[Work]:
    """`works` without repeats. Arguments may be dicts (an HTTP node's request), so they are
    compared by their repr; options do not make two works different."""
    seen, distinct = set(), []
    for work in works:
        key = (work.job, repr(work.args), work.queue, work.job_id, work.at, work.scheduler)
        if key not in seen:
            seen.add(key)
            distinct.append(work)
    return distinct


def _enqueue(work: Work, func: Callable) -> None:
    queue = get_queue(work.queue)
    if work.at is None:
        queue.enqueue(func, *work.args, job_id=work.job_id, **work.options)
    elif work.scheduler:
        scheduler = Scheduler(queue_name=work.queue, connection=queue.connection)
        scheduler.enqueue_at(work.at, func, *work.args, job_id=work.job_id, **work.options)
    else:
        queue.enqueue_at(work.at, func, *work.args, job_id=work.job_id, **work.options)


def start_drain(work: Work = outbox.DRAIN) -> bool:
    """Start a drain of the outbox in a free slot, unless SEND_PARALLEL drains hold them all.

    This runs in the process that asks for a drain (after its commit), not as a job of its own: a
    burst of sends then costs no job per commit, and a busy drain picks their messages up. Returns
    False when no drain was started; a lost wake-up is the periodic kick's to make good.
    """
    from flowapp.jobs.sends import drain_outbox

    try:
        slot = outbox.take_slot()
        if slot is None:
            return False
        job_id = f"drain-{slot}-{uuid.uuid4().hex[:12]}"
        get_queue(work.queue).enqueue(drain_outbox, slot, job_id=job_id, **work.options)
    except (RedisError, OSError) as exc:
        log.error("cannot wake the send pipeline (%s); the periodic kick will", type(exc).__name__)
        return False
    return True
