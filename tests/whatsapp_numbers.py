"""Webhook bodies addressed to a chosen business number (Settings configures one; Meta may send several)."""

from flowapp.whatsapp.simulate import inbound_payload


def message_to(phone_number_id: str, sender: str, text: str = "hi") -> dict:
    return inbound_payload(
        {"from": sender, "name": "Customer", "text": text},
        phone_number_id=phone_number_id,
        display_phone_number="15550100000",
        waba_id="102290129340398",
    )
