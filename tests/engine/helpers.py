"""Small builders for engine tests: graphs from nodes and (from, port, to) triples, a default context."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from flowapp.engine import SPEC_VERSION

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 11:00 in Madrid
CONTACT = {
    "name": "Ana",
    "wa_id": "34600111222",
    "fields": {"city": "Lima", "age": "34"},
    "tags": ["customer"],
    "birthday": "1990-05-17",
    "opted_out": False,
    "timezone": "America/Lima",
}
CONTEXT = {
    "contact": CONTACT,
    "trigger": {"type": "keyword", "keywords": ["menu"]},
    "message": {"text": "menu", "type": "text", "reply_id": None, "wamid": "wamid.1"},
    "account_timezone": "Europe/Madrid",
    "random": 0.5,
}


def node(node_id: str, type_: str, **config) -> dict:
    return {"id": node_id, "type": type_, "config": config, "position": {"x": 0, "y": 0}}


def graph(nodes: list[dict], edges: list) -> dict:
    """A spec_version 2 document; a start node is added when `nodes` has none."""
    nodes = [dict(item) for item in nodes]
    for item in nodes:
        item.setdefault("config", {})
        item.setdefault("position", {"x": 0, "y": 0})
    if not any(item["type"] == "start" for item in nodes):
        nodes.insert(0, node("start", "start"))
    edges = [
        edge if isinstance(edge, dict) else {"from": edge[0], "port": edge[1], "to": edge[2]}
        for edge in edges
    ]
    return {"spec_version": SPEC_VERSION, "nodes": nodes, "edges": edges}


def context(**overrides) -> dict:
    """The default context with top-level keys replaced; "contact" is merged into the default contact."""
    result = copy.deepcopy(CONTEXT)
    if "contact" in overrides:
        result["contact"] = {**result["contact"], **overrides.pop("contact")}
    result.update(copy.deepcopy(overrides))
    return result


def reply(text: str | None = None, reply_id: str | None = None) -> dict:
    return {"kind": "reply", "data": {"text": text, "type": "text", "reply_id": reply_id, "wamid": "wamid.2"}}
