"""The outside calls runs wait for (HTTP request and AI steps), and finding those whose job was lost.

A run waiting on a call has its job in Redis only. If Redis loses it (flushed, a failover, a job
that crashed its worker), the run, and every message its contact sent meanwhile (held behind the
call), would wait until the run expires. So the call is also remembered on the run's wait; the
minute sweep looks for runs that have waited a while with no live job, queues the call again, and
after MAX_REQUEUES gives the run the call's failure instead (its failure port), so the held
messages move on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from flowapp.extensions import AI_QUEUE, db, get_redis
from flowapp.models import AutomationRun, utcnow
from flowapp.services import deadlines
from flowapp.work import Work

# A call queued this long ago with no job alive is lost (the longest call gives up after 90 s).
LOST_AFTER = timedelta(minutes=3)
MAX_REQUEUES = 2
_LIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def ai_work(run_id: int, token: str, node_id: str, request: dict) -> Work:
    """The job making an AI step's model call: on its own queue (seconds each, never on the
    pipeline's workers)."""
    job_id = deadlines.job_id(run_id, token).replace("deadline-", "ai-", 1)
    return Work("perform_ai", (run_id, token, node_id, request), queue=AI_QUEUE, job_id=job_id)


def http_work(run_id: int, token: str, request: dict) -> Work:
    """The job making an HTTP request node's call."""
    job_id = deadlines.job_id(run_id, token).replace("deadline-", "http-", 1)
    return Work("perform_http", (run_id, token, request), job_id=job_id)


def remember(run: AutomationRun, request: dict) -> None:
    """Keep the call on the run's wait, with when it was queued, for the sweep (flushed later).
    The state is customer data like the run's log: forgetting a contact clears it."""
    wait = dict(run.state.get("wait") or {})
    wait.update(call=request, queued_at=utcnow().isoformat(), requeued=wait.get("requeued", 0))
    run.state = {**run.state, "wait": wait}  # a new dict: the JSON column notices only that


def lost(now: datetime | None = None, limit: int = 200) -> list[AutomationRun]:
    """Waiting runs whose call was queued over LOST_AFTER ago and has no live job in Redis."""
    cutoff = ((now or utcnow()) - LOST_AFTER).isoformat()
    kind = AutomationRun.state[("wait", "kind")].as_string()  # the JSON path, read by the database
    waiting = db.session.scalars(
        select(AutomationRun)
        .where(
            AutomationRun.status == "waiting",
            AutomationRun.paused.is_(False),
            kind.in_(("ai", "http")),
        )
        .order_by(AutomationRun.id)
    )
    found = []
    for run in waiting:
        wait = run.state.get("wait") or {}
        if wait.get("kind") in ("ai", "http") and "call" in wait and wait.get("queued_at", "") < cutoff:
            if not _alive(_job_id(run.id, wait)):
                found.append(run)
                if len(found) >= limit:
                    break
    return found


def requeue(run: AutomationRun) -> Work | None:
    """The call again, as a job to enqueue after commit; None once it was queued MAX_REQUEUES times
    (the caller then fails the step). Counts the attempt on the run."""
    wait = dict(run.state["wait"])
    if wait.get("requeued", 0) >= MAX_REQUEUES:
        return None
    wait.update(requeued=wait.get("requeued", 0) + 1, queued_at=utcnow().isoformat())
    run.state = {**run.state, "wait": wait}
    if wait["kind"] == "ai":
        return ai_work(run.id, wait["token"], wait.get("node"), wait["call"])
    return http_work(run.id, wait["token"], wait["call"])


def failure(kind: str) -> tuple[str, dict]:
    """The event that gives a waiting step its failure when its call could not be made."""
    reason = "the call's job was lost and queued again without an answer"
    if kind == "ai":
        result = {
            "content": None,
            "error": reason,
            "error_kind": "lost",
            "model": None,
            "tokens_in": 0,
            "tokens_out": 0,
            "cost_micros": None,
            "latency_ms": None,
            "call_id": None,
        }
        return "ai_result", result
    return "http_result", {"status": None, "json": None, "error": reason}


def _job_id(run_id: int, wait: dict) -> str:
    prefix = "ai-" if wait["kind"] == "ai" else "http-"
    return deadlines.job_id(run_id, wait.get("token")).replace("deadline-", prefix, 1)


def _alive(job_id: str) -> bool:
    try:
        return Job.fetch(job_id, connection=get_redis()).get_status() in _LIVE
    except NoSuchJobError:
        return False
