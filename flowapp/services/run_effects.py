"""Carrying out what the engine asks for: sends, contact updates, HTTP and model calls, deadlines,
hand-offs."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import select

from flowapp import engine, work
from flowapp.extensions import db
from flowapp.models import AutomationLog, AutomationRun, Conversation
from flowapp.services import calls, consent, contact_fields, deadlines
from flowapp.services.outbound import SendRefused, queue_message

log = logging.getLogger("flowapp.automations")


def apply(run: AutomationRun, effect: engine.Effect, conversation: Conversation) -> None:
    """Perform one effect for `run` (flushed). Failures are logged on the run, never raised."""
    handler = _HANDLERS.get(effect.kind)
    if handler is None:
        _note(run, effect.node, "effect_ignored", {"kind": effect.kind})
        return
    handler(run, effect, conversation)


def _send(run: AutomationRun, effect: engine.Effect, conversation: Conversation) -> None:
    try:
        message = queue_message(
            conversation, effect.data, author_type="run", run_id=run.id, node_id=effect.node
        )
    except SendRefused as exc:
        # The engine moved on; the activity log says why the customer did not get this message.
        _note(run, effect.node, "send_refused", {"field": exc.field, "reason": exc.reason})
        log.warning("run %s node %s: send refused: %s", run.id, effect.node, exc)
        return
    _note(run, effect.node, "queued", {"message_id": message.id, "type": effect.data.get("type")})


def _update_contact(run: AutomationRun, effect: engine.Effect, _conversation) -> None:
    contact = run.contact
    data = effect.data
    if data.get("name"):
        contact.display_name = str(data["name"])[:256]
    if data.get("fields"):
        _update_fields(run, effect.node, data["fields"])
    if data.get("birthday"):
        try:
            contact.birthday = date.fromisoformat(str(data["birthday"])[:10])
        except ValueError:
            _note(run, effect.node, "invalid_birthday", {"value": str(data["birthday"])[:40]})
    tags = [t for t in (contact.tags or []) if t not in set(data.get("remove_tags") or [])]
    tags += [t for t in data.get("add_tags") or [] if t not in tags]
    contact.tags = tags
    if "opted_out" in data and data["opted_out"] is not None:
        consent.set_opted_out(
            contact, bool(data["opted_out"]), source="automation", text=f"automation run {run.id}"
        )
    _note(run, effect.node, "contact_updated", {k: v for k, v in data.items() if v not in (None, [], {})})


def _update_fields(run: AutomationRun, node: str | None, values: dict) -> None:
    """Store the values that fit their declared types (checked again here: the engine's copy of the
    declarations may be older than Settings); None clears a field. The rest are logged."""
    kept, refused = contact_fields.checked_values(values, contact_fields.declared())
    for key, reason in refused.items():
        _note(run, node, "field_refused", {"field": key, "value": str(values[key])[:100], "reason": reason})
    fields = {**(run.contact.fields or {}), **kept}
    run.contact.fields = {key: value for key, value in fields.items() if value is not None}


def _http(run: AutomationRun, effect: engine.Effect, _conversation) -> None:
    token = (run.state.get("wait") or {}).get("token")
    work.after_commit(calls.http_work(run.id, token, effect.data))
    calls.remember(run, effect.data)


def _ai(run: AutomationRun, effect: engine.Effect, _conversation) -> None:
    # Its own queue: a model call takes seconds and must not hold the workers the pipeline needs.
    token = (run.state.get("wait") or {}).get("token")
    work.after_commit(calls.ai_work(run.id, token, effect.node, effect.data))
    calls.remember(run, effect.data)


def _wait_until(run: AutomationRun, effect: engine.Effect, _conversation) -> None:
    # The deadline is already on the run row (the database is the source of truth); this only
    # asks the scheduler to wake the run on time.
    work.after_commit(deadlines.wake_up(run.id, effect.data["token"], effect.data["deadline"]))


def _handoff(run: AutomationRun, effect: engine.Effect, conversation: Conversation) -> None:
    conversation.needs_human = True
    conversation.bot_paused = True
    conversation.handoff_reason = (effect.data.get("reason") or "The automation handed over to a person.")[
        :500
    ]
    if conversation.status == "closed":
        conversation.status = "open"
    # Other runs of this contact wait quietly while a person handles the conversation (as a take-over
    # does): none of them times out and talks over the agent. Hand-back resumes them.
    for other in db.session.scalars(
        select(AutomationRun).where(
            AutomationRun.contact_id == run.contact_id,
            AutomationRun.id != run.id,
            AutomationRun.status == "waiting",
            AutomationRun.paused.is_(False),
        )
    ):
        other.paused = True
        _note(other, other.current_node, "paused", {"reason": "handed off to a person", "by": run.id})
    _note(run, effect.node, "handed_off", {"reason": conversation.handoff_reason})


def _log_message(run: AutomationRun, effect: engine.Effect, _conversation) -> None:
    _note(run, effect.node, "log", {"message": str(effect.data.get("message", ""))[:2000]})


def _start_run(run: AutomationRun, effect: engine.Effect, _conversation) -> None:
    from flowapp.models import Automation
    from flowapp.services import runner

    target = db.session.get(Automation, effect.data.get("automation_id"))
    child = None
    if target is not None and target.status == "active":
        child = runner.start_run(
            target,
            run.contact,
            trigger_data={"type": "run_automation", "parent": run.id},
            parent=run if effect.data.get("wait", True) else None,
        )
    if child is None:
        _note(run, effect.node, "subflow_not_started", {"automation_id": effect.data.get("automation_id")})
        if effect.data.get("wait", True) and run.status == "waiting":
            runner.resume_run(run, engine.Event("run_done", {"status": "failed"}))


def _note(run: AutomationRun, node: str | None, event: str, detail: dict) -> None:
    db.session.add(AutomationLog(run_id=run.id, node_id=node, event=event, detail=detail))


_HANDLERS = {
    "send": _send,
    "update_contact": _update_contact,
    "http": _http,
    "ai": _ai,
    "wait_until": _wait_until,
    "handoff": _handoff,
    "log": _log_message,
    "start_run": _start_run,
}
