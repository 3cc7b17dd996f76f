"""Starter automations shipped in examples/automations/: list them, and create a draft from one."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

from flowapp.config import PROJECT_ROOT
from flowapp.models import Automation, User
from flowapp.services import automations

EXAMPLES_DIR = PROJECT_ROOT / "examples" / "automations"


@cache
def _load(directory: Path = EXAMPLES_DIR) -> dict[str, dict]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))}


def all_examples() -> list[dict]:
    """Every example: {"slug", "name", "description", "trigger", "graph"} (copies)."""
    return [{"slug": slug, **copy.deepcopy(example)} for slug, example in _load().items()]


def get(slug: str) -> dict | None:
    example = _load().get(slug)
    return {"slug": slug, **copy.deepcopy(example)} if example else None


def create_from(slug: str, user: User | None = None) -> Automation:
    """A new draft automation from an example (flushed)."""
    example = get(slug)
    if example is None:
        raise automations.AutomationError(f"No example called {slug!r}.")
    return automations.create(
        example["name"],
        trigger=example["trigger"],
        graph=example["graph"],
        description=example.get("description", ""),
        user=user,
    )
