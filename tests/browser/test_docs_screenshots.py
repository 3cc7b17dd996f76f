"""Every node type's and every trigger type's settings open in the editor, from the examples documented
in docs/automations.md; the screenshots taken on the way are the ones that page shows.

The pictures go to test-artifacts/screenshots/docs/. To refresh the documentation's own copies:

    FLOWAPP_DOCS_SCREENSHOTS=docs/img .venv/bin/python -m pytest tests/browser/test_docs_screenshots.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from flowapp.engine import NODE_TYPES, TRIGGER_TYPES
from flowapp.extensions import db
from flowapp.services import automations, knowledge
from tests.browser_support import EDITOR_READY, docs_screenshot, settled

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "automations.md").read_text()


def documented_nodes() -> dict[str, dict]:
    """The example node of each `### <type>` section."""
    blocks = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC, re.S)]
    return {block["type"]: block for block in blocks if "id" in block and block.get("type") in NODE_TYPES}


def documented_triggers() -> dict[str, dict]:
    """The first JSON example of each trigger type in the trigger table."""
    found = {}
    for snippet in re.findall(r"`(\{\"type\": \"[a-z_]+\".*?\})`", DOC):
        try:
            trigger = json.loads(snippet)
        except ValueError:  # "..." stands for the rest of an example already shown
            continue
        found.setdefault(trigger["type"], trigger)
    return found


def graph_with(example: dict) -> dict:
    start = {"id": "start", "type": "start", "config": {}, "position": {"x": 40, "y": 160}}
    if example["type"] == "start":
        return {"spec_version": 2, "nodes": [start], "edges": []}
    shown = {**example, "position": {"x": 330, "y": 120}}
    return {
        "spec_version": 2,
        "nodes": [start, shown],
        "edges": [{"from": "start", "port": "next", "to": shown["id"]}],
    }


def open_editor(page, live_stack, automation_id: int) -> None:
    page.goto(f"{live_stack.url}/automations/{automation_id}/edit")
    page.wait_for_selector(EDITOR_READY, state="attached")
    settled(page)


def test_documented_examples_match_the_registries():
    """The page documents an example for every node type and every trigger type (checked without a browser
    as well, in tests/engine/test_docs.py; here it decides which screenshots exist)."""
    assert set(documented_nodes()) == set(NODE_TYPES)
    assert set(documented_triggers()) == set(TRIGGER_TYPES)


def test_every_node_form_opens_from_its_documented_example(logged_in_page, live_stack):
    page = logged_in_page
    examples = documented_nodes()
    with live_stack.app.app_context():
        # The answer node's example names knowledge base 1: its form shows the base chosen.
        base = knowledge.create_base("Bakery FAQ", "Opening hours, orders, delivery")
        answer = examples["answer"]
        examples["answer"] = {**answer, "config": {**answer["config"], "base": base.id}}
        ids = {
            kind: automations.create(f"Docs: {kind}", graph=graph_with(example)).id
            for kind, example in examples.items()
        }
        db.session.commit()
    for kind, example in examples.items():
        open_editor(page, live_stack, ids[kind])
        page.locator(f'.fa-node[data-nid="{example["id"]}"] .fa-title').click()
        form = page.locator(f'#node-form-wrap[data-node-id="{example["id"]}"]')
        expect(form).to_be_visible()
        settled(page)
        docs_screenshot(page, "nodes", kind)


def test_every_trigger_form_opens_from_its_documented_example(logged_in_page, live_stack):
    page = logged_in_page
    with live_stack.app.app_context():
        ids = {
            kind: automations.create(
                f"Docs: {kind} trigger",
                trigger=trigger,
                graph=graph_with({"id": "hello", "type": "log", "config": {"message": "started"}}),
            ).id
            for kind, trigger in documented_triggers().items()
        }
        db.session.commit()
    for kind, automation_id in ids.items():
        open_editor(page, live_stack, automation_id)
        page.click("#trigger-button")
        expect(page.locator("#trigger-form")).to_be_visible()
        expect(page.locator("#f-t-type")).to_have_value(kind)
        settled(page)
        docs_screenshot(page, "triggers", kind)
