"""Starter automations shipped in examples/automations/: list them, and create a draft from one."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from sqlalchemy import select

from flowapp.config import PROJECT_ROOT
from flowapp.extensions import db
from flowapp.models import Automation, KnowledgeBase, User
from flowapp.services import automations, knowledge

EXAMPLES_DIR = PROJECT_ROOT / "examples" / "automations"


@cache
def _load(directory: Path = EXAMPLES_DIR) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def all_examples() -> list[dict]:
    """Every example: {"slug", "name", "description", "trigger", "graph"} and maybe "knowledge" (copies)."""
    return [{"slug": slug, **copy.deepcopy(example)} for slug, example in _load().items()]


def get(slug: str) -> dict | None:
    example = _load().get(slug)
    return {"slug": slug, **copy.deepcopy(example)} if example else None


def create_from(slug: str, user: User | None = None) -> Automation:
    """A new draft automation from an example (flushed). An example with "knowledge" gets that
    knowledge base (made once, found by name afterwards) as the base of the nodes it names in
    "fills_base_of" (their "base" in the file is a placeholder, so the file stays a valid document)."""
    example = get(slug)
    if example is None:
        raise automations.AutomationError(f"No example called {slug!r}.")
    if example.get("knowledge"):
        base_id = _knowledge_base(example["knowledge"], user)
        filled = set(example["knowledge"].get("fills_base_of", []))
        for node in example["graph"]["nodes"]:
            if node["id"] in filled:
                node["config"]["base"] = base_id
    return automations.create(
        example["name"],
        trigger=example["trigger"],
        graph=example["graph"],
        description=example.get("description", ""),
        user=user,
    )


def _knowledge_base(spec: dict, user: User | None) -> int:
    """The example's knowledge base: the one of that name if it exists (the user may have changed
    its sources since), else a new one with the example's texts."""
    existing = db.session.scalar(select(KnowledgeBase.id).where(KnowledgeBase.name == spec["name"]))
    if existing is not None:
        return existing
    user_id = user.id if user else None
    base = knowledge.create_base(spec["name"], spec.get("description", ""), user_id=user_id)
    for source in spec.get("sources", []):
        knowledge.add_text(base, source["title"], source["text"], user_id=user_id)
    return base.id
