"""Automation jobs: deadlines, HTTP and model calls, scheduled triggers, broadcasts, and upkeep."""

from __future__ import annotations

import logging

from flask import current_app

from flowapp import engine, work
from flowapp.extensions import db
from flowapp.models import AutomationRun
from flowapp.services import ai_steps, broadcasts, calls, deadlines, http_node, maintenance, runner, triggers

log = logging.getLogger("flowapp.jobs.automations")

_EVENT_FOR_WAIT = {"delay": "delay_over", "reply": "timeout", "choice": "timeout"}


def _waiting(run_id: int, token: str) -> AutomationRun | None:
    """The run, locked through its contact, if it still waits with this token; else None (rolled back)."""
    run = db.session.get(AutomationRun, run_id)
    if run is None:
        return None
    runner.lock_contact(run.contact_id)
    db.session.refresh(run)
    if run.status != "waiting" or (run.state.get("wait") or {}).get("token") != token or run.paused:
        db.session.rollback()
        return None
    return run


def fire_deadline(run_id: int, token: str) -> str:
    """Wake a run whose wait ended. A stale deadline (the run moved on) does nothing."""
    run = _waiting(run_id, token)
    if run is None:
        return "stale"
    wait = run.state["wait"]
    kind = _EVENT_FOR_WAIT.get(wait.get("kind"))
    if kind is None:
        db.session.rollback()
        return "not a timed wait"
    runner.resume_run(run, engine.Event(kind, {"node": wait.get("node"), "token": token}))
    db.session.commit()
    return run.status


def perform_http(run_id: int, token: str, request: dict) -> str:
    """Make an HTTP request node's call (no lock held meanwhile), then resume its run with the result."""
    result = http_node.call(request, allow_private=current_app.config.get("HTTP_ALLOW_PRIVATE", False))
    run = _waiting(run_id, token)
    if run is None or run.state["wait"].get("kind") != "http":
        return _stale(run_id)
    runner.resume_run(run, engine.Event("http_result", result), message=runner.last_message(run.contact))
    runner.release_held(run.contact)
    db.session.commit()
    return f"{result['status']} {run.status}"


def perform_ai(run_id: int, token: str, node_id: str, request: dict) -> str:
    """Make an AI node's model call (queue "ai"; no lock or transaction held meanwhile), commit its
    record, then resume the run with the "ai_result" and hand it the messages held meanwhile."""
    run = db.session.get(AutomationRun, run_id)
    if run is None or run.status != "waiting" or (run.state.get("wait") or {}).get("token") != token:
        return _stale(run_id)  # the run moved on (ended by a person, expired): no call, no cost
    automation_id, contact_id = run.automation_id, run.contact_id
    result = ai_steps.call(
        request, automation_id=automation_id, run_id=run_id, node_id=node_id, contact_id=contact_id
    )
    db.session.commit()  # the call's record, also after a failure: budgets count failed calls
    run = _waiting(run_id, token)
    if run is None or run.state["wait"].get("kind") != "ai":
        return _stale(run_id)
    runner.resume_run(run, engine.Event("ai_result", result), message=runner.last_message(run.contact))
    runner.release_held(run.contact)
    db.session.commit()
    outcome = "unknown" if result.get("unknown") else result["error_kind"] or "ok"
    return f"{outcome} {run.status}"


def _stale(run_id: int) -> str:
    """The run no longer waits for this call (ended by a person, expired): the messages held behind
    it go on to the automations now, unless another run of the contact holds them."""
    db.session.rollback()
    run = db.session.get(AutomationRun, run_id)
    if run is not None:
        runner.lock_contact(run.contact_id)
        runner.release_held(run.contact)
    db.session.commit()
    return "stale"


def sweep_deadlines() -> int:
    """Periodic: fire deadlines that passed without their job (Redis flushed, a job lost), and queue
    again the HTTP and model calls whose job was lost (services/calls.py)."""
    count = 0
    for run_id, token in deadlines.overdue():
        if token and fire_deadline(run_id, token) != "stale":
            count += 1
    db.session.commit()
    for run_id, token in [(run.id, run.state["wait"].get("token")) for run in calls.lost()]:
        if _recover_call(run_id, token):
            count += 1
    return count


def _recover_call(run_id: int, token: str) -> bool:
    """Queue a lost call again, or after MAX_REQUEUES give its step the failure (its failure port)
    and hand the held messages on. False when the run moved on meanwhile."""
    run = _waiting(run_id, token)
    if run is None or run.state["wait"].get("kind") not in ("ai", "http"):
        return False
    again = calls.requeue(run)
    if again is not None:
        work.after_commit(again)
        log.warning("run %s: its %s call's job was lost; queued again", run_id, run.state["wait"]["kind"])
    else:
        kind, result = calls.failure(run.state["wait"]["kind"])
        runner.resume_run(run, engine.Event(kind, result), message=runner.last_message(run.contact))
        runner.release_held(run.contact)
        log.warning("run %s: its call's job was lost again; the step failed", run_id)
    db.session.commit()
    return True


def expire_runs() -> int:
    """Periodic: end runs older than MAX_RUN_AGE_DAYS."""
    count = maintenance.expire_old_runs(current_app.config.get("MAX_RUN_AGE_DAYS", 30))
    db.session.commit()
    return count


def fire_scheduled_triggers() -> int:
    """Every minute: date-field triggers (birthdays...) and cron/one-off schedules."""
    started = triggers.fire_date_triggers() + triggers.fire_schedules()
    db.session.commit()
    return started


def run_broadcast(broadcast_id: int) -> dict:
    """Start an automation for every contact of a broadcast's audience, recording progress."""
    return broadcasts.run(broadcast_id)


def aggregate_analytics() -> int:
    """Hourly: roll messages and runs up into the analytics counters."""
    count = maintenance.aggregate_analytics()
    db.session.commit()
    return count


def cleanup_logs() -> int:
    """Weekly: delete automation logs and processed webhook bodies older than the retention (never
    messages)."""
    count = maintenance.cleanup(current_app.config.get("LOG_RETENTION_DAYS", 30))
    db.session.commit()
    return count
