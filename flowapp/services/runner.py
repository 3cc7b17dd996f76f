"""Runs: the host around the pure engine. Start and resume runs, persist their state and log, and
turn the engine's effects into queued messages, contact updates, HTTP calls and deadlines.

One contact's events are handled one at a time: every entry point locks the contact's row first
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's write lock does the same), so a reply and a timeout
for the same contact never race. A run stays on the version it started on.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from flowapp import engine
from flowapp.extensions import db
from flowapp.models import (
    ACTIVE_RUN_STATUSES,
    Automation,
    AutomationLog,
    AutomationRun,
    Contact,
    Conversation,
    Message,
    utcnow,
)
from flowapp.services import consent, contact_fields, run_effects, settings, triggers
from flowapp.services.inbound import Arrival, upsert_conversation

log = logging.getLogger("flowapp.automations")

# Inbound types that are not something the customer said to the bot.
NOT_ACTIONABLE = {"reaction", "edit", "revoke", "system", "unsupported"}
MAX_STEPS = 100
REPLY_WAITS = ("reply", "choice")
# A run waiting for the contact's reply took a message that also matched other automations' triggers.
TOOK_REPLY = "took_reply"
# Waits for the host's own work (a model call, an HTTP call), over in seconds: a message that arrives
# meanwhile is held (a "held" log entry on the waiting run) and handed over once the run resumes.
HOLDING_WAITS = ("ai", "http")
HELD, RELEASED = "held", "held_released"


def handle_inbound(arrival: Arrival) -> AutomationRun | None:
    """Hand a newly stored inbound message to the automations: the contact's waiting run first,
    unless a keyword marked "interrupts" matches; otherwise the best matching trigger starts a run.
    An opt-out or opt-in keyword (services/consent.py) is handled before any of them.

    The caller holds the contact (the pipeline's lease, and the row lock its upsert took), so a
    reply and a timeout for the same contact never race.
    """
    message, contact, conversation = arrival.message, arrival.contact, arrival.conversation
    if consent.handle_keyword(arrival):
        return None  # STOP or START: consent, not a message for the automations (nor a waiting run)
    if message is None or message.type in NOT_ACTIONABLE or conversation.bot_paused:
        return None  # a redelivery, not said to the bot, or a person has taken over
    # A contact created by this very message cannot have a run waiting: skip the query.
    waiting = None if arrival.new_contact else waiting_run(contact)
    if waiting is not None and _holds(waiting):
        _log(
            waiting,
            waiting.current_node,
            HELD,
            {"message_id": message.id, "text": (message.text or "")[:200]},
        )
        return waiting  # the run gets it in order after its step (release_held); no trigger meanwhile
    return _route(arrival, waiting)


def _route(arrival: Arrival, waiting: AutomationRun | None) -> AutomationRun | None:
    """The message to the waiting run, unless an interrupting keyword matches; else a trigger."""
    message, contact, conversation = arrival.message, arrival.contact, arrival.conversation
    event_data = reply_data(message)
    candidates = triggers.matching(message, contact)
    interrupting = [a for a in candidates if triggers.published_trigger(a).get("interrupts")]
    if waiting is not None and not interrupting:
        if candidates:
            # By design the waiting run takes the reply; say so where people look (the inbox, the
            # phone, the trace), naming what else matched, so a keyword never just "does nothing".
            _log(waiting, waiting.current_node, TOOK_REPLY, took_reply_detail(message, candidates))
        return resume_run(
            waiting, engine.Event("reply", event_data), message=message, conversation=conversation
        )
    if waiting is not None:
        end_run(waiting, "interrupted", f"interrupted by keyword of automation {interrupting[0].id}")
        candidates = interrupting
    for automation in candidates:
        run = start_run(
            automation,
            contact,
            trigger_data={"type": triggers.published_trigger(automation).get("type"), "message": event_data},
            message=message,
            conversation=conversation,
            new_contact=arrival.new_contact,
        )
        if run is not None:
            return run
    return None


def _holds(run: AutomationRun) -> bool:
    return (run.state.get("wait") or {}).get("kind") in HOLDING_WAITS


def release_held(contact: Contact) -> int:
    """Hand the contact's held messages (oldest first) to the automations, as if they arrived now,
    until one makes a run wait on its host again: the rest stay held for the next release. Call
    with the contact locked, after the run that held them resumed. Returns how many were handed."""
    held = db.session.scalars(
        select(AutomationLog)
        .join(AutomationRun, AutomationLog.run_id == AutomationRun.id)
        .where(AutomationRun.contact_id == contact.id, AutomationLog.event == HELD)
        .order_by(AutomationLog.id)
    ).all()
    handed = 0
    for entry in held:
        if entry.event != HELD:
            continue  # handed over meanwhile (an automation this loop started released it)
        waiting = waiting_run(contact)
        if waiting is not None and _holds(waiting):
            break
        entry.event = RELEASED
        message = db.session.get(Message, (entry.detail or {}).get("message_id"))
        if message is None:
            continue
        conversation = upsert_conversation(contact)
        if not conversation.bot_paused:  # a person took over meanwhile: the message is theirs
            _route(Arrival(message, contact, conversation, new_contact=False), waiting)
        handed += 1
    db.session.flush()
    return handed


def held_ids(contact_id: int) -> set:
    """The ids of the contact's messages held behind a run's pending step (not yet handed on)."""
    return {
        (detail or {}).get("message_id")
        for detail in db.session.scalars(
            select(AutomationLog.detail)
            .join(AutomationRun, AutomationLog.run_id == AutomationRun.id)
            .where(AutomationRun.contact_id == contact_id, AutomationLog.event == HELD)
        )
    }


def last_message(contact: Contact) -> Message | None:
    """The contact's latest message that is not held: what `{{ message.text }}` means for a run
    resumed by its host (a model's or an HTTP call's result carries no message of its own)."""
    held = held_ids(contact.id)
    latest = db.session.scalars(
        select(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Conversation.contact_id == contact.id, Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(len(held) + 1)
    )
    return next((message for message in latest if message.id not in held), None)


def took_reply_detail(message: Message, matched: list[Automation]) -> dict:
    """What the TOOK_REPLY log keeps: the message, and the automations whose triggers also matched."""
    return {
        "message_id": message.id,
        "text": (message.text or "")[:200],
        "matched": [
            {"id": a.id, "name": a.name, "keyword": triggers.published_trigger(a).get("type") == "keyword"}
            for a in matched[:5]
        ],
    }


def lock_contact(contact_id: int) -> Contact:
    """The contact, locked for this transaction: its events are handled one at a time."""
    return db.session.get(Contact, contact_id, with_for_update=True, populate_existing=True)


def waiting_run(contact: Contact) -> AutomationRun | None:
    """The contact's run that waits for a reply (the most recent, if several)."""
    return db.session.scalar(
        select(AutomationRun)
        .where(
            AutomationRun.contact_id == contact.id,
            AutomationRun.status == "waiting",
            AutomationRun.paused.is_(False),
        )
        .order_by(AutomationRun.id.desc())
        .limit(1)
    )


def reply_data(message: Message) -> dict:
    return {
        "text": message.text or "",
        "type": message.type,
        "reply_id": message.payload.get("reply_id"),
        "wamid": message.wamid,
    }


def start_run(
    automation: Automation,
    contact: Contact,
    *,
    trigger_data: dict | None = None,
    message: Message | None = None,
    parent: AutomationRun | None = None,
    broadcast_id: int | None = None,
    conversation: Conversation | None = None,
    new_contact: bool = False,
) -> AutomationRun | None:
    """Start `automation` for `contact` on its published version. None when it cannot start
    (not published, or the contact already has an active run of it; a contact created by the
    message being handled, `new_contact`, has no run at all)."""
    version = automation.published_version
    if version is None:
        return None
    if not new_contact and _active_run_of(automation, contact) is not None:
        log.info("contact %s already runs automation %s; not starting another", contact.id, automation.id)
        return None
    conversation = conversation or upsert_conversation(contact)
    run = AutomationRun(
        automation=automation,
        version=version,
        contact=contact,
        status="running",
        trigger=trigger_data or {},
        parent_run_id=parent.id if parent else None,
        broadcast_id=broadcast_id,
        variables={},
        state={},
        started_at=utcnow(),
    )
    db.session.add(
        AutomationLog(
            run=run,
            node_id=None,
            event="version",
            detail={"automation": automation.name, "version": version.number, "trigger": trigger_data or {}},
        )
    )
    now = utcnow()
    result = engine.start(
        version.graph, context(run, contact, message, now, conversation), now, max_steps=MAX_STEPS
    )
    apply_result(run, result, message, conversation)
    return run


def resume_run(
    run: AutomationRun,
    event: engine.Event,
    *,
    message: Message | None = None,
    conversation: Conversation | None = None,
) -> AutomationRun:
    """Wake a run with an event (reply, timeout, delay over, HTTP result, sub-run done)."""
    contact = run.contact
    now = utcnow()
    max_age = current_app.config.get("MAX_RUN_AGE_DAYS", 30)
    if (now - run.started_at).days >= max_age:
        end_run(run, "expired", f"older than {max_age} days")
        return run
    conversation = conversation or upsert_conversation(contact)
    result = engine.resume(
        run.version.graph,
        engine.RunState.from_dict(run.state),
        event,
        context(run, contact, message, now, conversation),
        now,
        max_steps=MAX_STEPS,
    )
    apply_result(run, result, message, conversation)
    return run


def context(
    run: AutomationRun, contact: Contact, message: Message | None, now: datetime, conversation: Conversation
) -> dict:
    """What the engine may read: the contact, the trigger, the message, the account's time zone."""
    from flowapp.services.outbound import window_open

    return {
        "contact": contact_context(contact),
        "trigger": run.trigger or {},
        "message": reply_data(message) if message is not None else {},
        "account_timezone": settings.cached("timezone") or "UTC",
        "random": random.random(),  # a random split's draw; the log records which branch it took
        "window_open": window_open(contact, now),
        "conversation_id": conversation.id,
        "allow_private_urls": bool(current_app.config.get("HTTP_ALLOW_PRIVATE")),
        "field_types": contact_fields.declared_for(run.version.graph if run.version else {}),
    }


def contact_context(contact: Contact) -> dict:
    return {
        "name": contact.name,
        "wa_id": contact.wa_id,
        "phone": f"+{contact.wa_id}",
        "fields": dict(contact.fields or {}),
        "tags": list(contact.tags or []),
        "birthday": contact.birthday.isoformat() if contact.birthday else None,
        "opted_out": contact.opted_out,
        "timezone": contact.timezone,
    }


def apply_result(
    run: AutomationRun, result: engine.Result, message: Message | None, conversation: Conversation
) -> None:
    """Persist what the engine decided and carry out its effects (flushed)."""
    state = result.state
    run.state = state.to_dict()
    run.variables = state.vars
    run.current_node = state.node
    run.status = state.status
    run.wait_deadline = _deadline(state.wait)
    run.error = state.error
    for entry in result.log:
        db.session.add(
            AutomationLog(run=run, node_id=entry.node, event=entry.event[:40], detail=entry.detail)
        )
    ended = run.status not in ACTIVE_RUN_STATUSES
    if ended:
        _mark_ended(run)
    if run.id is None:
        db.session.flush()  # the run's id is the author of the messages it queues
    later = []
    for effect in result.effects:
        if effect.kind == "start_run":
            later.append(effect)  # after this run's own state is settled: the child may end at once
        else:
            run_effects.apply(run, effect, conversation)
    if ended:
        _resume_parent(run)
    for effect in later:
        run_effects.apply(run, effect, conversation)
    db.session.flush()


def end_run(run: AutomationRun, status: str, reason: str) -> None:
    """Stop a run from outside (interrupted, expired, ended by a person)."""
    run.status = status
    run.error = reason if status in ("failed", "expired") else run.error
    _log(run, run.current_node, status, {"reason": reason})
    _mark_ended(run)
    _resume_parent(run)
    db.session.flush()


def _mark_ended(run: AutomationRun) -> None:
    run.ended_at = run.ended_at or utcnow()
    run.wait_deadline = None
    _log(run, run.current_node, "ended", {"status": run.status})


def _resume_parent(run: AutomationRun) -> None:
    if run.parent_run_id:
        parent = db.session.get(AutomationRun, run.parent_run_id)
        if (
            parent is not None
            and parent.status == "waiting"
            and (parent.state.get("wait") or {}).get("kind") == "run"
        ):
            resume_run(parent, engine.Event("run_done", {"status": run.status}))


def _active_run_of(automation: Automation, contact: Contact) -> AutomationRun | None:
    return db.session.scalar(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.contact_id == contact.id,
            AutomationRun.status.in_(ACTIVE_RUN_STATUSES),
        )
    )


def _deadline(wait: dict | None) -> datetime | None:
    if not wait or not wait.get("deadline"):
        return None
    return datetime.fromisoformat(wait["deadline"])


def _log(run: AutomationRun, node: str | None, event: str, detail: dict) -> None:
    db.session.add(AutomationLog(run=run, node_id=node, event=event[:40], detail=detail or {}))
