"""Meta-shaped webhook bodies for a customer's message, built from a short description.

Used wherever Flowapp plays the customer: the sandbox's phone, the test-injection endpoint, tests and
benchmarks. The shapes follow Meta's real deliveries (see tests/fixtures/whatsapp/samples).
"""

from __future__ import annotations

import secrets
import time

REPLY_KINDS = ("text", "button_reply", "list_reply", "button", "image", "location", "reaction")


class SimulationError(ValueError):
    """The description cannot become a message."""


def new_wamid() -> str:
    return "wamid.HBgL" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")


def inbound_payload(spec: dict, *, phone_number_id: str, display_phone_number: str, waba_id: str) -> dict:
    """A whole webhook body for one customer message.

    `spec`: {"from": "15551234567", "name": "Ana", one of "text" | "button_reply" | "list_reply" |
    "button" | "image" | "location" | "reaction", optional "context_wamid", "wamid", "timestamp"}.
    """
    sender = "".join(ch for ch in str(spec.get("from", "")) if ch.isdigit())
    if not 7 <= len(sender) <= 15:
        raise SimulationError("'from' must be a phone number with country code (7 to 15 digits)")
    message = {
        "from": sender,
        "id": spec.get("wamid") or new_wamid(),
        "timestamp": str(int(spec.get("timestamp") or time.time())),
    }
    message.update(_content(spec))
    if spec.get("context_wamid"):
        message["context"] = {"from": display_phone_number, "id": spec["context_wamid"]}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": str(spec.get("name") or "Sandbox customer")}, "wa_id": sender}],
        "messages": [message],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": value, "field": "messages"}]}],
    }


def _content(spec: dict) -> dict:
    if "text" in spec:
        text = str(spec["text"])
        if not text.strip():
            raise SimulationError("'text' is empty")
        return {"type": "text", "text": {"body": text}}
    if "button_reply" in spec:
        return {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": _pick(spec["button_reply"], "id", "title"),
            },
        }
    if "list_reply" in spec:
        reply = _pick(spec["list_reply"], "id", "title")
        if spec["list_reply"].get("description"):
            reply["description"] = str(spec["list_reply"]["description"])
        return {"type": "interactive", "interactive": {"type": "list_reply", "list_reply": reply}}
    if "button" in spec:
        return {"type": "button", "button": _pick(spec["button"], "payload", "text")}
    if "image" in spec:
        image = {"mime_type": "image/png", "sha256": "sandbox", "id": "sandbox-image-1", **spec["image"]}
        return {"type": "image", "image": image}
    if "location" in spec:
        return {"type": "location", "location": dict(spec["location"])}
    if "reaction" in spec:
        return {"type": "reaction", "reaction": _pick(spec["reaction"], "message_id", "emoji")}
    raise SimulationError(f"describe the message with one of: {', '.join(REPLY_KINDS)}")


def _pick(value, *keys) -> dict:
    if not isinstance(value, dict) or not all(value.get(k) is not None for k in keys):
        raise SimulationError(f"needs {' and '.join(keys)}")
    return {k: str(value[k]) for k in keys}
