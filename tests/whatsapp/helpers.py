"""Helpers shared by the WhatsApp adapter tests: the sample webhooks and envelope builders."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SAMPLES = FIXTURES / "whatsapp" / "samples"
META_SPEC = FIXTURES / "meta" / "business-messaging-api_v23.0.yaml"


def load_sample(name: str) -> dict:
    """One of the 36 real webhook bodies in tests/fixtures/whatsapp/samples."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def sample_names() -> list[str]:
    return sorted(path.name for path in SAMPLES.glob("*.json"))


def envelope(*values: dict, field: str = "messages") -> dict:
    """A webhook body with one entry and one change per value."""
    changes = [{"field": field, "value": value} for value in values]
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": changes}]}


def value(*, messages=None, statuses=None, contacts=None, phone_number_id="PN1", errors=None) -> dict:
    """A change value with metadata for `phone_number_id` and whichever lists are given."""
    built: dict = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": phone_number_id},
    }
    for key, items in (
        ("contacts", contacts),
        ("messages", messages),
        ("statuses", statuses),
        ("errors", errors),
    ):
        if items is not None:
            built[key] = items
    return built


def text_message(
    wamid: str, sender: str = "15551234567", body: str = "hi", timestamp: str = "1700000000"
) -> dict:
    return {"from": sender, "id": wamid, "timestamp": timestamp, "type": "text", "text": {"body": body}}
