"""The JSON Schema file: generated from the registry, committed, and in agreement with the fast check."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from flowapp.engine import NODE_TYPES
from flowapp.engine.conform import compile_schema
from flowapp.engine.schema import SCHEMA_FILE, build_schema, render_schema, structure_schema
from tests.engine.helpers import graph, node
from tests.engine.test_cases import ALL_CASES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "automations"


def test_committed_schema_is_up_to_date():
    """automation-v2.json is what `python -m flowapp.engine.schema` generates now."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_schema(), "run: python -m flowapp.engine.schema"


def test_schema_is_valid_draft_2020_12():
    """The generated schema is itself a valid Draft 2020-12 schema, with one config per node type."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert {f"config_{kind}" for kind in NODE_TYPES} <= set(schema["$defs"])
    assert "trigger" in schema["$defs"]


def test_full_schema_accepts_examples_and_cases():
    """Every example and case graph satisfies the published schema."""
    validator = Draft202012Validator(build_schema())
    documents = [json.loads(p.read_text())["graph"] for p in sorted(EXAMPLES.glob("*.json"))]
    documents += [graph(c["graph"]["nodes"], c["graph"].get("edges", [])) for _, c in ALL_CASES]
    for document in documents:
        assert list(validator.iter_errors(document)) == []


def test_full_schema_checks_configs_by_type():
    """The published schema applies the node type's config schema (4 buttons are refused)."""
    validator = Draft202012Validator(build_schema())
    buttons = [{"id": f"b{i}", "title": f"B{i}"} for i in range(4)]
    document = graph([node("ask", "send_buttons", text="Pick", buttons=buttons)], [])
    assert not validator.is_valid(document)


def _configs() -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {kind: [copy.deepcopy(t.default_config)] for kind, t in NODE_TYPES.items()}
    for _, case in ALL_CASES:
        for item in case["graph"]["nodes"]:
            found[item["type"]].append(item.get("config", {}))
    for path in sorted(EXAMPLES.glob("*.json")):
        for item in json.loads(path.read_text())["graph"]["nodes"]:
            found[item["type"]].append(item["config"])
    return found


BAD_VALUES = [None, 0, 1.5, -1, True, "", "x" * 5000, [], [{}], {}, {"x": 1}, "bad id!", 31]


def _mutations(config: dict):
    yield config
    yield from (None, [], "config")
    yield {**config, "unknown_setting": 1}
    for key in list(config):
        yield {k: v for k, v in config.items() if k != key}
        for bad in BAD_VALUES:
            yield {**config, key: bad}
        value = config[key]
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                for bad in BAD_VALUES:
                    yield {**config, key: [{**value[0], inner: bad}, *value[1:]]}


@pytest.mark.parametrize("kind", list(NODE_TYPES))
def test_fast_check_agrees_with_jsonschema(kind):
    """conform says valid exactly when jsonschema does, on valid configs and many broken ones."""
    schema = NODE_TYPES[kind].config_schema
    fast, slow = compile_schema(schema), Draft202012Validator(schema)
    checked = 0
    for config in _configs()[kind]:
        for mutated in _mutations(config):
            assert fast(mutated) == slow.is_valid(mutated), mutated
            checked += 1
    assert checked > 3


def test_fast_check_agrees_on_documents():
    """The document-level check agrees too (bad ids, positions, edges, unknown types)."""
    schema = structure_schema()
    fast, slow = compile_schema(schema), Draft202012Validator(schema)
    base = graph([node("a", "log", message="x")], [["start", "next", "a"]])
    variants = [base, {**base, "spec_version": 1}, {**base, "extra": 1}, {**base, "meta": {"zoom": 1}}]
    for change in (
        {"id": "bad id"},
        {"type": "nope"},
        {"position": {"x": "1", "y": 2}},
        {"config": []},
        {"label": 5},
    ):
        broken = copy.deepcopy(base)
        broken["nodes"][1].update(change)
        variants.append(broken)
    variants.append({**base, "edges": [{"from": "start", "port": "", "to": "a"}]})
    variants.append({**base, "edges": [{"from": "start", "to": "a"}]})
    for document in variants:
        assert fast(document) == slow.is_valid(document), document


def test_fast_check_refuses_keywords_it_does_not_know():
    """A schema with a keyword conform does not implement cannot be compiled by mistake."""
    with pytest.raises(ValueError, match="oneOf"):
        compile_schema({"oneOf": [{"type": "string"}]})
