"""Test helpers for WhatsApp traffic: signed webhook bodies built like Meta builds them."""

from __future__ import annotations

import json
from pathlib import Path

from flowapp.whatsapp.signature import sign
from flowapp.whatsapp.simulate import REPLY_KINDS, inbound_payload

SAMPLES = Path(__file__).parent / "fixtures" / "whatsapp" / "samples"
PHONE_NUMBER_ID = "106540352242922"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def encode(payload: dict) -> bytes:
    """Serialise as Meta does: compact, non-ASCII escaped (what it signs)."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def customer_message(sender="15551230001", text="hi", name="Ana", **extra) -> dict:
    spec = {"from": sender, "name": name, **extra}
    if not any(kind in extra for kind in REPLY_KINDS):
        spec["text"] = text
    return inbound_payload(
        spec, phone_number_id=PHONE_NUMBER_ID, display_phone_number="15550100000", waba_id="102290129340398"
    )


def status_payload(
    wamid: str, status: str, recipient="15551230001", timestamp=1750000000, errors=None, callback=None
) -> dict:
    entry = {"id": wamid, "status": status, "timestamp": str(timestamp), "recipient_id": recipient}
    if errors:
        entry["errors"] = errors
    if callback:
        entry["biz_opaque_callback_data"] = callback
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [entry],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def post_webhook(client, payload, secret="test-app-secret-abcdef", body: bytes | None = None):
    """POST a body to /webhooks/whatsapp signed with the test app secret."""
    raw = body if body is not None else encode(payload)
    return client.post(
        "/webhooks/whatsapp",
        data=raw,
        content_type="application/json",
        headers={"X-Hub-Signature-256": sign(raw, secret)},
    )


def deliver(payload: dict | None = None, body: bytes | None = None, source: str = "meta") -> list[int | None]:
    """Store a webhook body as intake does and process its events at once, as a worker would (in
    the test's transaction). Returns the ids of its events (None for a redelivered body)."""
    from flowapp.extensions import db
    from flowapp.pipeline import bulk, contacts, intake, pumps

    rows = intake.rows_for(body if body is not None else encode(payload), source)
    ids = intake.receive(rows)
    db.session.commit()
    for row, event_id in zip(rows, ids, strict=True):
        if event_id is None or row["processed_at"] is not None:
            continue
        if row["contact_key"] is not None:
            contacts.drain(row["phone_number_id"], row["contact_key"], pumps.board())
        else:
            while bulk.process_batch():
                pass
    return ids
