"""What the validator reports: one problem, naming the node and the setting it is about."""

from __future__ import annotations

from dataclasses import asdict, dataclass

LEVELS = ("error", "warning")


@dataclass(frozen=True)
class Issue:
    """A problem in a graph or a trigger.

    `level` is "error" (the automation cannot be published) or "warning" (it can, but probably
    does not do what its author wants). `node` is the node id (None for the graph or the trigger);
    `field` the setting inside the node's config, as a path like "buttons[1].title".
    """

    level: str
    node: str | None
    field: str | None
    message: str

    def to_dict(self) -> dict:
        """A JSON-able dict, as the editor and the API return it."""
        return asdict(self)


def error(node: str | None, field: str | None, message: str) -> Issue:
    """An Issue that blocks publishing."""
    return Issue("error", node, field, message)


def warning(node: str | None, field: str | None, message: str) -> Issue:
    """An Issue worth a look that does not block publishing."""
    return Issue("warning", node, field, message)
