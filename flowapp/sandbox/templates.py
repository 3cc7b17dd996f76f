"""The mock's message templates: the catalogue, Meta's send-time checks (132001, 132000) and paging."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlencode

from flowapp.sandbox.errors import GraphError

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
MEDIA_FORMATS = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})
OPTIONAL = -1  # a quick-reply button may carry one payload parameter, or none
DEFAULT_LIMIT = 25


def _template(number: int, name: str, language: str, status: str, category: str, *components: dict) -> dict:
    # Field names and casing as GET /{waba-id}/message_templates returns them.
    return {
        "name": name,
        "parameter_format": "POSITIONAL",
        "components": list(components),
        "language": language,
        "status": status,
        "category": category,
        "id": str(1192339204654480 + number),
    }


def _body(text: str) -> dict:
    return {"type": "BODY", "text": text}


def _quick_replies(*titles: str) -> dict:
    return {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": title} for title in titles]}


HELLO_WORLD_TEXT = (
    "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message "
    "notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us."
)

TEMPLATES: tuple[dict, ...] = (
    _template(
        1,
        "hello_world",
        "en_US",
        "APPROVED",
        "UTILITY",
        {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
        _body(HELLO_WORLD_TEXT),
        {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
    ),
    _template(
        2, "order_update", "en_US", "APPROVED", "UTILITY", _body("Hi {{1}}, your order {{2}} has shipped.")
    ),
    _template(
        3,
        "appointment_reminder",
        "en_US",
        "APPROVED",
        "UTILITY",
        {"type": "HEADER", "format": "TEXT", "text": "Appointment reminder"},
        _body("Hi {{1}}, this is a reminder of your appointment on {{2}} at {{3}}."),
        _quick_replies("Confirm", "Reschedule"),
    ),
    _template(4, "birthday_greeting", "en_US", "APPROVED", "MARKETING", _body("Happy birthday, {{1}}!")),
    _template(5, "birthday_greeting", "es", "APPROVED", "MARKETING", _body("¡Feliz cumpleaños, {{1}}!")),
    _template(
        6, "welcome_offer", "en_US", "PENDING", "MARKETING", _body("Welcome! 10% off your first order.")
    ),
    _template(7, "old_promo", "en_US", "REJECTED", "MARKETING", _body("Last chance: everything must go!")),
)

_APPROVED = {(t["name"], t["language"]): t for t in TEMPLATES if t["status"] == "APPROVED"}


def find_approved(name: object, language: object) -> dict | None:
    """The APPROVED template `name` in `language`, or None."""
    return _APPROVED.get((name, language))  # type: ignore[arg-type]


def expected_params(template: dict) -> dict[str, int]:
    """How many parameters each component of a send must carry: "header", "body", "button:<index>"."""
    expected: dict[str, int] = {}
    for component in template["components"]:
        kind = component["type"]
        if kind == "HEADER":
            media = component.get("format") in MEDIA_FORMATS
            expected["header"] = 1 if media else _placeholders(component.get("text", ""))
        elif kind == "BODY":
            expected["body"] = _placeholders(component["text"])
        elif kind == "BUTTONS":
            for index, button in enumerate(component["buttons"]):
                expected[f"button:{index}"] = _button_params(button)
    return {key: count for key, count in expected.items() if count}


def _placeholders(text: str) -> int:
    return len(set(PLACEHOLDER.findall(text)))


def _button_params(button: dict) -> int:
    if button["type"] == "QUICK_REPLY":
        return OPTIONAL
    if button["type"] == "URL":
        return _placeholders(button.get("url", ""))
    return 1 if button["type"] == "COPY_CODE" else 0


def check_template_send(template_body: object) -> dict:
    """The approved template a send names, after Meta's checks.

    Raises:
        GraphError: 132001 when no approved template has that name and language, 132000 when a
            component's parameter count differs from its placeholders.
    """
    spec = template_body if isinstance(template_body, dict) else {}
    name, language = spec.get("name"), spec.get("language")
    language = language.get("code") if isinstance(language, dict) else None
    template = find_approved(name, language)
    if template is None:
        raise GraphError(132001, f"template name ({name}) does not exist in {language}")
    expected = expected_params(template)
    sent = sent_params(spec.get("components"))
    for key in sorted(expected.keys() | sent.keys()):
        want, got = expected.get(key, 0), sent.get(key, 0)
        if want != got and not (want == OPTIONAL and got in (0, 1)):
            want_text = "0 or 1" if want == OPTIONAL else str(want)
            raise GraphError(
                132000,
                f"{key.replace(':', ' ')}: number of localizable_params ({got}) does not match the "
                f"expected number of params ({want_text})",
            )
    return template


def sent_params(components: object) -> dict[str, int]:
    """Parameter counts per component key of a send body's template.components."""
    counts: dict[str, int] = {}
    for component in components if isinstance(components, list) else ():
        if not isinstance(component, dict):
            continue
        kind = str(component.get("type", "")).lower()
        key = f"button:{component.get('index', 0)}" if kind == "button" else kind
        parameters = component.get("parameters")
        counts[key] = counts.get(key, 0) + (len(parameters) if isinstance(parameters, list) else 0)
    return counts


def page(base_url: str, query: dict[str, str]) -> dict:
    """One page of GET /{waba-id}/message_templates in Meta's shape; `query` is the request's.

    Filters name / status / language / category are honoured; `next` is absent on the last page.
    """
    limit = _int(query.get("limit"), DEFAULT_LIMIT, "limit")
    start = _decode_cursor(query["after"]) + 1 if query.get("after") else 0
    rows = [t for t in TEMPLATES if _matches(t, query)]
    data = rows[start : start + max(limit, 1)]
    result: dict = {"data": data}
    if data:
        first, last = start, start + len(data) - 1
        result["paging"] = {"cursors": {"before": _cursor(first), "after": _cursor(last)}}
        if last + 1 < len(rows):
            following = {**query, "limit": str(limit), "after": _cursor(last)}
            result["paging"]["next"] = f"{base_url}?{urlencode(following)}"
    return result


def _matches(template: dict, query: dict[str, str]) -> bool:
    return all(
        query.get(field) in (None, "", template[field])
        for field in ("name", "status", "language", "category")
    )


def _int(value: str | None, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise GraphError(100, f"Param {name} must be an integer") from None


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"template:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("template:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise GraphError(100, f"Invalid cursor: {cursor}") from None
