"""Message templates: fetched from Meta into the database, and checked before a template is sent.

Outside the 24-hour window only approved templates may be sent, so a send whose name, language or
parameter count does not match an approved template is refused here rather than by Meta.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from flowapp import transactions
from flowapp.extensions import db
from flowapp.models import MessageTemplate, utcnow
from flowapp.whatsapp.client import GraphClient
from flowapp.whatsapp.templates import check_parameters, count_parameters

log = logging.getLogger("flowapp.whatsapp.templates")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def sync(client: GraphClient) -> dict[str, int]:
    """Fetch every template of the business account and upsert it (flushed). Returns counts."""
    # Every page from Meta first, then the database: no transaction is held open across the network.
    transactions.before_network("fetching templates from Meta")
    fetched = list(client.templates())
    seen = set()
    counts = {"created": 0, "updated": 0, "gone": 0}
    existing = {(t.name, t.language): t for t in db.session.scalars(select(MessageTemplate))}
    for item in fetched:
        key = (item.get("name", ""), item.get("language", ""))
        seen.add(key)
        row = existing.get(key)
        if row is None:
            row = MessageTemplate(name=key[0], language=key[1])
            db.session.add(row)
            counts["created"] += 1
        else:
            counts["updated"] += 1
        row.meta_id = item.get("id")
        row.category = item.get("category", "")
        row.status = item.get("status", "")
        row.components = item.get("components", [])
        row.parameters = count_parameters(row.components)
        row.fetched_at = utcnow()
    for key, row in existing.items():
        if key not in seen and row.status != "DELETED":
            row.status = "DELETED"  # kept for old messages' previews; never sendable again
            counts["gone"] += 1
    db.session.flush()
    log.info("templates synced: %s", counts)
    return counts


def find(name: str, language: str) -> MessageTemplate | None:
    return db.session.scalar(
        select(MessageTemplate).where(MessageTemplate.name == name, MessageTemplate.language == language)
    )


def all_templates() -> list[MessageTemplate]:
    """Every template known, by name and language."""
    return list(
        db.session.scalars(select(MessageTemplate).order_by(MessageTemplate.name, MessageTemplate.language))
    )


def approved() -> list[MessageTemplate]:
    """Templates that may be sent, by name and language."""
    rows = db.session.scalars(
        select(MessageTemplate).order_by(MessageTemplate.name, MessageTemplate.language)
    )
    return [row for row in rows if row.approved]


def check_send(name: str, language: str, components: list[dict]) -> None:
    """Raise SendRefused unless an approved template matches the name, language and parameters."""
    from flowapp.services.outbound import SendRefused

    template = find(name, language)
    if template is None:
        known = sorted(
            {
                t.language
                for t in db.session.scalars(select(MessageTemplate).where(MessageTemplate.name == name))
            }
        )
        hint = f" (it exists in {', '.join(known)})" if known else " (refresh templates in Settings?)"
        raise SendRefused("template.name", f"No template {name!r} in language {language!r}{hint}.")
    if not template.approved:
        raise SendRefused(
            "template.name", f"Template {name!r} ({language}) is {template.status.lower()}, not approved."
        )
    problems = check_parameters(template.parameters, components)
    if problems:
        raise SendRefused("template.components", "; ".join(problems))


def render_preview(name: str, language: str, components: list[dict]) -> str:
    """The template's body with its parameters filled in, as the customer will read it."""
    template = find(name, language)
    body = next(
        (
            c.get("text", "")
            for c in (template.components if template else [])
            if c.get("type", "").upper() == "BODY"
        ),
        "",
    )
    values = [
        p.get("text", "")
        for c in components
        if c.get("type") == "body"
        for p in c.get("parameters", [])
        if p.get("type") == "text"
    ]
    named = {
        p.get("parameter_name"): p.get("text", "")
        for c in components
        if c.get("type") == "body"
        for p in c.get("parameters", [])
        if p.get("parameter_name")
    }

    def fill(match: re.Match) -> str:
        key = match.group(1)
        if key.isdigit() and 0 < int(key) <= len(values):
            return values[int(key) - 1]
        return named.get(key, match.group(0))

    return _PLACEHOLDER.sub(fill, body) if body else f"Template {name} ({language})"
