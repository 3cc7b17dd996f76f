"""Spec versions: v1 documents upgrade to v2, current documents pass through, nothing is mutated."""

from __future__ import annotations

import copy

import pytest

from flowapp.engine import SPEC_VERSION, UpgradeError, start, upgrade, validate
from tests.engine.helpers import NOW, context

V1 = {
    "name": "old export",
    "nodes": [
        {"id": "start", "type": "start", "data": {}, "position": {"x": 1.5, "y": -2}},
        {
            "id": "hello",
            "type": "send_text",
            "data": {"text": "Hi {{ contact.name }}"},
            "position": {"x": 300, "y": 120},
        },
        {"id": "bye", "type": "end", "data": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "source_port": "next", "target": "hello"},
        {"id": "e2", "source": "hello", "target": "bye"},
    ],
}


def test_v1_upgrades_to_v2():
    """data becomes config, edges become from/port/to (a missing port is next), positions are kept."""
    upgraded = upgrade(V1)
    assert upgraded["spec_version"] == SPEC_VERSION == 2
    assert upgraded["nodes"][1] == {
        "id": "hello",
        "type": "send_text",
        "config": {"text": "Hi {{ contact.name }}"},
        "position": {"x": 300, "y": 120},
    }
    assert upgraded["nodes"][0]["position"] == {"x": 1.5, "y": -2}
    assert upgraded["edges"] == [
        {"from": "start", "port": "next", "to": "hello"},
        {"from": "hello", "port": "next", "to": "bye"},
    ]
    assert upgraded["meta"] == {"name": "old export"}
    assert set(upgraded) == {"spec_version", "nodes", "edges", "meta"}


def test_explicit_version_1_is_the_same():
    """spec_version 1 and no spec_version mean the same thing."""
    assert upgrade({**V1, "spec_version": 1}) == upgrade(V1)


def test_upgrade_is_idempotent():
    """Upgrading an upgraded document changes nothing."""
    once = upgrade(V1)
    assert upgrade(once) == once
    assert upgrade(upgrade(once)) == once


def test_upgrade_never_mutates_its_argument():
    """Neither a v1 nor a current document is changed in place, nor shared with the result."""
    before = copy.deepcopy(V1)
    upgraded = upgrade(V1)
    assert V1 == before
    current = upgrade(V1)
    again = upgrade(current)
    again["nodes"][0]["config"]["x"] = 1
    assert "x" not in current["nodes"][0]["config"]
    assert upgraded is not V1


@pytest.mark.parametrize("version", [3, 99, 0, "2", None, True])
def test_unknown_versions_are_refused(version):
    """A newer or nonsensical spec_version raises UpgradeError, with a readable message."""
    with pytest.raises(UpgradeError):
        upgrade({"spec_version": version, "nodes": [], "edges": []})


def test_not_a_document():
    """A list is not a graph."""
    with pytest.raises(UpgradeError):
        upgrade([])


def test_v1_graphs_validate_and_run():
    """The validator and the interpreter upgrade what they are given."""
    assert [i for i in validate(V1) if i.level == "error"] == []
    result = start(V1, context(), NOW)
    assert result.status == "completed"
    assert result.effects[0].data["text"] == "Hi Ana"
