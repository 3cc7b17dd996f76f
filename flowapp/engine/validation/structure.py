"""The document's shape: the schema, node ids, the start node, edges, reachability and open ports."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

from jsonschema import Draft202012Validator

from flowapp.engine.conform import compile_schema
from flowapp.engine.issues import Issue, error, warning
from flowapp.engine.jsonerrors import describe, field_path
from flowapp.engine.registry import NODE_TYPES, NodeType
from flowapp.engine.schema import structure_schema


@dataclass
class View:
    """The graph as the checks read it: well-formed nodes and the edges that make sense."""

    nodes: dict[str, dict] = field(default_factory=dict)
    types: dict[str, NodeType] = field(default_factory=dict)
    ports: dict[str, list[str]] = field(default_factory=dict)
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    successors: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    start: str | None = None

    def config(self, node_id: str) -> dict:
        """The node's config, or {} when it is not an object (the schema reports that)."""
        config = self.nodes[node_id].get("config")
        return config if isinstance(config, dict) else {}


@lru_cache(maxsize=1)
def _structure_validator() -> Draft202012Validator:
    return Draft202012Validator(structure_schema())


@lru_cache(maxsize=1)
def _structure_conforms():
    return compile_schema(structure_schema())


def readable(document: dict) -> bool:
    """Whether nodes and edges are lists the other checks can walk."""
    return isinstance(document.get("nodes"), list) and isinstance(document.get("edges"), list)


def _node_of(document: dict, path: list) -> tuple[str | None, list]:
    """The node id an error path points into, and the rest of the path."""
    if len(path) >= 2 and path[0] in ("nodes", "edges") and isinstance(path[1], int):
        item = document[path[0]][path[1]]
        key = "id" if path[0] == "nodes" else "from"
        node = item.get(key) if isinstance(item, dict) and isinstance(item.get(key), str) else None
        if path[0] == "nodes":
            return node, path[2:] if node else path
        return node, path
    return None, path


def schema_issues(document: dict) -> list[Issue]:
    """The document's schema errors (node configs are checked per type, in content.py)."""
    if _structure_conforms()(document):
        return []
    issues = []
    for problem in _structure_validator().iter_errors(document):
        path, message = describe(problem)
        node, rest = _node_of(document, path)
        issues.append(error(node, field_path(rest), message))
    return issues


def _add_nodes(view: View, document: dict) -> list[Issue]:
    issues = []
    for node in document["nodes"]:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            continue
        node_id = node["id"]
        if node_id in view.nodes:
            issues.append(error(node_id, "id", f"another node already has the id {node_id!r}"))
            continue
        view.nodes[node_id] = node
        view.successors[node_id] = []
        node_type = NODE_TYPES.get(node.get("type"))
        if node_type is not None:
            view.types[node_id] = node_type
            view.ports[node_id] = node_type.ports(view.config(node_id))
    return issues


def _start_issues(view: View) -> list[Issue]:
    starts = [node_id for node_id, node in view.nodes.items() if node.get("type") == "start"]
    if not starts:
        return [error(None, "nodes", "a graph needs a start node: runs begin there")]
    view.start = starts[0]
    return [error(node_id, None, "only one start node is allowed") for node_id in starts[1:]]


def _edge_issue(view: View, index: int, edge: object) -> Issue | None:
    if not isinstance(edge, dict) or not all(
        isinstance(edge.get(key), str) for key in ("from", "port", "to")
    ):
        return None  # the schema already said what is wrong with it
    source, port, target = edge["from"], edge["port"], edge["to"]
    if source not in view.nodes:
        return error(None, f"edges[{index}].from", f"no node has the id {source!r}")
    if target not in view.nodes:
        return error(source, f"edges[{index}].to", f"no node has the id {target!r}")
    if source in view.types and port not in view.ports[source]:
        known = ", ".join(view.ports[source]) or "none"
        return error(source, f"edges[{index}].port", f"this node has no port {port!r} (its ports: {known})")
    if (source, port) in view.edges:
        return error(
            source, f"edges[{index}]", f"port {port!r} already has an edge: a port leads to one node"
        )
    view.edges[(source, port)] = target
    view.successors[source].append((port, target))
    return None


def build_view(document: dict) -> tuple[View, list[Issue]]:
    """The View of a readable document, and the problems found while building it."""
    view = View()
    issues = _add_nodes(view, document)
    issues += _start_issues(view)
    for index, edge in enumerate(document["edges"]):
        issue = _edge_issue(view, index, edge)
        if issue is not None:
            issues.append(issue)
    return view, issues


def reachable(view: View) -> set[str]:
    """The nodes some path from the start reaches."""
    if view.start is None:
        return set(view.nodes)
    seen, queue = {view.start}, deque([view.start])
    while queue:
        for _port, target in view.successors[queue.popleft()]:
            if target not in seen:
                seen.add(target)
                queue.append(target)
    return seen


def reach_issues(view: View) -> list[Issue]:
    """Warnings for nodes no run can reach and for open ports that are a real risk.

    An open port ends the run (as completed), which is how most automations end, so it warns only
    where its node type says something is lost (NodeType.open_port_risks): a reply nothing answers,
    a start that leads nowhere, an HTTP failure nobody hears of. One warning per node and risk.
    """
    seen = reachable(view)
    issues = [
        warning(node_id, None, "no path from the start reaches this node")
        for node_id in view.nodes
        if node_id not in seen
    ]
    for node_id, node_type in view.types.items():
        by_risk: dict[str, list[str]] = {}
        for port, risk in node_type.open_port_risks(view.config(node_id)).items():
            if (node_id, port) not in view.edges:
                by_risk.setdefault(risk, []).append(port)
        for risk, ports in by_risk.items():
            names = ", ".join(f'"{port}"' for port in ports)
            issues.append(warning(node_id, "ports", f"nothing is connected to {names}: {risk}"))
    return issues
