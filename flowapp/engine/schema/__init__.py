"""The JSON Schema of the graph format, generated from the node registry.

`python -m flowapp.engine.schema` writes automation-v2.json next to this module; a test checks the
committed file is what the registry generates, so the file API users read is never out of date.
"""

from __future__ import annotations

import json
from pathlib import Path

from flowapp.engine.migrations import SPEC_VERSION
from flowapp.engine.nodes.common import ID, text
from flowapp.engine.registry import NODE_TYPES
from flowapp.engine.triggers import trigger_schema

SCHEMA_ID = f"https://flowapp.dev/schema/automation-v{SPEC_VERSION}.json"
SCHEMA_FILE = Path(__file__).with_name(f"automation-v{SPEC_VERSION}.json")
POSITION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["x", "y"],
    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
}
PORT = {"type": "string", "minLength": 1, "maxLength": 64}
EDGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["from", "port", "to"],
    "properties": {"from": ID, "port": PORT, "to": ID},
}


def _node(config: dict) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "type", "config"],
        "properties": {
            "id": ID,
            "type": {"enum": list(NODE_TYPES)},
            "config": config,
            "position": POSITION,
            "label": text(100),
        },
    }


def _document(node: dict) -> dict:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["spec_version", "nodes", "edges"],
        "properties": {
            "spec_version": {"const": SPEC_VERSION},
            "nodes": {"type": "array", "items": node},
            "edges": {"type": "array", "items": EDGE},
            "meta": {"type": "object", "description": "free-form data kept for the editor (viewport, notes)"},
        },
    }


def structure_schema() -> dict:
    """The document with every config left open: the validator checks configs per node type."""
    return _document(_node({"type": "object"}))


def build_schema() -> dict:
    """The whole format: the document, each node type's config (chosen by "type"), and the trigger."""
    node = _node({"type": "object"})
    node["allOf"] = [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": {"properties": {"config": {"$ref": f"#/$defs/config_{kind}"}}},
        }
        for kind in NODE_TYPES
    ]
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"Flowapp automation graph, spec_version {SPEC_VERSION}",
        "description": "Generated from flowapp/engine/registry.py by `python -m flowapp.engine.schema`.",
        **_document({"$ref": "#/$defs/node"}),
    }
    schema["$defs"] = {
        "node": node,
        **{f"config_{kind}": entry.config_schema for kind, entry in NODE_TYPES.items()},
        "trigger": trigger_schema(),
    }
    return schema


def render_schema() -> str:
    """The schema file's exact text."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_FILE) -> Path:
    """Write the generated schema to `path` (the committed file by default)."""
    path.write_text(render_schema(), encoding="utf-8")
    return path
