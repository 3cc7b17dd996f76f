"""The conversation inbox: the list, a conversation's thread, its side panel and its composer.

A page includes the same fragments its polls return (templates/inbox/_*.html); each fragment polls
its own URL with the ETag it was rendered with and gets a 304 while nothing changed (see
inbox_common). The other routes live in inbox_actions, inbox_compose and inbox_media, imported at
the bottom so that they register on the same blueprint.
"""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request, url_for
from flask_login import current_user

from flowapp.models import Conversation, utcnow
from flowapp.services import consent, contact_fields, inbox, inbox_edits, inbox_thread, takeover
from flowapp.services.outbound import window_closes_at, window_open
from flowapp.web import inbox_view
from flowapp.web.inbox_common import (
    bp,
    conditional,
    etag_for,
    filter_args,
    get_conversation,
    local,
    parse_filters,
)


@bp.app_context_processor
def _inbox_helpers():
    # A function, so that only pages that show the navigation (base.html) run the count.
    return {"inbox_unread": _unread_badge}


def _unread_badge() -> int:
    if not current_user.is_authenticated:
        return 0
    return inbox.unread_conversations(current_user)


@bp.app_template_filter("inbox_time")
def inbox_time(value: datetime | None, detailed: bool = False) -> str:
    """14:05 today, "25 Nov" this year, "25 Nov 2025" before; with the time when `detailed`."""
    if value is None:
        return ""
    at, now = local(value), local(utcnow())
    if detailed:
        return at.strftime("%-d %b %Y, %H:%M")
    if at.date() == now.date():
        return at.strftime("%H:%M")
    return at.strftime("%-d %b" if at.year == now.year else "%-d %b %Y")


@bp.app_template_global("inbox_ticks")
def inbox_ticks(message):
    return inbox_view.ticks(message)


@bp.app_template_global("inbox_trace_url")
def inbox_trace_url(automation_id: int, run_id: int) -> str:
    return inbox_view.trace_url(automation_id, run_id)


@bp.app_template_filter("inbox_linkify")
def inbox_linkify(text: str | None):
    return inbox_view.linkify(text)


@bp.app_template_filter("inbox_filesize")
def filesize(size: int | None) -> str:
    if not isinstance(size, int):
        return ""
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@bp.get("/")
def index():
    """Conversations, newest first, with filters and search."""
    return render_template("inbox/index.html", conversation=None, **list_context())


@bp.get("/c/<int:conversation_id>")
def conversation(conversation_id: int):
    """One conversation: the list beside its thread, composer, and side panel."""
    conversation = get_conversation(conversation_id)
    from flowapp.web.inbox_compose import composer_context

    context = {
        **list_context(selected=conversation.id),
        **thread_context(conversation),
        **panel_context(conversation),
        **contact_context(conversation),
        **composer_context(conversation),
    }
    return render_template("inbox/index.html", **context)


@bp.get("/list")
def list_fragment():
    """The list as the page shows it, polled; 304 while nothing changed for this user.

    Also answers the filter form (`nav=1`): the address bar then follows the filters."""
    selected = request.args.get("c", type=int)
    poll = list_poll(selected)
    response = conditional(
        poll[1],
        lambda: render_template(
            "inbox/_list.html",
            oob_badge=True,
            unread_total=inbox.unread_conversations(current_user),
            **list_context(selected, poll),
        ),
    )
    if request.args.get("nav"):
        response.headers["HX-Replace-Url"] = _page_url(selected, filter_args(request.args, keep_cursor=False))
    return response


def _page_url(selected: int | None, args: dict) -> str:
    if selected:
        return url_for("inbox.conversation", conversation_id=selected, **args)
    return url_for("inbox.index", **args)


@bp.get("/c/<int:conversation_id>/thread")
def thread_fragment(conversation_id: int):
    """New messages, statuses and events from `since` on (polled), or the page `before` a message."""
    conversation = get_conversation(conversation_id)
    before = inbox_thread.find_message(conversation, request.args.get("before", type=int))
    if before is not None:
        thread = inbox_thread.load_thread(conversation, before=before)
        items = inbox_view.thread_items(thread, conversation.contact.name)
        return render_template("inbox/_earlier.html", conversation=conversation, thread=thread, items=items)
    since = inbox_thread.find_message(conversation, request.args.get("since", type=int))
    poll = thread_poll(conversation, since)
    return conditional(
        poll[1], lambda: render_template("inbox/_thread.html", **thread_context(conversation, since, poll))
    )


@bp.get("/c/<int:conversation_id>/panel")
def panel_fragment(conversation_id: int):
    """The side panel: state, assignment, labels, the bot and its running automation."""
    conversation = get_conversation(conversation_id)
    poll = panel_poll(conversation)
    return conditional(
        poll[1], lambda: render_template("inbox/_panel.html", **panel_context(conversation, poll))
    )


@bp.get("/c/<int:conversation_id>/contact")
def contact_fragment(conversation_id: int):
    """The contact form; re-rendered only when the contact's details change underneath."""
    context = contact_context(get_conversation(conversation_id))
    return conditional(context["contact_etag"], lambda: render_template("inbox/_contact.html", **context))


# Each polled fragment has a cheap `*_poll` (its URL and ETag, from a fingerprint query) and a
# `*_context` that loads what it shows: a poll answered 304 never runs the latter.


def list_poll(selected: int | None) -> tuple[str, str]:
    args = {**filter_args(request.args), **({"c": selected} if selected else {})}
    poll_url = url_for("inbox.list_fragment", **args)
    return poll_url, etag_for(poll_url, inbox.list_fingerprint(current_user))


def list_context(selected: int | None = None, poll: tuple[str, str] | None = None) -> dict:
    poll_url, etag = poll or list_poll(selected)
    filters = parse_filters(request.args)
    page = inbox.list_conversations(filters, current_user)
    list_args = filter_args(request.args, keep_cursor=False)
    older = _page_url(selected, {**list_args, "before": page.next_cursor}) if page.next_cursor else None
    return {
        "page": page,
        "filters": filters,
        "list_args": list_args,
        "newest_url": _page_url(selected, list_args),
        "older_url": older,
        "selected_id": selected,
        "list_url": poll_url,
        "list_etag": etag,
        "labels": inbox_edits.known_labels(),
        "assignees": inbox_edits.user_names(),
    }


def thread_poll(conversation: Conversation, anchor) -> tuple[str, str]:
    poll_url = url_for(
        "inbox.thread_fragment", conversation_id=conversation.id, **({"since": anchor.id} if anchor else {})
    )
    return poll_url, etag_for(poll_url, inbox_thread.thread_fingerprint(conversation, anchor))


def thread_context(conversation: Conversation, since=None, poll: tuple[str, str] | None = None) -> dict:
    thread = inbox_thread.load_thread(conversation, since=since)
    anchor = since or (thread.messages[0] if thread.messages else None)
    poll_url, etag = poll or thread_poll(conversation, anchor)
    position = inbox_thread.user_read_position(conversation, current_user)
    last_in = max((m.id for m in thread.messages if m.direction == "in"), default=0)
    return {
        "conversation": conversation,
        "thread": thread,
        "items": inbox_view.thread_items(thread, conversation.contact.name),
        "thread_url": poll_url,
        "thread_etag": etag,
        "mark_read_upto": last_in if last_in > position else None,
    }


def panel_poll(conversation: Conversation) -> tuple[str, str]:
    poll_url = url_for("inbox.panel_fragment", conversation_id=conversation.id)
    fingerprint = (inbox_thread.panel_fingerprint(conversation), tuple(inbox_edits.known_labels()))
    return poll_url, etag_for(poll_url, fingerprint)


def panel_context(conversation: Conversation, poll: tuple[str, str] | None = None) -> dict:
    poll_url, etag = poll or panel_poll(conversation)
    return {
        "conversation": conversation,
        "state": inbox.conversation_state(conversation),
        "runs": takeover.active_runs(conversation.contact_id),
        "recent_runs": takeover.recent_runs(conversation.contact_id),
        "users": inbox_edits.active_users(),
        "labels": inbox_edits.known_labels(),
        "read_receipts": inbox_thread.read_receipts_enabled(),
        "trace_url": inbox_view.trace_url,
        "panel_url": poll_url,
        "panel_etag": etag,
    }


def contact_context(conversation: Conversation, error: str | None = None) -> dict:
    contact = conversation.contact
    poll_url = url_for("inbox.contact_fragment", conversation_id=conversation.id)
    editable = (
        contact.display_name,
        contact.profile_name,
        contact.birthday,
        contact.timezone,
        sorted((contact.fields or {}).items()),
        contact.tags,
        contact.opted_out,
    )
    history = consent.history(contact)
    declared = contact_fields.listing()  # typed inputs for the declared fields, in the panel's form
    return {
        "declared_fields": declared,
        "declared_keys": {field.key for field in declared},
        "consent_history": history,
        "conversation": conversation,
        "contact": contact,
        "contact_error": error,
        "contact_url": poll_url,
        # The newest change is in the tag: opting out and back in between two polls still shows.
        "contact_etag": etag_for(
            poll_url,
            repr((editable, history[0][0].id if history else None, [_shape(f) for f in declared])),
        ),
        "window": {"open": window_open(contact), "closes_at": window_closes_at(contact)},
    }


def _shape(field) -> tuple:
    """What of a declared field the panel shows: a change in Settings redraws it."""
    return (field.key, field.label, field.type, tuple(field.choices or ()))


# Registered last: these modules add their routes to `bp`.
from flowapp.web import inbox_actions, inbox_compose, inbox_media, inbox_privacy  # noqa: E402

__all__ = ["bp", "inbox_actions", "inbox_compose", "inbox_media", "inbox_privacy"]
