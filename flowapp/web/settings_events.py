"""Settings > Inbound events: what waits to be processed, and the parked events an admin must see.

A parked event failed on every attempt; its contact's later events wait behind it. The admin
retries it (after a fix) or dismisses it (it counts as processed; body and error are kept).
"""

from __future__ import annotations

import json

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from redis.exceptions import RedisError

from flowapp.extensions import db
from flowapp.models import WebhookEvent
from flowapp.pipeline import intake, pumps, recovery
from flowapp.web.security import admin_required
from flowapp.web.settings import bp

BODY_PREVIEW = 2000


@bp.get("/events")
@admin_required
def events_page():
    """Parked events with their error, and how much waits."""
    try:
        ready = pumps.board().waiting()
    except RedisError:
        ready = None
    return render_template(
        "settings/events.html",
        parked=[_view(event) for event in recovery.parked()],
        parked_count=recovery.parked_count(),
        pending=recovery.pending_count(),
        ready=ready,
    )


@bp.post("/events/<int:event_id>/retry")
@admin_required
def retry_event(event_id: int):
    """Try a parked event again now, with fresh attempts."""
    event = recovery.retry(event_id)
    if event is None:
        abort(404)
    row = _announceable(event)
    db.session.commit()
    intake.announce([row])
    flash(f"Event {event_id} will be processed again now.")
    return redirect(url_for("settings.events_page"))


@bp.post("/events/<int:event_id>/dismiss")
@admin_required
def dismiss_event(event_id: int):
    """Give up on a parked event; its contact's later events go ahead."""
    event = recovery.dismiss(event_id, by=current_user.email)
    if event is None:
        abort(404)
    row = _announceable(event)
    db.session.commit()
    intake.announce([row])  # the contact's later events, if any
    flash(f"Event {event_id} dismissed; it stays stored with its error.")
    return redirect(url_for("settings.events_page"))


def _announceable(event: WebhookEvent) -> dict:
    return {
        "id": event.id,
        "lane": event.lane,
        "contact_key": event.contact_key,
        "phone_number_id": event.phone_number_id,
    }


def _view(event: WebhookEvent) -> dict:
    """What the page shows of an event: the body pretty-printed when it is JSON, cut short."""
    try:
        body = json.dumps(json.loads(event.body), indent=2, ensure_ascii=False)
    except (ValueError, UnicodeDecodeError, RecursionError):
        body = event.body[:BODY_PREVIEW].decode("utf-8", "replace")
    return {"event": event, "body": body[:BODY_PREVIEW], "cut": len(body) > BODY_PREVIEW}
