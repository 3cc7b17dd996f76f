"""Status webhook bodies exactly as Meta posts them (v24+ shape), and the bytes that get signed.

Compare tests/fixtures/whatsapp/samples/status_sent_v24_minimal.json and status_*_cbp.json. A
customer's message is built by flowapp.whatsapp.simulate, the one builder every simulator shares.
"""

from __future__ import annotations

import json
import time
from typing import Any


def serialise(body: dict) -> bytes:
    """The exact bytes to post and sign: compact, unicode escaped as Meta sends it."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def envelope(waba_id: str, display_number: str, phone_number_id: str, value: dict) -> dict:
    """The whatsapp_business_account envelope around one `messages` change."""
    metadata = {"display_phone_number": display_number, "phone_number_id": phone_number_id}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def status_value(
    wamid: str, status: str, recipient: str, pricing: dict | None, callback_data: str | None
) -> dict:
    """The `value` of a status webhook; from v24 Meta omits `conversation`, and pricing is on `sent`."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if pricing is not None:
        item["pricing"] = pricing
    if callback_data is not None:
        item["biz_opaque_callback_data"] = callback_data
    return {"statuses": [item]}


def pricing_for(category: str | None) -> dict:
    """Per-message pricing (PMP): templates bill by their category, free-form replies are service."""
    if category is None:
        return {
            "billable": False,
            "pricing_model": "PMP",
            "type": "free_customer_service",
            "category": "service",
        }
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category.lower()}
