"""Inbox jobs: telling WhatsApp an agent read the customer's messages."""

from __future__ import annotations

from flowapp.services import inbox_thread


def send_read_receipt(message_id: int) -> str:
    """Mark an inbound message read on WhatsApp (the customer sees blue ticks). Meta's transient
    errors propagate, so RQ retries the job; the message is re-read each time."""
    return inbox_thread.send_read_receipt(message_id)
