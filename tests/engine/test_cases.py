"""The table-driven node cases in cases/<node_type>.json (goflow style), run through start/resume.

A case: {"name", "graph": {"nodes": [...], "edges": [[from, port, to], ...]} (a start node is added
when missing), "context" (merged over helpers.CONTEXT), "now", "events": [{"kind", "data", "at"}]
(a "$token" in data is the token of the wait at that moment), "invalid_graph" (the validator may
report errors), "open_port_warnings" ({node: [ports]}: the open ports the validator warns about;
none when absent, since an open port that simply ends the run is no warning), "expect": {"status",
"node", "error" (a substring), "effects" (all effects of all calls, each matched as a subset, same
count), "vars", "ports" ([node, port] pairs of all calls), "wait" (subset of state.wait), "contact"
(subset of the run's contact at the end), "log" (events that must appear)}}.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from flowapp.engine import NODE_TYPES, Event, RunState, resume, start, validate
from flowapp.engine.run import Run
from tests.engine.helpers import NOW, context, graph

CASES = Path(__file__).with_name("cases")
# Ports every type must show taken somewhere in its file; "option" stands for a config-derived port.
PORT_KINDS = {
    "start": {"next"},
    "send_text": {"next"},
    "send_media": {"next"},
    "send_template": {"next"},
    "send_buttons": {"option", "other", "timeout"},
    "send_list": {"option", "other", "timeout"},
    "wait_reply": {"reply", "invalid", "timeout"},
    "condition": {"option", "else"},
    "set_variable": {"next"},
    "update_contact": {"next"},
    "classify": {"option", "other", "failure"},
    "extract": {"complete", "incomplete", "failure"},
    "generate": {"next", "failure"},
    "answer": {"next", "unknown", "failure"},
    "http_request": {"success", "failure"},
    "delay": {"next"},
    "random_split": {"option"},
    "run_automation": {"done", "next"},
    "handoff": set(),
    "log": {"next"},
    "end": set(),
}
FIXED_PORTS = {
    "next",
    "other",
    "timeout",
    "reply",
    "invalid",
    "else",
    "success",
    "failure",
    "done",
    "complete",
    "incomplete",
    "unknown",
}


def _load() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(CASES.glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            found.append((path.stem, case))
    return found


ALL_CASES = _load()


def _subset(expected, actual) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _subset(value, actual[key]) for key, value in expected.items()
        )
    return expected == actual


def _fill_token(data: dict, state: RunState) -> dict:
    token = (state.wait or {}).get("token")
    return {key: (token if value == "$token" else value) for key, value in data.items()}


def _open_port_warnings(issues) -> dict[str, list[str]]:
    """{node: [ports]} named by the open-port warnings ('nothing is connected to "a", "b": ...')."""
    found: dict[str, list[str]] = {}
    for issue in issues:
        if issue.level == "warning" and issue.field == "ports":
            named = issue.message.split(":")[0]
            found.setdefault(issue.node, []).extend(re.findall(r'"([^"]+)"', named))
    return found


def run_case(case: dict):
    """Run a case; returns (final state, all effects, all ports, all log entries, last Run's contact)."""
    document = graph(case["graph"]["nodes"], case["graph"].get("edges", []))
    ctx = context(**case.get("context", {}))
    now = datetime.fromisoformat(case["now"]) if "now" in case else NOW
    result = start(document, ctx, now)
    results = [result]
    for item in case.get("events", []):
        when = datetime.fromisoformat(item["at"]) if "at" in item else now
        event = Event(item["kind"], _fill_token(item.get("data", {}), result.state))
        result = resume(document, result.state.to_dict(), event, ctx, when)
        results.append(result)
    effects = [effect.to_dict() for r in results for effect in r.effects]
    ports = [[node, port] for r in results for node, port in r.ports]
    log = [entry for r in results for entry in r.log]
    return document, result.state, effects, ports, log


@pytest.mark.parametrize(
    "case", [case for _, case in ALL_CASES], ids=[f"{t}:{c['name']}" for t, c in ALL_CASES]
)
def test_case(case):
    """The case's graph, run through its events, ends as the case expects."""
    document, state, effects, ports, log = run_case(case)
    expect = case["expect"]
    if not case.get("invalid_graph"):
        issues = validate(document)
        assert [i for i in issues if i.level == "error"] == []
        assert _open_port_warnings(issues) == case.get("open_port_warnings", {})
    assert state.status == expect["status"], state.error
    if "node" in expect:
        assert state.node == expect["node"]
    if "error" in expect:
        assert expect["error"] in (state.error or "")
    if "effects" in expect:
        assert len(effects) == len(expect["effects"]), effects
        for wanted, got in zip(expect["effects"], effects, strict=True):
            assert _subset(wanted, got), (wanted, got)
    if "vars" in expect:
        assert state.vars == expect["vars"]
    if "ports" in expect:
        assert ports == expect["ports"]
    if "wait" in expect:
        assert _subset(expect["wait"], state.wait), state.wait
    for event in expect.get("log", []):
        assert event in [entry.event for entry in log]
    assert RunState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


def test_every_node_type_has_cases_for_every_port():
    """Each node type has a cases file, and its cases take every kind of port the type has."""
    assert set(PORT_KINDS) == set(NODE_TYPES)
    for type_name, kinds in PORT_KINDS.items():
        cases = [case for kind, case in ALL_CASES if kind == type_name]
        assert cases, f"no cases/{type_name}.json"
        taken = set()
        for case in cases:
            document, *_rest, log = run_case(case)
            types = {item["id"]: item["type"] for item in document["nodes"]}
            for entry in log:
                if entry.event == "port" and types[entry.node] == type_name:
                    port = entry.detail["port"]
                    taken.add(port if port in FIXED_PORTS else "option")
        assert kinds <= taken, f"{type_name}: no case takes {sorted(kinds - taken)}"


def test_run_helper_is_what_nodes_see():
    """Run exposes the names templates use (guards the cases' assumptions)."""
    run = Run(RunState(), context(), NOW)
    assert (
        run.render("{{ contact.phone }} {{ message.text }} {{ trigger.type }}") == "+34600111222 menu keyword"
    )
