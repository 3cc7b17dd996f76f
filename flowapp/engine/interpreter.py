"""The pure interpreter: (graph, state, event) -> (new state, effects, log).

No database, network or clock: the host passes `now`, persists the state, performs the effects and
calls resume() when the event the run waits for arrives. The same code runs in the workers and in
the editor's simulator.
"""

from __future__ import annotations

import copy
from datetime import datetime

from flowapp.engine.migrations import SPEC_VERSION, UpgradeError, upgrade
from flowapp.engine.registry import NODE_TYPES
from flowapp.engine.run import Run
from flowapp.engine.state import TOKENED, WAIT, WAKES, Event, NodeFailure, Result, RunState
from flowapp.engine.templating import TemplateFailure

DEFAULT_MAX_STEPS = 100
_FAILED = object()


class _GraphError(Exception):
    pass


def _index(graph: dict) -> tuple[dict, dict]:
    """Nodes by id and edge targets by (node, port): built per call, it costs less than one step."""
    try:
        if not isinstance(graph, dict) or graph.get("spec_version") != SPEC_VERSION:
            graph = upgrade(graph)
        nodes = {node["id"]: node for node in graph["nodes"]}
        edges = {(edge["from"], edge["port"]): edge["to"] for edge in graph["edges"]}
    except (UpgradeError, KeyError, TypeError) as exc:
        raise _GraphError(f"the graph cannot be read: {exc}") from None
    return nodes, edges


def _fail(run: Run, node_id: str | None, event: str, message: str) -> None:
    state = run.state
    state.status, state.error, state.wait = "failed", message, None
    if node_id is not None:
        state.node = node_id
    run.note(node_id, event, {"error": message})


def _complete(run: Run, node_id: str, reason: str) -> None:
    run.state.status, run.state.wait = "completed", None
    run.note(node_id, "completed", {"reason": reason})


def _call(run: Run, node_id: str, node_type: str, function, *args):
    """Run a node's function; whatever goes wrong fails the node, never the caller."""
    try:
        return function(run, node_id, *args)
    except TemplateFailure as exc:
        _fail(run, node_id, "template_error", f"template error: {exc.message}")
    except NodeFailure as exc:
        _fail(run, node_id, "failed", str(exc))
    except Exception as exc:  # a bug in a node type must not take the worker down with it
        _fail(run, node_id, "failed", f"{node_type} failed unexpectedly: {exc!r}")
    return _FAILED


def _after(run: Run, edges: dict, node_id: str, port) -> str | None:
    """Handle what a node returned; the next node to enter, or None when the walk stops here."""
    if port is _FAILED:
        return None
    if port is WAIT:
        run.state.status = "waiting"
        wait = run.state.wait
        run.note(node_id, "waiting", {"kind": wait["kind"], "deadline": wait["deadline"]})
        return None
    if port is None:
        _complete(run, node_id, "end")
        return None
    next_id = edges.get((node_id, port))
    run.note(node_id, "port", {"port": port, "to": next_id})
    if next_id is None:
        _complete(run, node_id, f"nothing is connected to port {port!r}")
    return next_id


def _walk(run: Run, nodes: dict, edges: dict, node_id: str | None, max_steps: int) -> None:
    """Enter nodes from `node_id` until the run waits, ends or fails (or the step budget runs out)."""
    state = run.state
    executed = 0
    while node_id is not None:
        node = nodes.get(node_id)
        if node is None:
            return _fail(run, node_id, "failed", f"the graph has no node {node_id!r}")
        executed += 1
        if executed > max_steps:
            message = f"more than {max_steps} steps without waiting: a loop?"
            return _fail(run, node_id, "budget_exceeded", message)
        state.steps += 1
        state.node = node_id
        kind = node.get("type")
        run.note(node_id, "entered", {"type": kind})
        node_type = NODE_TYPES.get(kind)
        if node_type is None:
            return _fail(run, node_id, "failed", f"unknown node type {kind!r}")
        port = _call(run, node_id, kind, node_type.execute, node.get("config") or {})
        node_id = _after(run, edges, node_id, port)
    return None


def start(graph: dict, context: dict, now: datetime, *, max_steps: int = DEFAULT_MAX_STEPS) -> Result:
    """Start a run: enter the start node and walk until the run waits, ends or fails.

    `context`: {"contact", "trigger", "message" (or {}), "account_timezone", "random",
    "window_open" (optional), "vars" (optional initial variables), "allow_private_urls" (optional),
    "field_types" (optional: declared custom fields, {key: {"type", "choices"}}, see engine.fields)}.
    """
    run = Run(RunState(vars=copy.deepcopy(context.get("vars") or {})), context, now)
    try:
        nodes, edges = _index(graph)
    except _GraphError as exc:
        _fail(run, None, "failed", str(exc))
        return run.result()
    starts = [node_id for node_id, node in nodes.items() if node.get("type") == "start"]
    if len(starts) != 1:
        _fail(run, None, "failed", f"a graph needs exactly one start node, this one has {len(starts)}")
        return run.result()
    run.note(None, "started", {"trigger": (context.get("trigger") or {}).get("type")})
    _walk(run, nodes, edges, starts[0], max_steps)
    return run.result()


def _stale_reason(state: RunState, event: Event) -> str | None:
    wait = state.wait
    if state.status != "waiting" or not wait:
        return f"the run is {state.status}, not waiting"
    if event.kind not in WAKES.get(wait.get("kind"), ()):
        return f"the run waits for {wait.get('kind')}, not {event.kind}"
    if event.kind in TOKENED:
        if event.data.get("token") != wait.get("token"):
            return "a stale deadline: the run has moved on since it was set"
        if event.data.get("node", wait.get("node")) != wait.get("node"):
            return "a stale deadline: it belongs to another node"
    return None


def _wake(run: Run, node: dict, event: Event, wait: dict):
    """The port the waiting node takes for `event` (or WAIT to go on waiting)."""
    node_id = node["id"]
    run.note(node_id, "resumed", {"event": event.kind})
    if event.kind == "reply":
        run.replied(event.data)
    if event.kind == "timeout":
        run.note(node_id, "timeout", {"deadline": wait.get("deadline")})
        return "timeout"
    node_type = NODE_TYPES[node["type"]]
    return _call(run, node_id, node["type"], node_type.resume, node.get("config") or {}, event, wait)


def resume(
    graph: dict,
    state: RunState | dict,
    event: Event | dict,
    context: dict,
    now: datetime,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
) -> Result:
    """Wake a waiting run with `event` and walk on until it waits again, ends or fails.

    An event the run is not waiting for (a stale timeout, a reply while it waits for HTTP) changes
    nothing: the state comes back as it was, with no effects and a "stale" log entry.
    """
    state = state.copy() if isinstance(state, RunState) else RunState.from_dict(state)
    event = event if isinstance(event, Event) else Event.from_dict(event)
    run = Run(state, context, now)
    stale = _stale_reason(state, event)
    if stale:
        run.note(state.node, "stale", {"event": event.kind, "reason": stale})
        return run.result()
    try:
        nodes, edges = _index(graph)
    except _GraphError as exc:
        _fail(run, state.node, "failed", str(exc))
        return run.result()
    wait, state.wait, state.status = state.wait, None, "running"
    node = nodes.get(wait["node"])
    if node is None or NODE_TYPES.get(node.get("type")) is None:
        _fail(
            run, wait["node"], "failed", f"the graph has no node {wait['node']!r} of a known type to resume"
        )
        return run.result()
    port = _wake(run, node, event, wait)
    _walk(run, nodes, edges, _after(run, edges, node["id"], port), max_steps)
    return run.result()
