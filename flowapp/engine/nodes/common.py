"""Schema fragments and small helpers shared by the node modules."""

from __future__ import annotations

from flowapp.engine.durations import PATTERN as DURATION_PATTERN
from flowapp.engine.durations import seconds_or_none

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ID = {"type": "string", "pattern": ID_PATTERN, "description": "letters, digits, _ and -, at most 64"}
VARIABLE = {
    "type": "string",
    "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,63}$",
    "description": "a name of letters, digits and _, not starting with a digit",
}
# The value's rule (at least one second, however it is written) is parse_duration's, applied by the
# validator to every setting with this schema: one parser, one rule.
DURATION = {
    "type": ["integer", "string"],
    "pattern": DURATION_PATTERN,
    "description": "seconds (at least 1), or a number with s, m, h, d or w (90s, 15m, 2h, 3d, 1w)",
}


def text(max_length: int | None = None, *, min_length: int | None = None) -> dict:
    """A string schema with optional length bounds."""
    schema: dict = {"type": "string"}
    if max_length is not None:
        schema["maxLength"] = max_length
    if min_length is not None:
        schema["minLength"] = min_length
    return schema


def obj(properties: dict, required: tuple = ()) -> dict:
    """A closed object schema: unknown settings are reported (they are usually typos)."""
    schema: dict = {"type": "object", "additionalProperties": False, "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def ids(items: object) -> list[str]:
    """The string ids of a list of option objects, skipping malformed ones (configs may be invalid)."""
    if not isinstance(items, list):
        return []
    return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]


def quote(value: object, limit: int = 40) -> str:
    """A short quoted excerpt for a canvas summary: '"Hi {{ contact.name }}…"'."""
    excerpt = " ".join(str(value or "").split())
    if len(excerpt) > limit:
        excerpt = excerpt[: limit - 1].rstrip() + "…"
    return f'"{excerpt}"'


def timeout_seconds(config: dict) -> int | None:
    """The config's timeout in seconds, or None (no timeout, or not a duration)."""
    return seconds_or_none(config.get("timeout"))


def has_timeout(config: dict) -> bool:
    """Whether the node has a timeout, and so a "timeout" port."""
    return "timeout" in config and config["timeout"] is not None


def keyed(items: object, key: str, path: str) -> list[tuple[str, str]]:
    """(field, value) pairs of `key` in a list of option objects: keyed(buttons, "id", "buttons")."""
    if not isinstance(items, list):
        return []
    return [
        (f"{path}[{index}].{key}", item[key])
        for index, item in enumerate(items)
        if isinstance(item, dict) and isinstance(item.get(key), str)
    ]


def duplicate_problems(pairs: list[tuple[str, str]], what: str, *, fold: bool = False) -> list[tuple]:
    """Errors for repeated ids (or titles, with `fold`): ports and replies need each to be unique."""
    seen: set[str] = set()
    problems = []
    for field, value in pairs:
        key = value.casefold() if fold else value
        if key in seen:
            problems.append(("error", field, f"{value!r} is already used by another {what}"))
        seen.add(key)
    return problems


def reserved_problems(pairs: list[tuple[str, str]], reserved: tuple[str, ...]) -> list[tuple]:
    """Errors for option ids that would collide with the node's own ports ("other", "else"...)."""
    return [
        ("error", field, f"{value!r} is the name of another port: choose another id")
        for field, value in pairs
        if value in reserved
    ]
