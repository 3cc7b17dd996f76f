"""What the inbox's pages share: the blueprint, loading a conversation, list filters, and answers
to polls that are 304 when nothing changed.

The routes live in inbox.py (pages and the polled fragments), inbox_actions.py (assignment, labels,
status, bot and person, contact), inbox_compose.py (sending, templates, canned responses) and
inbox_media.py (the media proxy); inbox.py imports the others so they register on `bp`.

Live updates are HTMX polls with ETags: each polled fragment carries the ETag it was rendered with
in its own hx-headers (If-None-Match), the server answers 304 while a cheap fingerprint query says
nothing changed, and static/js/inbox.js tells htmx not to swap a 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, make_response, request
from flask_login import current_user

from flowapp.extensions import db
from flowapp.models import Conversation, utcnow
from flowapp.services import inbox, settings

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

# Bumped when fragments change shape, so that an open page never keeps a stale rendering.
ETAG_VERSION = "inbox-1"
FILTER_KEYS = ("status", "assignee", "needs", "label", "q", "before")


def get_conversation(conversation_id: int) -> Conversation:
    """The conversation, or a 404."""
    conversation = db.session.get(Conversation, conversation_id)
    if conversation is None:
        abort(404, "No such conversation.")
    return conversation


def parse_filters(args) -> inbox.Filters:
    """The list's filters from query arguments; unknown values fall back to the defaults."""
    status = args.get("status", "")
    assignee = args.get("assignee", "")
    return inbox.Filters(
        status=status if status in inbox.STATUS_FILTERS else "",
        assignee=assignee if assignee in inbox.ASSIGNEE_FILTERS else "",
        needs=args.get("needs") == "1",
        label=(args.get("label") or "").strip()[:40],
        q=(args.get("q") or "").strip()[:100],
        before=inbox.decode_cursor(args.get("before", "")),
    )


def filter_args(args, *, keep_cursor: bool = True) -> dict:
    """The filter arguments present in `args`, to carry across links."""
    keys = FILTER_KEYS if keep_cursor else FILTER_KEYS[:-1]
    return {key: args[key] for key in keys if args.get(key)}


def account_zone() -> ZoneInfo:
    try:
        return ZoneInfo(settings.cached("timezone") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def local(value: datetime | None) -> datetime | None:
    """A UTC time in the account's time zone."""
    return value.astimezone(account_zone()) if value is not None else None


def etag_for(poll_url: str, *fingerprint) -> str:
    """A strong ETag (quoted) for a polled fragment: its URL (which carries its arguments), the
    user, the day (times show as "14:05" today and as dates after) and the data's fingerprint.

    The page computes it when it includes the fragment and the poll computes it again: same URL,
    same data, same ETag, so the first poll after a page load is already a 304."""
    today = local(utcnow()).date().isoformat()
    seed = repr((ETAG_VERSION, current_user.get_id(), today, poll_url, fingerprint))
    return '"' + hashlib.sha256(seed.encode()).hexdigest()[:32] + '"'


def conditional(etag: str, render: Callable[[], str]) -> Response:
    """304 when the client's If-None-Match is `etag`, else the rendered fragment with the ETag."""
    if request.if_none_match.contains(etag.strip('"')):
        response = Response(status=304)
    else:
        response = make_response(render())
    response.set_etag(etag.strip('"'))
    # Polled fragments must never come from the browser's cache: the server decides with the ETag.
    response.headers["Cache-Control"] = "no-store"
    return response


def changed(response: Response | str, *events: str) -> Response:
    """A fragment answer that also tells the page what changed (HX-Trigger), so pollers refresh now."""
    response = make_response(response)
    response.headers["HX-Trigger"] = ", ".join(events or ("inbox-changed",))
    return response
