"""What the validator says about Classify and Extract settings (bad input is named, field by field)."""

from __future__ import annotations

import pytest

from flowapp.engine import validate
from tests.engine.helpers import graph, node

REFUND = {"name": "refund", "description": "money back"}
CASES = [
    ("classify", {"categories": []}, "categories", "add at least one category"),
    ("classify", {"categories": [REFUND, {"name": "Refund"}]}, "categories[1].name", "already used"),
    ("classify", {"categories": [REFUND, {"name": "other"}]}, "categories[1].name", "another port"),
    ("classify", {"categories": [{"name": f"c{n}"} for n in range(21)]}, "categories", "at most 20 items"),
    ("classify", {"categories": [{"name": "has space"}]}, "categories[0].name", "is not valid"),
    (
        "classify",
        {"categories": [{"name": "a", "description": "x" * 301}]},
        "categories[0].description",
        "at most 300 characters",
    ),
    ("classify", {"categories": [REFUND], "temperature": 3}, "temperature", "at most 2"),
    ("classify", {"categories": [REFUND], "max_tokens": 0}, "max_tokens", "at least 1"),
    ("classify", {"categories": [REFUND], "text": "{{ vars.x"}, "text", ""),
    ("extract", {"fields": []}, "fields", "add at least one field"),
    ("extract", {"fields": [{"name": "a", "type": "text"}] * 2}, "fields[1].name", "already used"),
    (
        "extract",
        {"fields": [{"name": f"f{n}", "type": "text"} for n in range(21)]},
        "fields",
        "at most 20 items",
    ),
    ("extract", {"fields": [{"name": "size", "type": "choice"}]}, "fields[0].choices", "needs its choices"),
    ("extract", {"fields": [{"name": "a", "type": "money"}]}, "fields[0].type", "must be one of"),
    ("extract", {"fields": [{"name": "1a", "type": "text"}]}, "fields[0].name", "is not valid"),
    ("extract", {"fields": [{"name": "missing", "type": "text"}]}, "fields[0].name", "missing fields"),
    (
        "extract",
        {"fields": [{"name": "a", "type": "text", "contact_field": "bad-key"}]},
        "fields[0].contact_field",
        "",
    ),
    ("generate", {}, "prompt", "required"),
    ("generate", {"prompt": ""}, "prompt", "is required"),
    ("generate", {"prompt": "x" * 4001}, "prompt", "at most 4000 characters"),
    ("generate", {"prompt": "{{ vars.x"}, "prompt", ""),
    ("generate", {"prompt": "Be kind.", "history": 21}, "history", "at most 20"),
    ("generate", {"prompt": "Be kind.", "history": -1}, "history", "at least 0"),
    ("generate", {"prompt": "Be kind.", "mode": "shout"}, "mode", "must be one of"),
    ("generate", {"prompt": "Be kind.", "mode": "save"}, "save_as", "name the variable"),
    ("generate", {"prompt": "Be kind.", "mode": "save", "save_as": "1x"}, "save_as", "is not valid"),
    ("generate", {"prompt": "Be kind.", "temperature": 3}, "temperature", "at most 2"),
    ("answer", {}, "base", "required"),
    ("answer", {"base": 0}, "base", "at least 1"),
    ("answer", {"base": "faq"}, "base", ""),
    ("answer", {"base": 1, "question": "{{ vars.x"}, "question", ""),
    ("answer", {"base": 1, "instructions": "x" * 2001}, "instructions", "at most 2000 characters"),
    ("answer", {"base": 1, "mode": "save"}, "save_as", "name the variable"),
    ("answer", {"base": 1, "max_tokens": 0}, "max_tokens", "at least 1"),
]


@pytest.mark.parametrize(
    ("kind", "config", "field", "says"), CASES, ids=[f"{c[0]}:{c[2]}:{c[3]}" for c in CASES]
)
def test_bad_settings_are_errors_on_their_field(kind, config, field, says):
    """Each bad setting is an error on its own field, saying what is wrong."""
    document = graph([node("n", kind, **config)], [["start", "next", "n"]])
    errors = [(i.field, i.message) for i in validate(document) if i.level == "error" and i.node == "n"]
    assert any(f == field and says in message for f, message in errors), errors


def test_good_settings_have_no_errors():
    """The documented shapes validate."""
    for kind, config in (
        ("classify", {"categories": [REFUND], "text": "{{ vars.said }}", "save_as": "intent", "model": "m"}),
        ("extract", {"fields": [{"name": "size", "type": "choice", "choices": ["S"], "required": False}]}),
        ("generate", {"prompt": "Hi {{ contact.name }}", "history": 0, "mode": "save", "save_as": "draft"}),
        ("generate", {"prompt": "Be kind.", "history": 20, "mode": "send", "max_tokens": 300}),
        ("answer", {"base": 2, "question": "{{ vars.q }}", "instructions": "Short.", "mode": "send"}),
        ("answer", {"base": 2, "mode": "save", "save_as": "found", "model": "m"}),
    ):
        document = graph([node("n", kind, **config)], [["start", "next", "n"]])
        assert [i for i in validate(document) if i.level == "error"] == []


WINDOW = "24-hour window"


def test_generate_sending_is_a_free_form_send_under_the_24_hour_rule():
    """After a schedule trigger, before the customer writes, a Generate that sends is an error like
    send_text; one that saves is not; after a reply both are fine."""
    schedule = {"type": "schedule", "cron": "0 9 * * *"}
    for mode, expected in (("send", ["n"]), ("save", [])):
        config = {"prompt": "Be kind.", "mode": mode, "save_as": "draft"}
        document = graph([node("n", "generate", **config)], [["start", "next", "n"]])
        found = [i.node for i in validate(document, schedule) if i.level == "error" and WINDOW in i.message]
        assert found == expected, mode
    waited = graph(
        [node("w", "wait_reply", variable="said"), node("n", "generate", prompt="Be kind.")],
        [["start", "next", "w"], ["w", "reply", "n"]],
    )
    assert [i for i in validate(waited, schedule) if WINDOW in i.message] == []


def test_answer_names_a_knowledge_base_that_exists():
    """With the known bases, a base that is not among them is an error on `base`."""
    document = graph([node("n", "answer", base=7)], [["start", "next", "n"]])
    known = {"knowledge_bases": {1, 2}}
    errors = [(i.field, i.message) for i in validate(document, None, known) if i.level == "error"]
    assert errors == [("base", "no knowledge base has the id 7")]
    assert [i for i in validate(document, None, {"knowledge_bases": {7}}) if i.level == "error"] == []


def test_answer_sending_is_a_free_form_send_under_the_24_hour_rule():
    """After a schedule trigger, an Answer that sends is a window error; one that saves is not."""
    schedule = {"type": "schedule", "cron": "0 9 * * *"}
    for mode, expected in (("send", ["n"]), ("save", [])):
        document = graph([node("n", "answer", base=1, mode=mode, save_as="x")], [["start", "next", "n"]])
        found = [i.node for i in validate(document, schedule) if i.level == "error" and WINDOW in i.message]
        assert found == expected, mode
