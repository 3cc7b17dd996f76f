"""How the inbox shows things: messages by type, authors, status ticks, automation events, links.

Everything here turns stored rows into plain values for the templates, which escape them. The one
place that builds HTML is `linkify`, which escapes every piece of customer text itself and links
only http(s) URLs, with rel="noopener noreferrer".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode, urlsplit

from flask import current_app, url_for
from markupsafe import Markup, escape
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AutomationLog, AutomationRun, Message, User
from flowapp.services import media_proxy
from flowapp.services.inbox_thread import Thread
from flowapp.services.takeover import RUN_HEADER

TICKS = {
    "queued": ("🕓", "Queued"),
    "sent": ("✓", "Sent"),
    "delivered": ("✓✓", "Delivered"),
    "read": ("✓✓", "Read"),
    "played": ("✓✓", "Played"),
    "failed": ("⚠", "Failed"),
}
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""


@dataclass
class Item:
    """One row of the thread: a message (with its reactions and quote) or an automation event."""

    at: datetime
    message: Message | None = None
    event: dict | None = None
    content: dict = field(default_factory=dict)
    author: str = ""
    reactions: list[tuple[str, str]] = field(default_factory=list)
    quote: dict | None = None


def safe_url(value: object) -> str | None:
    """`value` when it is an http(s) URL with a host, else None (no javascript:, data:, ...)."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value.strip())
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def linkify(text: str | None) -> Markup:
    """Customer text, escaped, with http(s) URLs made into links that cannot reach back to us."""
    if not text:
        return Markup("")
    out, position = [], 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        out.append(escape(text[position : match.start()]))
        out.append(Markup('<a href="{0}" rel="noopener noreferrer" target="_blank">{0}</a>').format(url))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def thread_items(thread: Thread, contact_name: str) -> list[Item]:
    """Messages and automation events in time order, reactions attached to what they react to."""
    runs = _runs_by_id(
        {m.author_run_id for m in thread.messages if m.author_run_id} | {e.run_id for e in thread.events}
    )
    users = _users_by_id({m.author_user_id for m in thread.messages if m.author_user_id})
    reactions, rows = _split_reactions(thread.messages)
    items = []
    for message in rows:
        item = Item(message.created_at, message=message, content=content(message))
        item.author = author(message, contact_name, runs, users)
        item.reactions = reactions.pop(message.wamid, []) if message.wamid else []
        quoted = thread.quoted.get(message.reply_to_wamid) if message.type != "reaction" else None
        if quoted is not None:
            item.quote = {
                "author": contact_name if quoted.direction == "in" else "You",
                "text": summary(quoted),
            }
        items.append(item)
    for target, leftovers in reactions.items():
        for emoji, who in leftovers:
            text = f"{who} reacted {emoji} to an earlier message" if emoji else f"{who} removed a reaction"
            items.append(Item(_time_of(thread.messages, target), content={"kind": "note", "text": text}))
    items += [Item(e.created_at, event=event_view(e, runs.get(e.run_id))) for e in thread.events]
    return sorted(items, key=lambda item: item.at)


def _time_of(messages: list[Message], wamid: str) -> datetime:
    return max(m.created_at for m in messages if m.type == "reaction" and m.reply_to_wamid == wamid)


def _split_reactions(messages: list[Message]) -> tuple[dict[str, list[tuple[str, str]]], list[Message]]:
    """The latest reaction of each side per message ("" emoji: taken back), and the other messages."""
    latest: dict[tuple[str, str], str] = {}
    rows = []
    for message in messages:
        if message.type == "reaction" and message.reply_to_wamid:
            emoji = (
                message.text
                if message.direction == "in"
                else _request(message).get("reaction", {}).get("emoji")
            )
            latest[(message.reply_to_wamid, message.direction)] = emoji or ""
        else:
            rows.append(message)
    grouped: dict[str, list[tuple[str, str]]] = {}
    for (target, direction), emoji in latest.items():
        grouped.setdefault(target, []).append((emoji, "Customer" if direction == "in" else "You"))
    present = {m.wamid for m in rows if m.wamid}
    return {t: [r for r in rs if r[0] or t not in present] for t, rs in grouped.items()}, rows


def _runs_by_id(ids: set[int]) -> dict[int, AutomationRun]:
    if not ids:
        return {}
    query = select(AutomationRun).where(AutomationRun.id.in_(ids)).options(*RUN_HEADER)
    return {run.id: run for run in db.session.scalars(query)}


def _users_by_id(ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {user.id: user for user in db.session.scalars(select(User).where(User.id.in_(ids)))}


def author(message: Message, contact_name: str, runs: dict, users: dict) -> str:
    """Who wrote it: the contact, the bot (automation and node), an agent, the API or the system."""
    if message.direction == "in":
        return contact_name
    if message.author_type == "run":
        run = runs.get(message.author_run_id)
        name = run.automation.name if run is not None else "an automation"
        return f"Bot · {name}" + (f" · node {message.node_id}" if message.node_id else "")
    if message.author_type == "user":
        user = users.get(message.author_user_id)
        return user.display_name if user is not None else "An agent"
    return {"api": "API", "system": "System"}.get(message.author_type, message.author_type)


def ticks(message: Message) -> dict | None:
    """The status mark of an outbound message: glyph, label (with the failure's reason) and status."""
    if message.direction != "out":
        return None
    glyph, label = TICKS.get(message.status, ("?", message.status))
    if message.status == "failed":
        reason = message.error_title or "unknown error"
        if message.error_details:
            reason += f" ({message.error_details})"
        code = f" [{message.error_code}]" if message.error_code else ""
        label = f"Failed: {reason}{code}"
    return {"glyph": glyph, "label": label, "status": message.status}


def summary(message: Message) -> str:
    """One line for a quoted message."""
    if message.revoked_at:
        return "Deleted message"
    return (message.text or f"[{message.type}]")[:160]


def content(message: Message) -> dict:
    """What to show for a message, by type: {"kind": ..., ...} for _item.html."""
    if message.revoked_at:
        return {"kind": "deleted"}
    if message.direction == "out":
        return _outbound(message)
    reader = _INBOUND.get(message.type)
    if reader is None:
        return {"kind": "unsupported", "detail": message.error_title or f"type {message.type}"}
    return reader(message)


def _request(message: Message) -> dict:
    request = (message.payload or {}).get("request")
    return request if isinstance(request, dict) else {}


def _data(message: Message):
    return (message.payload or {}).get("data")


def _media(message: Message) -> dict:
    media = media_proxy.media_of(message)
    if media is None:
        link = safe_url(_request(message).get(message.type, {}).get("link"))
        return {
            "kind": "file",
            "name": link or f"{message.type} (unavailable)",
            "href": link,
            "caption": message.text,
        }
    href = url_for("inbox.media", message_id=message.id)
    if message.type in ("image", "sticker"):
        return {"kind": "image", "src": href, "caption": media.get("caption") or ""}
    name = media.get("filename") or {"audio": "Voice message", "video": "Video"}.get(message.type, "Document")
    return {
        "kind": "file",
        "name": name,
        "href": href,
        "mime": media.get("mime_type") or "",
        "size": media.get("size"),
        "info_url": url_for("inbox.media_info", message_id=message.id),
        "caption": media.get("caption") or "",
    }


def _location(values: dict) -> dict:
    try:
        lat, lon = float(values.get("latitude")), float(values.get("longitude"))
    except (TypeError, ValueError):
        return {
            "kind": "location",
            "name": values.get("name") or "Location",
            "address": values.get("address"),
        }
    query = urlencode({"mlat": f"{lat:.6f}", "mlon": f"{lon:.6f}"})
    return {
        "kind": "location",
        "name": values.get("name") or f"{lat:.5f}, {lon:.5f}",
        "address": values.get("address"),
        "map": f"https://www.openstreetmap.org/?{query}#map=16/{lat:.6f}/{lon:.6f}",
    }


def _cards(cards: object) -> dict:
    people = []
    for card in cards if isinstance(cards, list) else []:
        card = card if isinstance(card, dict) else {}
        name = card.get("name") if isinstance(card.get("name"), dict) else {}
        people.append(
            {
                "name": name.get("formatted_name")
                or " ".join(filter(None, (name.get("first_name"), name.get("last_name")))),
                "phones": [
                    p.get("phone") for p in card.get("phones") or [] if isinstance(p, dict) and p.get("phone")
                ],
                "emails": [
                    e.get("email") for e in card.get("emails") or [] if isinstance(e, dict) and e.get("email")
                ],
                "org": (card.get("org") or {}).get("company") if isinstance(card.get("org"), dict) else None,
            }
        )
    return {"kind": "contacts", "cards": people}


def _choice(message: Message) -> dict:
    data = _data(message) if isinstance(_data(message), dict) else {}
    if message.type == "interactive" and "response" in data:
        return {"kind": "text", "text": message.text or "Form answers sent", "note": "WhatsApp Flow reply"}
    title = data.get("title") or data.get("text") or message.text or ""
    return {"kind": "choice", "title": title, "description": data.get("description")}


_INBOUND = {
    "text": lambda m: {"kind": "text", "text": m.text},
    **{kind: _media for kind in media_proxy.MEDIA_TYPES},
    "location": lambda m: _location(_data(m) if isinstance(_data(m), dict) else {}),
    "contacts": lambda m: _cards(_data(m)),
    "interactive": _choice,
    "button": _choice,
    "reaction": lambda m: {"kind": "note", "text": f"Reacted {m.text}" if m.text else "Removed a reaction"},
    "order": lambda m: {"kind": "text", "text": m.text},
    "system": lambda m: {"kind": "note", "text": m.text or "System message"},
}


def _outbound(message: Message) -> dict:
    request = _request(message)
    body = request.get(message.type) if isinstance(request.get(message.type), dict) else {}
    if message.type == "template":
        template = request.get("template") or {}
        language = (template.get("language") or {}).get("code")
        return {"kind": "template", "name": template.get("name"), "language": language, "text": message.text}
    if message.type == "interactive" or message.type in ("buttons", "list"):
        return _interactive(message, request.get("interactive") or {})
    if message.type in media_proxy.MEDIA_TYPES:
        return _media(message)
    if message.type == "location":
        return _location(body)
    if message.type == "contacts":
        return _cards(request.get("contacts"))
    return {"kind": "text", "text": message.text}


def _interactive(message: Message, interactive: dict) -> dict:
    action = interactive.get("action") or {}
    if interactive.get("type") == "list":
        rows = [r.get("title") for s in action.get("sections") or [] for r in s.get("rows") or []]
        return {"kind": "buttons", "text": message.text, "buttons": [action.get("button")], "rows": rows}
    titles = [(b.get("reply") or {}).get("title") for b in action.get("buttons") or []]
    return {"kind": "buttons", "text": message.text, "buttons": titles, "rows": []}


def event_view(entry: AutomationLog, run: AutomationRun | None) -> dict:
    """An automation event in the thread: run started, ended, handed off, paused or resumed."""
    name = run.automation.name if run is not None else "An automation"
    detail = entry.detail or {}
    by = f" by {detail['by']}" if detail.get("by") else ""
    texts = {
        "version": f"Automation “{name}” started (version {detail.get('version', '?')})",
        "ended": f"Automation “{name}” ended: {detail.get('status', 'ended')}",
        "handed_off": f"Handed to a person: {detail.get('reason') or 'no reason given'}",
        "paused_by_person": f"Automation “{name}” paused{by}"
        + (" (the agent replied)" if detail.get("reason") == "reply" else ""),
        "resumed_by_person": f"Automation “{name}” resumed{by}",
    }
    return {
        "kind": entry.event,
        "text": texts.get(entry.event, entry.event),
        "automation_name": name,
        "detail": detail,
        "run_id": entry.run_id,
        "node": entry.node_id,
        "automation_id": run.automation_id if run is not None else None,
    }


def trace_url(automation_id: int, run_id: int) -> str:
    """The run's trace in the automation editor (/automations/<id>/edit?run=<run id>)."""
    if "automations.edit" in current_app.view_functions:
        return url_for("automations.edit", automation_id=automation_id, run=run_id)
    return url_for("automations.index") + f"{automation_id}/edit?" + urlencode({"run": run_id})
