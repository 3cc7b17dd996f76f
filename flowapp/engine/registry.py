"""The node registry: one entry per node type drives the schema, the validator, the interpreter and
the editor's palette, so a port or a setting is declared once.

Node modules register their types with the `node_type` decorator on the function that executes
them; `flowapp.engine.nodes` imports every module, so importing the engine fills NODE_TYPES.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

CATEGORIES = ("messages", "logic", "contact", "ai", "integrations", "flow")
# (level, field, message) from a node type's own checks; level is "error" or "warning".
Problem = tuple[str, str | None, str]
REPLY_UNANSWERED = "the customer's reply would get no answer (the run ends there)"


def _nothing(config: dict) -> Iterable:
    return ()


@dataclass(frozen=True, eq=False)
class NodeType:
    """A node type: how it looks in the editor, what it accepts, where it can go and how it runs.

    execute(run, node_id, config) returns the port to follow, WAIT after setting a wait, or None to
    end the run. resume(run, node_id, config, event) does the same when a waiting node is woken
    (timeouts are handled by the interpreter: they take the "timeout" port).
    """

    type: str
    label: str
    icon: str
    description: str
    category: str
    config_schema: dict
    ports: Callable[[dict], list[str]]
    summary: Callable[[dict], str]
    execute: Callable
    resume: Callable | None = None
    required: tuple[str, ...] = ()
    default_config: dict = field(default_factory=dict)
    waits: bool = False
    # For a type that waits only with some settings (run_automation without "wait" does not).
    waits_if: Callable[[dict], bool] | None = None
    # The node waits for the customer's reply: every port but "timeout" follows a reply.
    awaits_reply: bool = False
    # Ports that should lead somewhere, with what goes wrong when nothing is connected to them. Any
    # other open port simply ends the run, which is normal and no warning (see open_port_risks).
    open_risks: dict[str, str] = field(default_factory=dict)
    sends_free_form: bool = False
    # For a type that sends free-form only with some settings (generate in "save" mode does not).
    sends_free_form_if: Callable[[dict], bool] | None = None
    # Templated text in the config, as (field, text), for the validator's compile check.
    texts: Callable[[dict], Iterable[tuple[str, str]]] = _nothing
    # Expressions in the config (evaluated, not rendered), as (field, expression).
    expressions: Callable[[dict], Iterable[tuple[str, str]]] = _nothing
    # Checks the schema cannot express (uniqueness, one-of settings, regexes), as Problems.
    check: Callable[[dict], Iterable[Problem]] = _nothing

    def does_wait(self, config: dict) -> bool:
        """Whether a node of this type with `config` stops the run until an event comes."""
        return self.waits_if(config) if self.waits_if is not None else self.waits

    def does_send_free_form(self, config: dict) -> bool:
        """Whether a node of this type with `config` sends a free-form message (24-hour window)."""
        if self.sends_free_form_if is not None:
            return self.sends_free_form_if(config)
        return self.sends_free_form

    def open_port_risks(self, config: dict) -> dict[str, str]:
        """The node's ports that warn when nothing is connected, with what would go wrong.

        A reply port (every port but "timeout" of a node that awaits the customer's reply) always
        does: the customer wrote, and nothing would answer. A timeout does not: ending the run when
        nobody answered is what a timeout is for.
        """
        risks = {}
        for port in self.ports(config):
            if port in self.open_risks:
                risks[port] = self.open_risks[port]
            elif self.awaits_reply and port != "timeout":
                risks[port] = REPLY_UNANSWERED
        return risks

    def static_ports(self) -> list[str]:
        """The ports of a node with the default config (what the palette shows)."""
        return self.ports(copy.deepcopy(self.default_config))


NODE_TYPES: dict[str, NodeType] = {}


def node_type(
    type_name: str, *, ports: Iterable[str] | Callable[[dict], list[str]], **attributes
) -> Callable:
    """Register the decorated execute function as node type `type_name`.

    `ports` is a fixed list or a function of the config. The other keyword arguments are NodeType's
    fields. Returns the function unchanged, so node modules can still call it.
    """
    if callable(ports):
        port_function = ports
    else:
        fixed = list(ports)

        def port_function(config: dict) -> list[str]:
            return list(fixed)

    def register(execute: Callable) -> Callable:
        if type_name in NODE_TYPES:
            raise ValueError(f"node type {type_name!r} is registered twice")
        if attributes.get("category") not in CATEGORIES:
            raise ValueError(f"node type {type_name!r}: category must be one of {CATEGORIES}")
        NODE_TYPES[type_name] = NodeType(type=type_name, ports=port_function, execute=execute, **attributes)
        return execute

    return register


def arrange(order: Iterable[str]) -> None:
    """Put NODE_TYPES in `order` (the palette's and the schema's order); every type must be listed."""
    order = list(order)
    if sorted(order) != sorted(NODE_TYPES):
        raise ValueError(f"the order lists {sorted(order)}, the registry has {sorted(NODE_TYPES)}")
    arranged = {name: NODE_TYPES[name] for name in order}
    NODE_TYPES.clear()
    NODE_TYPES.update(arranged)


def palette() -> list[dict]:
    """The editor's palette: every node type with what the editor needs to draw and create it."""
    entries = []
    for node in NODE_TYPES.values():
        entries.append(
            {
                "type": node.type,
                "label": node.label,
                "icon": node.icon,
                "description": node.description,
                "category": node.category,
                "default_config": copy.deepcopy(node.default_config),
                "ports": node.static_ports(),
                "required": list(node.required),
                "waits": node.waits,
                "sends_free_form": node.sends_free_form,
                "config_schema": copy.deepcopy(node.config_schema),
            }
        )
    return entries
