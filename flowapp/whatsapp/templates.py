"""Template parameter counts: does a send body fill exactly the placeholders the approved template has?

Meta answers a mismatch with error 132000 only when the message is sent; comparing the counts first
lets the editor point at the component that is wrong. Counts are keyed "header", "body" and
"button:<index>" (the button's position in the template), and zero counts are left out.
"""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
# A media or location header takes one parameter of that kind in the send body.
PARAMETER_HEADER_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})
# Buttons whose send-time parameters fill a placeholder. A quick-reply payload is optional extra data,
# and catalog/flow buttons take actions, not placeholders, so none of them is counted.
COUNTED_BUTTONS = frozenset({"url", "copy_code"})


def count_parameters(components: list[dict]) -> dict[str, int]:
    """Parameters a template definition (as GET /message_templates returns it) needs, per component."""
    counts: dict[str, int] = {}
    for component in components or ():
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            fmt = str(component.get("format", "TEXT")).upper()
            counts["header"] = 1 if fmt in PARAMETER_HEADER_FORMATS else _placeholders(component.get("text"))
        elif kind == "BODY":
            counts["body"] = _placeholders(component.get("text"))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or ()):
                counts[f"button:{index}"] = _button_placeholders(button)
    return {key: count for key, count in counts.items() if count}


def _placeholders(text: object) -> int:
    """Distinct {{1}} / {{name}} placeholders: a repeated one is filled by a single parameter."""
    return len(set(PLACEHOLDER.findall(text))) if isinstance(text, str) else 0


def _button_placeholders(button: object) -> int:
    if not isinstance(button, dict):
        return 0
    kind = str(button.get("type", "")).upper()
    if kind == "URL":
        return min(_placeholders(button.get("url")), 1)  # only the URL's suffix can vary
    if kind == "COPY_CODE":
        return 1  # the coupon code is always supplied at send time
    return 0


def supplied_parameters(components: list[dict]) -> dict[str, int]:
    """Parameters a send body's template.components supplies, in count_parameters' shape."""
    counts: dict[str, int] = {}
    for component in components or ():
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        size = len(component.get("parameters") or ())
        if kind in ("header", "body"):
            counts[kind] = counts.get(kind, 0) + size
        elif kind == "button" and str(component.get("sub_type", "")).lower() in COUNTED_BUTTONS:
            key = f"button:{component.get('index')}"
            counts[key] = counts.get(key, 0) + size
    return {key: count for key, count in counts.items() if count}


def check_parameters(expected: dict[str, int], components: list[dict] | None) -> list[str]:
    """Readable mismatches between a template's needs and a send body's parameters; [] when they match."""
    supplied = supplied_parameters(components or [])
    problems = []
    for key in sorted(set(expected) | set(supplied), key=_component_order):
        want, got = expected.get(key, 0), supplied.get(key, 0)
        if want != got:
            problems.append(f"{_label(key)}: the template expects {_plural(want)}, {got} given")
    return problems


def _component_order(key: str) -> tuple[int, int]:
    if key.startswith("button:"):
        index = key.split(":", 1)[1]
        return (2, int(index) if index.isdigit() else 99)
    return (0 if key == "header" else 1, 0)


def _label(key: str) -> str:
    if key.startswith("button:"):
        return f"button {key.split(':', 1)[1]}"
    return key


def _plural(count: int) -> str:
    return f"{count} parameter" + ("" if count == 1 else "s")
