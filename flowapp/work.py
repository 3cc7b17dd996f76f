"""Work that must happen after a commit, described by the layer that decides it, enqueued by jobs.

Services decide what happens next (wake a run at 9:00, call a URL, send a read receipt) but know
nothing of RQ or of the job functions: they describe it as a `Work` naming a job by its registered
name, and `after_commit(work)` keeps it on the session. When the transaction commits, the
dispatcher that `create_app` installed (`flowapp.jobs.dispatch`) enqueues it; when it rolls back,
the work is dropped together with the rows it would have read. Code that has just committed by
other means (the webhook intake's writer thread) hands work over at once with `submit`.

This keeps the layers one-way: web and jobs -> services -> models; jobs own the job functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask, current_app

from flowapp.extensions import db

DISPATCH_KEY = "flowapp_dispatch"


@dataclass(frozen=True)
class Work:
    """One job to enqueue: `job` is a name in the jobs registry (flowapp.jobs.registry)."""

    job: str
    args: tuple = ()
    queue: str = "default"
    job_id: str | None = None
    at: datetime | None = None  # not before this time (RQ's scheduled registry, or rq-scheduler's)
    # With `at`: rq-scheduler's queue instead of RQ's, for jobs that `flask scheduler` schedules again
    # from the database when it starts (deadlines). Its options then follow rq-scheduler (`timeout`).
    scheduler: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # job_timeout, result_ttl, retry, ...


def after_commit(work: Work) -> None:
    """Enqueue `work` once the session's current transaction commits (dropped on rollback)."""
    db.session.info.setdefault("work", []).append(work)


def submit(works: Iterable[Work], app: Flask | None = None) -> None:
    """Enqueue now: for callers whose rows are committed already."""
    works = list(works)
    if works:
        dispatcher(app)(works)


def dispatcher(app: Flask | None = None) -> Callable[[list[Work]], None]:
    app = app or current_app._get_current_object()
    dispatch = app.extensions.get(DISPATCH_KEY)
    if dispatch is None:
        raise RuntimeError("no work dispatcher installed: build the app with create_app()")
    return dispatch
