"""Interpreter benchmark: steps per second on a 200-node graph of non-I/O nodes, in one process.

    .venv/bin/python -m bench.interpreter [--seconds 3] [--nodes 200]

The graph is a chain of set_variable, condition and log nodes (all with templates or expressions,
so rendering is measured too) that ends in a wait_reply, which is where a run's sprint stops. It is
started again and again for --seconds; every node entered is a step. The baseline, measured in the
same run, is a bare Python loop doing one dict lookup and one function call per step: the ratio is
what survives a noisy machine. Target: >= 50,000 steps/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from flowapp.engine import start, validate

TARGET = 50_000
CONTEXT = {
    "contact": {
        "name": "Ana",
        "wa_id": "34600111222",
        "fields": {"age": "34", "city": "Lima"},
        "tags": ["vip"],
    },
    "trigger": {"type": "keyword", "keywords": ["menu"]},
    "message": {"text": "menu", "type": "text"},
    "account_timezone": "Europe/Madrid",
    "random": 0.5,
}
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _node(index: int) -> tuple[dict, str]:
    """The index-th node of the chain, and the port the chain continues by."""
    node_id = f"n{index}"
    kind = index % 3
    if kind == 0:
        config = {"name": f"v{index % 7}", "value": "{{ contact.name }} #{{ vars.v1 }}"}
        return {"id": node_id, "type": "set_variable", "config": config}, "next"
    if kind == 1:
        cases = [
            {"id": "low", "left": "contact.fields.age", "op": "lt", "value": 18},
            {"id": "word", "left": "message.text", "op": "contains_any", "value": "stop, cancel"},
        ]
        return {"id": node_id, "type": "condition", "config": {"cases": cases}}, "else"
    return {"id": node_id, "type": "log", "config": {"message": "step {{ vars.v0 }}"}}, "next"


def build_graph(size: int = 200) -> dict:
    """start, size - 2 non-I/O nodes, then a wait_reply: `size` nodes, one straight path."""
    nodes = [{"id": "start", "type": "start", "config": {}}]
    edges, previous = [], ("start", "next")
    for index in range(size - 2):
        node, port = _node(index)
        nodes.append(node)
        edges.append({"from": previous[0], "port": previous[1], "to": node["id"]})
        previous = (node["id"], port)
        if port == "else":  # the case ports lead out of the chain to a shared end
            edges += [{"from": node["id"], "port": p, "to": "out"} for p in ("low", "word")]
    nodes += [
        {"id": "wait", "type": "wait_reply", "config": {"variable": "answer"}},
        {"id": "out", "type": "end", "config": {}},
    ]
    edges.append({"from": previous[0], "port": previous[1], "to": "wait"})
    return {"spec_version": 2, "nodes": nodes, "edges": edges}


def measure_interpreter(graph: dict, seconds: float) -> tuple[float, int]:
    """Steps per second running the graph from the start until it waits, repeatedly."""
    steps = runs = 0
    began = time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        result = start(graph, CONTEXT, NOW, max_steps=len(graph["nodes"]))
        if result.state.status != "waiting":
            raise RuntimeError(f"the benchmark graph did not reach its wait: {result.state.error}")
        steps += result.state.steps
        runs += 1
    return steps / (time.perf_counter() - began), runs


def _handler(value: int) -> int:
    return value + 1


def measure_baseline(seconds: float) -> float:
    """Dict lookups plus function calls per second in a bare Python loop (the same machine, now)."""
    handlers = {"set_variable": _handler, "condition": _handler, "log": _handler}
    keys = ("set_variable", "condition", "log") * 1000
    calls, began = 0, time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        for key in keys:
            handlers[key](calls)
        calls += len(keys)
    return calls / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--nodes", type=int, default=200)
    args = parser.parse_args(argv)
    graph = build_graph(args.nodes)
    errors = [issue for issue in validate(graph) if issue.level == "error"]
    if errors:
        raise RuntimeError(f"the benchmark graph is not valid: {errors}")
    start(graph, CONTEXT, NOW, max_steps=len(graph["nodes"]))  # warm the template caches
    steps_per_second, runs = measure_interpreter(graph, args.seconds)
    baseline = measure_baseline(min(args.seconds, 1.0))
    print(f"interpreter: {args.nodes}-node graph, {runs} runs in {args.seconds:.1f} s")
    print(f"  engine steps/s:                      {steps_per_second:>14,.0f}")
    print(f"  bare loop (dict lookup + call)/s:    {baseline:>14,.0f}")
    print(f"  ratio engine / bare loop:            {steps_per_second / baseline:>14.4f}")
    verdict = "ok" if steps_per_second >= TARGET else "BELOW TARGET"
    print(f"  target >= {TARGET:,} steps/s:          {verdict}")
    return 0 if steps_per_second >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
