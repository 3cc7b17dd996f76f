"""Interactive messages that wait for the customer's choice: reply buttons and lists.

Each option is a port. A reply whose reply_id is an option's id (the customer tapped it), or whose
text equals an option's title (they typed it), takes that option's port; anything else takes
"other"; no reply before the timeout takes "timeout".
"""

from __future__ import annotations

from flowapp.engine.nodes.common import (
    DURATION,
    ID,
    VARIABLE,
    duplicate_problems,
    has_timeout,
    ids,
    keyed,
    obj,
    quote,
    reserved_problems,
    text,
    timeout_seconds,
)
from flowapp.engine.nodes.messages import rendered, texts_of
from flowapp.engine.registry import node_type
from flowapp.engine.text import normalize
from flowapp.whatsapp.payloads import (
    HEADER_MEDIA,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MAX_FOOTER,
    MAX_HEADER_TEXT,
    MAX_INTERACTIVE_BODY,
    MAX_LIST_BODY,
    MAX_LIST_BUTTON,
    MAX_LIST_ROWS,
    MAX_LIST_SECTIONS,
    MAX_ROW_DESCRIPTION,
    MAX_ROW_TITLE,
    MAX_SECTION_TITLE,
)

OWN_PORTS = ("other", "timeout")
BUTTON_HEADER = {
    "type": ["string", "object"],
    "maxLength": MAX_HEADER_TEXT,
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": ["text", *HEADER_MEDIA]},
        "text": text(MAX_HEADER_TEXT),
        "link": text(2048),
        "media_id": text(256),
    },
}


def _option_ports(options: list[str], config: dict) -> list[str]:
    return [*options, "other"] + (["timeout"] if has_timeout(config) else [])


def resume_choice(options: list[dict], run, node_id: str, config: dict, event, wait):
    """The port of the option the customer chose: by reply_id first, then by typed title."""
    reply_id, said = event.data.get("reply_id"), normalize(event.data.get("text"))
    chosen = next((option for option in options if reply_id and option.get("id") == reply_id), None)
    if chosen is None and said:
        chosen = next((option for option in options if normalize(option.get("title")) == said), None)
    if config.get("variable"):
        run.vars[config["variable"]] = chosen["title"] if chosen else event.data.get("text") or ""
    return chosen["id"] if chosen else "other"


def _button_header(run, header) -> dict:
    if isinstance(header, str):
        return {"type": "text", "text": rendered(run, header, "header", MAX_HEADER_TEXT)}
    if header.get("type") == "text":
        return {"type": "text", "text": rendered(run, header.get("text"), "header", MAX_HEADER_TEXT)}
    if header.get("link"):
        return {"type": header["type"], "link": run.render(header["link"])}
    return {"type": header["type"], "id": header.get("media_id")}


def _header_check(header: object):
    if not isinstance(header, dict):
        return
    if header.get("type") == "text" and not header.get("text"):
        yield ("error", "header.text", "a text header needs its text")
    elif header.get("type") in HEADER_MEDIA and bool(header.get("link")) == bool(header.get("media_id")):
        yield ("error", "header.link", "give exactly one of a link or a media id")


def _buttons_check(config: dict):
    yield from _header_check(config.get("header"))
    buttons = config.get("buttons") if isinstance(config.get("buttons"), list) else []
    yield from duplicate_problems(keyed(buttons, "id", "buttons"), "button")
    yield from duplicate_problems(keyed(buttons, "title", "buttons"), "button", fold=True)
    yield from reserved_problems(keyed(buttons, "id", "buttons"), OWN_PORTS)


def _buttons_texts(config: dict):
    yield from texts_of("text", "footer")(config)
    header = config.get("header")
    if isinstance(header, str):
        yield ("header", header)
    elif isinstance(header, dict) and isinstance(header.get("text"), str):
        yield ("header.text", header["text"])


def _resume_buttons(run, node_id: str, config: dict, event, wait):
    return resume_choice(config.get("buttons") or [], run, node_id, config, event, wait)


@node_type(
    "send_buttons",
    ports=lambda config: _option_ports(ids(config.get("buttons")), config),
    resume=_resume_buttons,
    label="Send buttons",
    icon="🔘",
    description="Send up to 3 reply buttons and wait for the choice",
    category="messages",
    config_schema=obj(
        {
            "text": text(MAX_INTERACTIVE_BODY),
            "buttons": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BUTTONS,
                "items": obj({"id": ID, "title": text(MAX_BUTTON_TITLE, min_length=1)}, ("id", "title")),
            },
            "header": BUTTON_HEADER,
            "footer": text(MAX_FOOTER),
            "timeout": DURATION,
            "variable": VARIABLE,
        },
        ("text", "buttons"),
    ),
    required=("text", "buttons"),
    default_config={"text": "", "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]},
    waits=True,
    awaits_reply=True,
    sends_free_form=True,
    summary=lambda config: (
        f"{quote(config.get('text'), 30)} + "
        + ", ".join(b.get("title", "?") for b in config.get("buttons") or [] if isinstance(b, dict))
    ),
    texts=_buttons_texts,
    check=_buttons_check,
)
def send_buttons(run, node_id: str, config: dict):
    """Send reply buttons (1-3, unique titles of at most 20 characters), then wait for the choice.

    Ports: one per button id, "other" (any other reply) and "timeout" (only with a timeout). With
    `variable`, the chosen title (or the other reply's text) is saved in vars.

        {"id": "menu", "type": "send_buttons",
         "config": {"text": "How can we help?", "footer": "Tap a button",
                    "buttons": [{"id": "hours", "title": "Opening hours"},
                                {"id": "order", "title": "Order status"}],
                    "timeout": "1h", "variable": "choice"}}
    """
    buttons = [{"id": b["id"], "title": b["title"]} for b in config.get("buttons") or []]
    content: dict = {
        "type": "buttons",
        "body": rendered(run, config.get("text"), "text", MAX_INTERACTIVE_BODY),
        "buttons": buttons,
    }
    if config.get("header"):
        content["header"] = _button_header(run, config["header"])
    if config.get("footer"):
        content["footer"] = rendered(run, config["footer"], "footer", MAX_FOOTER)
    run.send(node_id, content)
    return run.wait(node_id, "choice", seconds=timeout_seconds(config))


def list_rows(config: dict) -> list[dict]:
    """Every row of every section, in order (malformed entries skipped)."""
    sections = config.get("sections") if isinstance(config.get("sections"), list) else []
    rows = []
    for section in sections:
        if isinstance(section, dict) and isinstance(section.get("rows"), list):
            rows.extend(row for row in section["rows"] if isinstance(row, dict))
    return rows


def _list_check(config: dict):
    rows = list_rows(config)
    if len(rows) > MAX_LIST_ROWS:
        yield ("error", "sections", f"at most {MAX_LIST_ROWS} rows in all sections together, not {len(rows)}")
    sections = config.get("sections") if isinstance(config.get("sections"), list) else []
    row_ids = [
        pair
        for index, section in enumerate(sections)
        if isinstance(section, dict)
        for pair in keyed(section.get("rows"), "id", f"sections[{index}].rows")
    ]
    yield from duplicate_problems(row_ids, "row")
    yield from reserved_problems(row_ids, OWN_PORTS)
    if len(sections) > 1:
        for index, section in enumerate(sections):
            if isinstance(section, dict) and not section.get("title"):
                yield (
                    "error",
                    f"sections[{index}].title",
                    "every section needs a title when there are several",
                )


def _resume_list(run, node_id: str, config: dict, event, wait):
    return resume_choice(list_rows(config), run, node_id, config, event, wait)


LIST_ROW = obj(
    {"id": ID, "title": text(MAX_ROW_TITLE, min_length=1), "description": text(MAX_ROW_DESCRIPTION)},
    ("id", "title"),
)
LIST_SECTION = obj(
    {
        "title": text(MAX_SECTION_TITLE),
        "rows": {"type": "array", "minItems": 1, "maxItems": MAX_LIST_ROWS, "items": LIST_ROW},
    },
    ("rows",),
)


@node_type(
    "send_list",
    ports=lambda config: _option_ports(ids(list_rows(config)), config),
    resume=_resume_list,
    label="Send list",
    icon="📜",
    description="Send a list of up to 10 options and wait for the choice",
    category="messages",
    config_schema=obj(
        {
            "text": text(MAX_LIST_BODY),
            "button": text(MAX_LIST_BUTTON),
            "sections": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_LIST_SECTIONS,
                "items": LIST_SECTION,
            },
            "header": text(MAX_HEADER_TEXT),
            "footer": text(MAX_FOOTER),
            "timeout": DURATION,
            "variable": VARIABLE,
        },
        ("text", "button", "sections"),
    ),
    required=("text", "button", "sections"),
    default_config={
        "text": "",
        "button": "Options",
        "sections": [{"rows": [{"id": "first", "title": "First option"}]}],
    },
    waits=True,
    awaits_reply=True,
    sends_free_form=True,
    summary=lambda config: f"{quote(config.get('text'), 30)} + {len(list_rows(config))} options",
    texts=texts_of("text", "header", "footer"),
    check=_list_check,
)
def send_list(run, node_id: str, config: dict):
    """Send a list (at most 10 rows in all sections) opened by `button`, then wait for the choice.

    Ports: one per row id, "other" and "timeout" (only with a timeout).

        {"id": "pick_day", "type": "send_list",
         "config": {"text": "Which day suits you?", "button": "Choose a day",
                    "sections": [{"title": "This week",
                                  "rows": [{"id": "mon", "title": "Monday", "description": "9:00-13:00"},
                                           {"id": "tue", "title": "Tuesday"}]}],
                    "timeout": "2h"}}
    """
    sections = []
    for section in config.get("sections") or []:
        built: dict = {"rows": [dict(row) for row in section.get("rows") or []]}
        if section.get("title"):
            built["title"] = section["title"]
        sections.append(built)
    content: dict = {
        "type": "list",
        "body": rendered(run, config.get("text"), "text", MAX_LIST_BODY),
        "button": config.get("button"),
        "sections": sections,
    }
    if config.get("header"):
        content["header"] = rendered(run, config["header"], "header", MAX_HEADER_TEXT)
    if config.get("footer"):
        content["footer"] = rendered(run, config["footer"], "footer", MAX_FOOTER)
    run.send(node_id, content)
    return run.wait(node_id, "choice", seconds=timeout_seconds(config))
