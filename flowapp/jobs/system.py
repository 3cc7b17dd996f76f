"""Jobs that check the job system itself."""

from __future__ import annotations

import os
import socket

from flowapp.extensions import get_redis

PING_KEY = "flowapp:ping:{nonce}"


def ping(nonce: str) -> str:
    """Answer a ping from the web process: records which worker ran it, for 60 seconds."""
    answer = f"{socket.gethostname()}:{os.getpid()}"
    get_redis().set(PING_KEY.format(nonce=nonce), answer, ex=60)
    return answer
