"""Node types, one module per family. Importing this package registers all of them in NODE_TYPES.

Every node function's docstring carries an example node, as the format documentation shows it.
"""

from flowapp.engine.nodes import (
    ai,
    answer,
    choices,
    contact,
    extract,
    flow,
    generate,
    integrations,
    logic,
    messages,
    waits,
)
from flowapp.engine.registry import arrange

# The order of the palette, the schema and the documentation.
arrange(
    (
        "start",
        "send_text",
        "send_media",
        "send_template",
        "send_buttons",
        "send_list",
        "wait_reply",
        "condition",
        "set_variable",
        "update_contact",
        "classify",
        "extract",
        "generate",
        "answer",
        "http_request",
        "delay",
        "random_split",
        "run_automation",
        "handoff",
        "log",
        "end",
    )
)

__all__ = [
    "ai",
    "answer",
    "choices",
    "contact",
    "extract",
    "flow",
    "generate",
    "integrations",
    "logic",
    "messages",
    "waits",
]
