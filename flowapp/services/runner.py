"""The automation layer's entry points, called by inbound processing and by the scheduler."""

from __future__ import annotations

import logging

from flowapp.models import Message

log = logging.getLogger("flowapp.automations")


def handle_inbound(message: Message) -> None:
    """Hand a newly stored inbound message to the automations (runs waiting for it, triggers)."""
    log.debug("inbound message %s handed to automations", message.id)
