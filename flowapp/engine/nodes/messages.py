"""Sending messages: text, media and templates."""

from __future__ import annotations

from flowapp.engine.nodes.common import obj, quote, text
from flowapp.engine.registry import node_type
from flowapp.engine.state import NodeFailure
from flowapp.whatsapp.payloads import HEADER_MEDIA, MAX_CAPTION, MAX_TEXT, MEDIA_RULES

MEDIA_KINDS = sorted(MEDIA_RULES)
BUTTON_SUB_TYPES = ("url", "copy_code", "quick_reply")
LANGUAGE = {
    "type": "string",
    "pattern": r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,4})?$",
    "description": "a language code like en_US, es or pt_BR",
}


def texts_of(*keys: str):
    """A `texts` function for the registry: the templated settings among `keys`."""

    def texts(config: dict):
        return [(key, config[key]) for key in keys if isinstance(config.get(key), str)]

    return texts


def rendered(run, template: str | None, field: str, limit: int) -> str:
    """Render a message setting; empty or over WhatsApp's limit fails the node before Meta does."""
    value = run.render(template)
    if not value.strip():
        raise NodeFailure(f"{field} is empty once rendered: WhatsApp refuses empty messages")
    if len(value) > limit:
        raise NodeFailure(f"{field} is {len(value)} characters once rendered, WhatsApp allows {limit}")
    return value


@node_type(
    "send_text",
    ports=("next",),
    label="Send text",
    icon="💬",
    description="Send a text message (inside the 24-hour window)",
    category="messages",
    config_schema=obj({"text": text(MAX_TEXT), "preview_url": {"type": "boolean"}}, ("text",)),
    required=("text",),
    default_config={"text": ""},
    sends_free_form=True,
    summary=lambda config: f"Send {quote(config.get('text'))}",
    texts=texts_of("text"),
)
def send_text(run, node_id: str, config: dict):
    """Send a text message; `text` is a template. With preview_url, WhatsApp previews the first link.

    {"id": "hello", "type": "send_text",
     "config": {"text": "Hi {{ contact.name }}!", "preview_url": false}}
    """
    body = rendered(run, config.get("text"), "text", MAX_TEXT)
    run.send(node_id, {"type": "text", "text": body, "preview_url": bool(config.get("preview_url"))})
    return "next"


def _media_check(config: dict):
    kind = config.get("kind")
    if bool(config.get("link")) == bool(config.get("media_id")):
        yield ("error", "link", "give exactly one of a link or a media id")
    if config.get("caption") and kind in ("audio", "sticker"):
        yield ("error", "caption", f"a {kind} cannot have a caption")
    if config.get("filename") and kind != "document":
        yield ("error", "filename", "only a document has a file name")


@node_type(
    "send_media",
    ports=("next",),
    label="Send media",
    icon="🖼️",
    description="Send an image, audio, video, document or sticker",
    category="messages",
    config_schema=obj(
        {
            "kind": {"enum": MEDIA_KINDS},
            "link": text(2048),
            "media_id": text(256),
            "caption": text(MAX_CAPTION),
            "filename": text(240),
        },
        ("kind",),
    ),
    required=("kind",),
    default_config={"kind": "image", "link": ""},
    sends_free_form=True,
    summary=lambda config: (
        f"Send {config.get('kind', 'media')}"
        + (f" {quote(config['caption'])}" if config.get("caption") else "")
    ),
    texts=texts_of("link", "caption", "filename"),
    check=_media_check,
)
def send_media(run, node_id: str, config: dict):
    """Send media by public link or uploaded media id; link, caption and filename are templates.

    {"id": "menu_pdf", "type": "send_media",
     "config": {"kind": "document", "link": "https://example.com/menu.pdf",
                "filename": "menu.pdf", "caption": "Our menu, {{ contact.name }}"}}
    """
    content: dict = {"type": config.get("kind")}
    if config.get("link"):
        content["link"] = run.render(config["link"])
    else:
        content["media_id"] = config.get("media_id")
    if config.get("caption"):
        content["caption"] = rendered(run, config["caption"], "caption", MAX_CAPTION)
    if config.get("filename"):
        content["filename"] = run.render(config["filename"])
    run.send(node_id, content)
    return "next"


HEADER_PARAMETER = {
    "type": ["string", "object"],
    "additionalProperties": False,
    "required": ["type", "link"],
    "properties": {"type": {"enum": list(HEADER_MEDIA)}, "link": {"type": "string"}},
}
BUTTON_PARAMETER = {
    "type": ["string", "object"],
    "additionalProperties": False,
    "required": ["value"],
    "properties": {"sub_type": {"enum": list(BUTTON_SUB_TYPES)}, "value": {"type": "string"}},
}
TEMPLATE_PARAMETERS = obj(
    {
        "header": {"type": "array", "maxItems": 1, "items": HEADER_PARAMETER},
        "body": {"type": "array", "items": {"type": "string"}},
        "buttons": {
            "type": "object",
            "propertyNames": {"pattern": r"^\d{1,2}$", "description": "the button's position: 0, 1, 2..."},
            "additionalProperties": BUTTON_PARAMETER,
        },
    }
)


def _template_texts(config: dict):
    parameters = config.get("parameters") if isinstance(config.get("parameters"), dict) else {}
    for part in ("header", "body"):
        for index, value in enumerate(parameters.get(part) or []):
            source = value.get("link") if isinstance(value, dict) else value
            if isinstance(source, str):
                yield (f"parameters.{part}[{index}]", source)
    for key, value in (parameters.get("buttons") or {}).items():
        source = value.get("value") if isinstance(value, dict) else value
        if isinstance(source, str):
            yield (f"parameters.buttons.{key}", source)


def supplied_counts(config: dict) -> dict[str, int]:
    """Parameters the node fills, keyed like flowapp.whatsapp.templates.count_parameters()."""
    parameters = config.get("parameters") if isinstance(config.get("parameters"), dict) else {}
    counts = {part: len(parameters.get(part) or []) for part in ("header", "body")}
    for key, value in (parameters.get("buttons") or {}).items():
        sub_type = value.get("sub_type", "url") if isinstance(value, dict) else "url"
        if sub_type != "quick_reply":  # a quick reply's payload fills no placeholder
            counts[f"button:{key}"] = 1
    return {key: count for key, count in counts.items() if count}


def _header_parameter(run, value) -> dict:
    if isinstance(value, dict):
        return {"type": value["type"], value["type"]: {"link": run.render(value["link"])}}
    return {"type": "text", "text": run.render(value)}


def _button_component(run, index: str, value) -> dict:
    sub_type, source = (
        (value.get("sub_type", "url"), value["value"]) if isinstance(value, dict) else ("url", value)
    )
    filled = run.render(source)
    parameter = {
        "url": {"type": "text", "text": filled},
        "copy_code": {"type": "coupon_code", "coupon_code": filled},
        "quick_reply": {"type": "payload", "payload": filled},
    }[sub_type]
    return {"type": "button", "sub_type": sub_type, "index": index, "parameters": [parameter]}


def template_components(run, parameters: dict) -> list[dict]:
    """Meta's template components (header, body, buttons) with every parameter rendered."""
    components = []
    if parameters.get("header"):
        components.append(
            {"type": "header", "parameters": [_header_parameter(run, v) for v in parameters["header"]]}
        )
    if parameters.get("body"):
        texts = [{"type": "text", "text": run.render(value)} for value in parameters["body"]]
        components.append({"type": "body", "parameters": texts})
    for index in sorted(parameters.get("buttons") or {}, key=int):
        components.append(_button_component(run, index, parameters["buttons"][index]))
    return components


@node_type(
    "send_template",
    ports=("next",),
    label="Send template",
    icon="📋",
    description="Send an approved template: the only message allowed outside the 24-hour window",
    category="messages",
    config_schema=obj(
        {"name": text(512), "language": LANGUAGE, "parameters": TEMPLATE_PARAMETERS}, ("name", "language")
    ),
    required=("name", "language"),
    default_config={"name": "", "language": "en_US", "parameters": {"body": []}},
    summary=lambda config: f"Template {config.get('name') or '?'} ({config.get('language') or '?'})",
    texts=_template_texts,
)
def send_template(run, node_id: str, config: dict):
    """Send an approved template; each parameter is a template. Allowed outside the 24-hour window.

    A button parameter is the text of a URL button's suffix, or {"sub_type": "copy_code" |
    "quick_reply" | "url", "value": ...}; buttons are keyed by their position in the template.

        {"id": "remind", "type": "send_template",
         "config": {"name": "appointment_reminder", "language": "en_US",
                    "parameters": {"body": ["{{ contact.name }}", "{{ contact.fields.date }}",
                                            "{{ contact.fields.time }}"]}}}
    """
    parameters = config.get("parameters") or {}
    content = {
        "type": "template",
        "name": config.get("name"),
        "language": config.get("language"),
        "components": template_components(run, parameters),
    }
    run.send(node_id, content, free_form=False)
    return "next"
