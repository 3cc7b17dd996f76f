"""Spec versions of the graph format, and the migrations that upgrade older documents on load.

Each migration takes a document of version N and returns one of version N + 1; `upgrade` applies
the chain. Documents are never changed in place: a stored version stays what it was, and the
upgraded copy is what the engine reads (goflow's migrations work the same way).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

SPEC_VERSION = 2
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


class UpgradeError(ValueError):
    """A document that cannot be upgraded (not a graph, or from a newer engine)."""


def migration(from_version: int) -> Callable:
    """Register the decorated function as the migration from `from_version` to the next version."""

    def register(function: Callable[[dict], dict]) -> Callable[[dict], dict]:
        MIGRATIONS[from_version] = function
        return function

    return register


@migration(1)
def _v1_to_v2(document: dict) -> dict:
    """Version 1, the early export: nodes carried "data" instead of "config", edges were
    {"source", "source_port", "target"} (a missing source_port meant "next"), and the export's own
    keys (its name...) sat at the top level, where version 2 keeps them under "meta"."""
    nodes = []
    for node in document.get("nodes") or []:
        node = dict(node)
        if "config" not in node:
            node["config"] = node.pop("data", None) or {}
        node.pop("data", None)
        nodes.append(node)
    edges = []
    for edge in document.get("edges") or []:
        if "from" in edge:  # already in the new shape (a hand-edited export)
            edges.append({"from": edge["from"], "port": edge.get("port", "next"), "to": edge.get("to")})
            continue
        edges.append(
            {"from": edge.get("source"), "port": edge.get("source_port") or "next", "to": edge.get("target")}
        )
    meta = dict(document.get("meta") or {})
    meta.update(
        (key, value)
        for key, value in document.items()
        if key not in ("nodes", "edges", "meta", "spec_version")
    )
    upgraded = {"spec_version": 2, "nodes": nodes, "edges": edges}
    if meta:
        upgraded["meta"] = meta
    return upgraded


def upgrade(document: dict) -> dict:
    """`document` upgraded to SPEC_VERSION (a copy; the argument is never changed).

    A document without "spec_version" is version 1. Idempotent: a current document comes back
    equal. Raises UpgradeError for a document that is not a graph or is newer than this engine.
    """
    if not isinstance(document, dict):
        raise UpgradeError("a graph document is a JSON object")
    version = document.get("spec_version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise UpgradeError(f"spec_version must be a whole number from 1 to {SPEC_VERSION}, not {version!r}")
    if version > SPEC_VERSION:
        raise UpgradeError(
            f"spec_version {version} is newer than this engine ({SPEC_VERSION}): upgrade Flowapp first"
        )
    result = copy.deepcopy(document)
    while version < SPEC_VERSION:
        result = MIGRATIONS[version](result)
        version += 1
    return result
