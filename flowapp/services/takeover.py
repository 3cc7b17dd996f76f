"""Who handles a conversation: the bot or a person, which person, and whether it is settled.

Taking over pauses the bot for the conversation (`Conversation.bot_paused`: new messages start
nothing and reach no run) and pauses the contact's waiting runs (`AutomationRun.paused`: kept where
they are, receiving nothing, their deadlines ignored). Handing back undoes both: paused runs wait
again, and a deadline that passed meanwhile fires now. An agent's reply takes over by itself, the way
a person joining a chat silences the bot. Every entry point locks the contact first, like the
runner, so a take-over never races a reply being handled. Flushes, never commits.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from flowapp import work
from flowapp.extensions import db
from flowapp.models import (
    ACTIVE_RUN_STATUSES,
    Automation,
    AutomationLog,
    AutomationRun,
    AutomationVersion,
    Conversation,
    Message,
    User,
    utcnow,
)
from flowapp.services import deadlines, runner
from flowapp.services.outbound import queue_message

log = logging.getLogger("flowapp.inbox")

# Activity-log events of a person's run controls (the engine logs its own "resumed" on every reply).
PAUSED = "paused_by_person"
RESUMED = "resumed_by_person"


# What the side panel shows of a run's automation and version: names and numbers, not their graphs
# (a 300-node graph is a large JSON document).
RUN_HEADER = (
    joinedload(AutomationRun.automation).load_only(Automation.id, Automation.name),
    joinedload(AutomationRun.version).load_only(AutomationVersion.id, AutomationVersion.number),
)


class TakeoverError(ValueError):
    """A run control that does not apply (the run ended, or belongs to someone else)."""


def take_over(
    conversation: Conversation, user: User | None, reason: str = "take_over"
) -> list[AutomationRun]:
    """Pause the bot and the contact's waiting runs; a person has the conversation now.

    Clears "needs a person" (someone is on it) and assigns the conversation to `user` when it has
    nobody. Returns the runs paused.
    """
    runner.lock_contact(conversation.contact_id)
    conversation.bot_paused = True
    conversation.needs_human = False
    if user is not None and conversation.assignee_id is None:
        conversation.assignee_id = user.id
    paused = []
    for run in active_runs(conversation.contact_id):
        if not run.paused:
            run.paused = True
            _log(run, PAUSED, user, reason)
            paused.append(run)
    db.session.flush()
    return paused


def hand_back(conversation: Conversation, user: User | None) -> list[AutomationRun]:
    """Give the conversation back to the bot: it hears new messages and paused runs wait again.

    Returns the runs resumed.
    """
    runner.lock_contact(conversation.contact_id)
    conversation.bot_paused = False
    conversation.needs_human = False
    conversation.handoff_reason = None
    resumed = [run for run in active_runs(conversation.contact_id) if run.paused]
    for run in resumed:
        _unpause(run, user, "hand_back")
    db.session.flush()
    return resumed


def active_runs(contact_id: int) -> list[AutomationRun]:
    """The contact's runs that are not over (waiting, or running), newest first, paused ones included."""
    return list(
        db.session.scalars(
            select(AutomationRun)
            .where(AutomationRun.contact_id == contact_id, AutomationRun.status.in_(ACTIVE_RUN_STATUSES))
            .options(*RUN_HEADER)
            .order_by(AutomationRun.id.desc())
        )
    )


def recent_runs(contact_id: int, limit: int = 3) -> list[AutomationRun]:
    """The contact's latest finished runs (for the side panel's history)."""
    return list(
        db.session.scalars(
            select(AutomationRun)
            .where(AutomationRun.contact_id == contact_id, AutomationRun.status.not_in(ACTIVE_RUN_STATUSES))
            .options(*RUN_HEADER)
            .order_by(AutomationRun.id.desc())
            .limit(limit)
        )
    )


def get_run(conversation: Conversation, run_id: int) -> AutomationRun:
    """One of this conversation's contact's runs. Raises TakeoverError for any other id."""
    run = db.session.get(AutomationRun, run_id)
    if run is None or run.contact_id != conversation.contact_id:
        raise TakeoverError("No such run for this contact.")
    return run


def pause_run(run: AutomationRun, user: User | None) -> None:
    """Keep one run where it is, receiving nothing, until it is resumed (flushed)."""
    runner.lock_contact(run.contact_id)
    db.session.refresh(run)
    if not run.active:
        raise TakeoverError("The run has ended already.")
    if not run.paused:
        run.paused = True
        _log(run, PAUSED, user, "pause")
    db.session.flush()


def resume_run(run: AutomationRun, user: User | None) -> None:
    """Let a paused run wait again; its deadline, if it passed meanwhile, fires now (flushed)."""
    runner.lock_contact(run.contact_id)
    db.session.refresh(run)
    if not run.active:
        raise TakeoverError("The run has ended already.")
    if run.paused:
        _unpause(run, user, "resume")
    db.session.flush()


def end_run(run: AutomationRun, user: User | None) -> None:
    """Stop a run for good, as a person decided (flushed)."""
    runner.lock_contact(run.contact_id)
    db.session.refresh(run)
    if not run.active:
        raise TakeoverError("The run has ended already.")
    who = user.display_name if user is not None else "a person"
    runner.end_run(run, "interrupted", f"ended by {who} in the inbox")


def reply(conversation: Conversation, user: User, content: dict) -> Message:
    """Queue an agent's message (outbound.queue_message's content dict) and take over the
    conversation if the bot still had it. Raises outbound.SendRefused, and then changes nothing."""
    runner.lock_contact(conversation.contact_id)
    message = queue_message(conversation, content, author_type="user", author_user_id=user.id)
    if not conversation.bot_paused:
        take_over(conversation, user, reason="reply")
    elif conversation.assignee_id is None:
        conversation.assignee_id = user.id
    conversation.needs_human = False
    db.session.flush()
    return message


def assign(conversation: Conversation, assignee_id: int | None) -> None:
    """Give the conversation to an active user, or to nobody (flushed). Raises TakeoverError."""
    if assignee_id is not None:
        user = db.session.get(User, assignee_id)
        if user is None or not user.active:
            raise TakeoverError("No such user.")
    conversation.assignee_id = assignee_id
    db.session.flush()


def set_status(conversation: Conversation, status: str) -> None:
    """Close or reopen (flushed). Closing settles the matter: "needs a person" is cleared."""
    if status not in ("open", "closed"):
        raise TakeoverError("Choose open or closed.")
    conversation.status = status
    if status == "closed":
        conversation.needs_human = False
    db.session.flush()


def _unpause(run: AutomationRun, user: User | None, reason: str) -> None:
    run.paused = False
    _log(run, RESUMED, user, reason)
    token = (run.state.get("wait") or {}).get("token")
    if run.status != "waiting" or not token or run.wait_deadline is None:
        return
    if run.wait_deadline <= utcnow():
        # The deadline passed while the run was paused (its job found it paused and did nothing).
        work.after_commit(deadlines.wake_up_now(run.id, token))
    else:
        work.after_commit(deadlines.wake_up(run.id, token, run.wait_deadline))


def _log(run: AutomationRun, event: str, user: User | None, reason: str) -> None:
    detail = {"reason": reason, "by": user.display_name if user is not None else None}
    db.session.add(AutomationLog(run_id=run.id, node_id=run.current_node, event=event, detail=detail))
    log.info("run %s %s (%s)", run.id, event, reason)
