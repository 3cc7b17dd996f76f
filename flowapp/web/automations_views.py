"""How nodes and triggers look in the editor: port lists and labels, summaries, names in scope.

The canvas never computes ports itself: they come from the engine's registry through `node_view`,
so a node's outputs on the canvas are exactly the ports the validator and the interpreter know.
"""

from __future__ import annotations

from collections import deque

from flowapp import engine
from flowapp.engine.durations import describe, seconds_or_none

# Settings that save a run variable, by node type.
VARIABLE_SETTINGS = {
    "set_variable": "name",
    "wait_reply": "variable",
    "send_buttons": "variable",
    "send_list": "variable",
    "http_request": "save_as",
    "classify": "save_as",
    "generate": "save_as",
    "answer": "save_as",
}
CONTACT_NAMES = ("contact.name", "contact.wa_id", "contact.phone", "contact.tags", "contact.birthday")
MESSAGE_NAMES = ("message.text", "message.type", "message.reply_id")
MAX_PORT_LABEL = 24


def _options(config: dict, kind: str) -> list[dict]:
    if kind == "send_buttons":
        items = config.get("buttons")
    elif kind == "send_list":
        items = [
            row
            for section in config.get("sections") or []
            if isinstance(section, dict)
            for row in section.get("rows") or []
        ]
    else:
        return []
    return [item for item in items or [] if isinstance(item, dict)]


def port_labels(kind: str, config: dict, ports: list[str]) -> dict[str, str]:
    """A short label per port: a button's or row's title, a branch's weight, else the port name."""
    labels = {port: port for port in ports}
    for option in _options(config, kind):
        if option.get("id") in labels and option.get("title"):
            labels[option["id"]] = str(option["title"])[:MAX_PORT_LABEL]
    if kind == "random_split":
        for branch in config.get("branches") or []:
            if isinstance(branch, dict) and branch.get("id") in labels:
                labels[branch["id"]] = f"{branch['id']} ({branch.get('weight')})"
    return labels


def node_view(node: dict) -> dict:
    """What the canvas draws for a node: {"ports", "labels", "summary", "icon", "title", "inputs"}."""
    kind = node.get("type")
    config = node.get("config") if isinstance(node.get("config"), dict) else {}
    node_type = engine.NODE_TYPES.get(kind)
    if node_type is None:
        return {
            "ports": [],
            "labels": {},
            "summary": f"Unknown type {kind!r}",
            "icon": "?",
            "title": str(kind),
            "inputs": 1,
        }
    try:
        ports = node_type.ports(config)
        summary = node_type.summary(config)
    except (TypeError, AttributeError, KeyError, ValueError):
        # A config the validator reports as malformed: draw the node with the palette's ports.
        ports, summary = node_type.static_ports(), node_type.label
    return {
        "ports": ports,
        "labels": port_labels(kind, config, ports),
        "summary": summary,
        "icon": node_type.icon,
        "title": node_type.label,
        "inputs": 0 if kind == "start" else 1,
    }


def graph_views(graph: dict) -> dict[str, dict]:
    """node_view() of every node, by node id."""
    return {node["id"]: node_view(node) for node in graph.get("nodes") or [] if isinstance(node, dict)}


def palette_entries() -> list[dict]:
    """The engine's palette, each entry with the view a new node of that type gets."""
    entries = []
    for entry in engine.palette():
        view = node_view({"type": entry["type"], "config": entry["default_config"]})
        entries.append(
            {
                key: entry[key]
                for key in ("type", "label", "icon", "description", "category", "default_config")
            }
            | {"view": view}
        )
    return entries


def trigger_summary(trigger: dict | None) -> str:
    """One line saying what starts the automation: 'Keyword "menu" (first word)'."""
    trigger = trigger if isinstance(trigger, dict) else {}
    kind = trigger.get("type")
    if kind == "keyword":
        words = ", ".join(f'"{word}"' for word in trigger.get("keywords") or []) or "(no keyword)"
        match = str(trigger.get("match", "first_word")).replace("_", " ")
        return f"Keyword {words} ({match})" + (", interrupts" if trigger.get("interrupts") else "")
    if kind == "date_field":
        offset = trigger.get("offset_days", 0)
        when = "on" if not offset else f"{abs(offset)} days {'before' if offset < 0 else 'after'}"
        return f"Date: {when} contact.{trigger.get('field', '?')} at {trigger.get('time', '09:00')}"
    if kind == "schedule":
        return f"Schedule: {trigger['cron']}" if "cron" in trigger else f"Once at {trigger.get('at', '?')}"
    labels = {"any_message": "Any message", "new_contact": "New contact", "manual": "Manual or API start"}
    return labels.get(kind, "No trigger")


def _ancestors(graph: dict, node_id: str) -> set[str]:
    """Nodes from which some path leads to `node_id` (not the node itself unless it is in a loop)."""
    incoming: dict[str, list[str]] = {}
    for edge in graph.get("edges") or []:
        incoming.setdefault(edge.get("to"), []).append(edge.get("from"))
    seen: set[str] = set()
    queue = deque([node_id])
    while queue:
        for source in incoming.get(queue.popleft(), ()):
            if source not in seen:
                seen.add(source)
                queue.append(source)
    return seen


def variables_in_scope(graph: dict, node_id: str | None) -> list[dict]:
    """Run variables a node's expressions can read: [{"name", "node", "setting"}], set by the nodes
    before it (every node of the graph when the node is not in it yet)."""
    nodes = [node for node in graph.get("nodes") or [] if isinstance(node, dict)]
    known_ids = {node.get("id") for node in nodes}
    before = _ancestors(graph, node_id) if node_id in known_ids else known_ids
    found: dict[str, dict] = {}
    for node in nodes:
        config = node.get("config") if isinstance(node.get("config"), dict) else {}
        for setting, name in _saved(node.get("type"), config):
            if name and isinstance(name, str) and node.get("id") in before and name not in found:
                found[name] = {"name": name, "node": node.get("id"), "setting": setting}
    return sorted(found.values(), key=lambda item: item["name"])


def _saved(kind: str | None, config: dict) -> list[tuple[str, object]]:
    """(setting, variable name) pairs a node of `kind` saves: an Extract node saves one per field
    and the list of the missing ones."""
    if kind == "extract":
        fields = config.get("fields") if isinstance(config.get("fields"), list) else []
        named = [("fields", f.get("name")) for f in fields if isinstance(f, dict)]
        return [*named, ("missing_as", config.get("missing_as") or "missing")]
    setting = VARIABLE_SETTINGS.get(kind)
    return [(setting, config.get(setting))] if setting else []


def expression_names(scope: list[dict], fields: set[str]) -> list[tuple[str, list[str]]]:
    """The names an expression can use, grouped for the settings panel."""
    contact = list(CONTACT_NAMES) + [
        f"contact.fields.{name}" for name in sorted(fields - {"name", "birthday"})
    ]
    return [
        ("Variables", [f"vars.{item['name']}" for item in scope]),
        ("Contact", contact),
        ("Message", list(MESSAGE_NAMES)),
        ("Other", ["trigger.type", "now"]),
    ]


def duration_text(value: object) -> str:
    """A duration setting as people read it ("1h30m"), or "" when it is not one."""
    seconds = seconds_or_none(value)
    return describe(seconds) if seconds is not None else ""
