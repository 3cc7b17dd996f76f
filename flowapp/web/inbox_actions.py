"""Inbox actions from the side panel and the thread: reading, assignment, labels, closing, the bot and
its runs, and the contact. Each answers with the fragment it changed and an HX-Trigger, so that the
page's other pollers refresh at once instead of at their next tick.
"""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user

from flowapp import work
from flowapp.extensions import db
from flowapp.services import inbox, inbox_edits, inbox_thread, takeover
from flowapp.web.inbox_common import bp, changed, get_conversation

RUN_ACTIONS = {"pause": takeover.pause_run, "resume": takeover.resume_run, "end": takeover.end_run}


def _panel(conversation, error: str | None = None):
    from flowapp.web.inbox import panel_context

    return render_template("inbox/_panel.html", panel_error=error, **panel_context(conversation))


def _apply(conversation_id: int, change):
    """Run `change(conversation)`; commit and answer the fresh panel, or roll back and say why."""
    conversation = get_conversation(conversation_id)
    try:
        change(conversation)
    except (takeover.TakeoverError, inbox.InboxError) as exc:
        db.session.rollback()
        return _panel(get_conversation(conversation_id), getattr(exc, "reason", str(exc)))
    db.session.commit()
    return changed(_panel(conversation))


@bp.post("/c/<int:conversation_id>/read")
def mark_read(conversation_id: int):
    """The agent saw the thread up to a message: their unread count drops (and, when read receipts
    are on, WhatsApp shows the customer blue ticks)."""
    conversation = get_conversation(conversation_id)
    upto = request.form.get("upto", type=int)
    if not upto:
        abort(400, "Say up to which message.")
    receipt = inbox_thread.mark_read(conversation, current_user, upto)
    if receipt is not None:
        work.after_commit(receipt)
    db.session.commit()
    return changed(("", 204), "inbox-read")


@bp.post("/c/<int:conversation_id>/assign")
def assign(conversation_id: int):
    """Assign to a user ("me" for oneself) or to nobody ("")."""
    value = request.form.get("assignee", "")
    if value == "me":
        assignee = current_user.id
    elif value.isdigit():
        assignee = int(value)
    elif value == "":
        assignee = None
    else:
        abort(400, "Unknown assignee.")
    return _apply(conversation_id, lambda c: takeover.assign(c, assignee))


@bp.post("/c/<int:conversation_id>/labels")
def add_label(conversation_id: int):
    return _apply(conversation_id, lambda c: inbox_edits.add_label(c, request.form.get("label", "")))


@bp.post("/c/<int:conversation_id>/labels/remove")
def remove_label(conversation_id: int):
    return _apply(conversation_id, lambda c: inbox_edits.remove_label(c, request.form.get("label", "")))


@bp.post("/c/<int:conversation_id>/status")
def set_status(conversation_id: int):
    """Close (resolve) or reopen."""
    return _apply(conversation_id, lambda c: takeover.set_status(c, request.form.get("status", "")))


@bp.post("/c/<int:conversation_id>/takeover")
def take_over(conversation_id: int):
    """A person takes the conversation: the bot and the contact's waiting runs pause."""
    return _apply(conversation_id, lambda c: takeover.take_over(c, current_user))


@bp.post("/c/<int:conversation_id>/handback")
def hand_back(conversation_id: int):
    """The bot gets the conversation back: paused runs wait again."""
    return _apply(conversation_id, lambda c: takeover.hand_back(c, current_user))


@bp.post("/c/<int:conversation_id>/runs/<int:run_id>/<action>")
def run_action(conversation_id: int, run_id: int, action: str):
    """Pause, resume or end one of the contact's runs."""
    if action not in RUN_ACTIONS:
        abort(404)

    def change(conversation):
        RUN_ACTIONS[action](takeover.get_run(conversation, run_id), current_user)

    return _apply(conversation_id, change)


@bp.post("/c/<int:conversation_id>/contact")
def update_contact(conversation_id: int):
    """Save the contact panel: name, birthday, time zone, fields, tags, opted out."""
    from flowapp.web.inbox import contact_context

    conversation = get_conversation(conversation_id)
    keys = request.form.getlist("field_key")
    values = request.form.getlist("field_value")
    form = {
        "display_name": request.form.get("display_name", ""),
        "birthday": request.form.get("birthday", ""),
        "timezone": request.form.get("timezone", ""),
        "tags": request.form.get("tags", ""),
        "fields": dict(zip(keys, values, strict=False)),
        "opted_out": request.form.get("opted_out") == "1",
    }
    try:
        inbox_edits.update_contact(conversation.contact, form, user_id=current_user.id)
    except inbox.InboxError as exc:
        db.session.rollback()
        conversation = get_conversation(conversation_id)
        return render_template(
            "inbox/_contact.html", **contact_context(conversation, f"{exc.field}: {exc.reason}")
        )
    db.session.commit()
    return changed(render_template("inbox/_contact.html", saved=True, **contact_context(conversation)))


@bp.post("/c/<int:conversation_id>/read-receipts")
def read_receipts(conversation_id: int):
    """Admins: whether reading a conversation sends read receipts to WhatsApp (for everyone)."""
    if not current_user.is_admin:
        abort(403, "Only an admin changes this.")

    def change(_conversation):
        inbox_thread.set_read_receipts(request.form.get("enabled") == "1")

    return _apply(conversation_id, change)
