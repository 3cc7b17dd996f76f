"""The registry drives the editor's palette: every type, with what the editor needs."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator

from flowapp.engine import NODE_TYPES, palette
from flowapp.engine.registry import CATEGORIES

KEYS = {"type", "label", "icon", "description", "category", "default_config", "ports", "required", "waits"}


def test_palette_covers_every_type_in_order():
    """One entry per node type, JSON-able, in the registry's order."""
    entries = palette()
    assert [entry["type"] for entry in entries] == list(NODE_TYPES)
    assert len(entries) == 21
    assert json.loads(json.dumps(entries)) == entries


@pytest.mark.parametrize("entry", palette(), ids=lambda entry: entry["type"])
def test_palette_entries(entry):
    """Label, a short icon, a one-line description, a known category, static ports."""
    assert KEYS <= set(entry)
    assert entry["label"] and len(entry["icon"]) <= 3
    assert entry["description"] and "\n" not in entry["description"]
    assert entry["category"] in CATEGORIES
    assert entry["ports"] == NODE_TYPES[entry["type"]].ports(entry["default_config"])


@pytest.mark.parametrize("kind", list(NODE_TYPES))
def test_default_configs_only_lack_what_the_user_must_fill(kind):
    """A new node's config fails its schema only by missing required settings."""
    node_type = NODE_TYPES[kind]
    for error in Draft202012Validator(node_type.config_schema).iter_errors(node_type.default_config):
        assert error.validator == "required", error.message


@pytest.mark.parametrize("kind", list(NODE_TYPES))
def test_summaries_are_short_text(kind):
    """summary() gives the canvas a short line, even for a new node."""
    summary = NODE_TYPES[kind].summary(NODE_TYPES[kind].default_config)
    assert isinstance(summary, str) and 0 < len(summary) <= 80


def _docstring_example(kind: str) -> dict:
    doc = NODE_TYPES[kind].execute.__doc__
    start = doc.index('{"id"')
    return json.loads(re.sub(r"\s+", " ", doc[start:].strip()))


@pytest.mark.parametrize("kind", list(NODE_TYPES))
def test_every_node_function_documents_an_example_node(kind):
    """Each execute docstring ends with an example node (goflow style) whose config is valid."""
    example = _docstring_example(kind)
    assert example["type"] == kind
    config = example.get("config", {})
    assert list(Draft202012Validator(NODE_TYPES[kind].config_schema).iter_errors(config)) == []
