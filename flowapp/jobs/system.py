"""Jobs that check the job system itself."""

from __future__ import annotations

from flowapp.services import workers


def ping(nonce: str) -> str:
    """Answer a ping from the web process: records which worker ran it, for 60 seconds."""
    return workers.answer_ping(nonce)
