"""Checks over the paths runs can take: loops that never wait, and free-form messages that can be
sent outside WhatsApp's 24-hour customer-service window."""

from __future__ import annotations

from flowapp.engine.durations import DAY, describe, seconds_or_none
from flowapp.engine.issues import Issue, error
from flowapp.engine.validation.structure import View

# Triggers that start runs when the customer has not necessarily written in the last 24 hours.
CLOSED_BY_TRIGGER = {
    "schedule": "a schedule trigger",
    "date_field": "a date trigger",
    "manual": "a manual, API or broadcast start",
}


def _strongly_connected(nodes: list[str], successors: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a long chain must not hit Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(successors[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(successors[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


def loop_issues(view: View) -> list[Issue]:
    """An error for each loop that passes no node that waits (reply, choice, delay, HTTP, sub-run)."""
    spinning = [
        node_id
        for node_id in view.nodes
        if node_id in view.types and not view.types[node_id].does_wait(view.config(node_id))
    ]
    inside = set(spinning)
    successors = {
        node_id: [target for _port, target in view.successors[node_id] if target in inside]
        for node_id in spinning
    }
    issues = []
    order = {node_id: position for position, node_id in enumerate(view.nodes)}
    for component in _strongly_connected(spinning, successors):
        if len(component) == 1 and component[0] not in successors[component[0]]:
            continue
        members = sorted(component, key=order.__getitem__)
        path = " → ".join([*members, members[0]]) if len(members) <= 6 else f"{len(members)} nodes"
        message = f"this loop can spin without waiting ({path}): put a wait, a delay or a question in it"
        issues.append(error(members[0], None, message))
    return issues


def _after_port(view: View, node_id: str, port: str, state: str | None) -> str | None:
    """The window after leaving `node_id` by `port`: None (known open) or why it may be closed."""
    node_type, config = view.types[node_id], view.config(node_id)
    if node_type.awaits_reply and port != "timeout":
        return None  # the customer just wrote: a new 24 hours start
    if port == "timeout":
        seconds = seconds_or_none(config.get("timeout"))
        if seconds is not None and seconds > DAY:
            return f"the {describe(seconds)} timeout of {node_id!r}"
    if node_type.type == "delay":
        seconds = seconds_or_none(config.get("seconds"))
        if seconds is not None and seconds > DAY:
            return f"the {describe(seconds)} delay {node_id!r}"
    return state


def _closed_nodes(view: View, entry: str | None) -> dict[str, str]:
    """Nodes a run can enter while the window may be closed, with the reason (a forward dataflow:
    a node is "maybe closed" if any path into it is; each node is visited at most twice)."""
    closed: dict[str, str] = {}
    open_seen: set[str] = set()
    work = [(view.start, entry)]
    while work:
        node_id, state = work.pop()
        if node_id in closed or (state is None and node_id in open_seen):
            continue
        if state is None:
            open_seen.add(node_id)
        else:
            closed[node_id] = state
        if node_id not in view.types:
            continue
        for port, target in view.successors[node_id]:
            work.append((target, _after_port(view, node_id, port, state)))
    return closed


def window_issues(view: View, trigger: dict | None) -> list[Issue]:
    """Errors for free-form sends that can run outside the 24-hour window: after a schedule, date or
    manual trigger before the customer replies, or after a delay or timeout longer than 24 hours."""
    if view.start is None:
        return []
    entry = CLOSED_BY_TRIGGER.get(trigger.get("type")) if isinstance(trigger, dict) else None
    closed = _closed_nodes(view, entry)
    issues = []
    for node_id in view.nodes:
        node_type = view.types.get(node_id)
        if node_id not in closed or node_type is None:
            continue
        if node_type.does_send_free_form(view.config(node_id)):
            issues.append(
                error(
                    node_id,
                    None,
                    f"this {node_type.label.lower()} can run outside the 24-hour window (after "
                    f"{closed[node_id]}, before the customer writes again): WhatsApp only allows a "
                    "template there, so use a send_template node, or wait for a reply first",
                )
            )
    return issues
