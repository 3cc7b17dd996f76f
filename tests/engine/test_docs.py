"""docs/automations.md stays true: every node type has a section whose example node is valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from flowapp.engine import NODE_TYPES, TRIGGER_TYPES, validate

DOC = (Path(__file__).resolve().parents[2] / "docs" / "automations.md").read_text()
BLOCKS = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC, re.S)]


def test_every_node_type_has_a_documented_valid_example():
    """One '### <type>' section per type, and each example node's config passes its schema."""
    examples = {block["type"]: block for block in BLOCKS if "id" in block and block.get("type") in NODE_TYPES}
    assert set(examples) == set(NODE_TYPES)
    for kind in NODE_TYPES:
        assert f"\n### {kind}\n" in DOC
        config = examples[kind].get("config", {})
        assert list(Draft202012Validator(NODE_TYPES[kind].config_schema).iter_errors(config)) == [], kind


def test_the_format_example_is_a_valid_graph():
    """The first example of the page is a valid spec_version 2 document."""
    document = next(block for block in BLOCKS if "spec_version" in block)
    assert [issue for issue in validate(document) if issue.level == "error"] == []


def test_every_trigger_type_is_documented():
    """The trigger table names every trigger type."""
    for kind in TRIGGER_TYPES:
        assert f'"type": "{kind}"' in DOC


def test_every_node_and_trigger_section_shows_its_screenshot():
    """Each node type's and trigger type's section shows a picture of its settings, and the file exists
    (tests/browser/test_docs_screenshots.py takes them)."""
    root = Path(__file__).resolve().parents[2] / "docs"
    for folder, kinds in (("nodes", NODE_TYPES), ("triggers", TRIGGER_TYPES)):
        for kind in kinds:
            picture = f"img/{folder}/{kind}.png"
            assert f"]({picture})" in DOC, picture
            assert (root / picture).stat().st_size > 10_000, picture
