"""What the job system is doing: workers alive, queue depths, and a round-trip check."""

from __future__ import annotations

import os
import secrets
import socket

from redis.exceptions import RedisError
from rq import Queue, Worker

from flowapp.extensions import ALL_QUEUES, get_redis
from flowapp.work import Work

PING_KEY = "flowapp:ping:{nonce}"


def overview() -> dict:
    """Workers and queue depths, or the reason they cannot be read."""
    connection = get_redis()
    try:
        workers = [
            {"name": w.name, "state": w.get_state(), "queues": w.queue_names()}
            for w in Worker.all(connection=connection)
        ]
        queues = {name: Queue(name, connection=connection).count for name in ALL_QUEUES}
    except (RedisError, OSError):
        return {"ok": False, "error": "Redis does not answer", "workers": [], "queues": {}}
    return {"ok": True, "workers": workers, "queues": queues}


def ping() -> tuple[str, Work]:
    """A ping for a worker to answer: the nonce to look its answer up with, and the job to submit."""
    nonce = secrets.token_hex(8)
    return nonce, Work("ping", (nonce,), job_id=f"ping-{nonce}", options={"result_ttl": 60})


def answer_ping(nonce: str) -> str:
    """Record which worker answered the ping (for 60 seconds); returns it."""
    answer = f"{socket.gethostname()}:{os.getpid()}"
    get_redis().set(PING_KEY.format(nonce=nonce), answer, ex=60)
    return answer


def ping_answer(nonce: str) -> str | None:
    """The worker that answered the ping, or None while none has."""
    value = get_redis().get(PING_KEY.format(nonce=nonce))
    return value.decode() if value else None
