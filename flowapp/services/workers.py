"""What the job system is doing: workers alive, queue depths, and a round-trip check."""

from __future__ import annotations

import secrets

from redis.exceptions import RedisError
from rq import Queue, Worker

from flowapp.extensions import get_redis
from flowapp.jobs import QUEUES, enqueue
from flowapp.jobs.system import PING_KEY, ping


def overview() -> dict:
    """Workers and queue depths, or the reason they cannot be read."""
    connection = get_redis()
    try:
        workers = [
            {"name": w.name, "state": w.get_state(), "queues": w.queue_names()}
            for w in Worker.all(connection=connection)
        ]
        queues = {name: Queue(name, connection=connection).count for name in QUEUES}
    except (RedisError, OSError):
        return {"ok": False, "error": "Redis does not answer", "workers": [], "queues": {}}
    return {"ok": True, "workers": workers, "queues": queues}


def send_ping() -> str:
    """Enqueue a ping job; returns the nonce to look its answer up with."""
    nonce = secrets.token_hex(8)
    enqueue("default", ping, nonce, job_id=f"ping-{nonce}", result_ttl=60)
    return nonce


def ping_answer(nonce: str) -> str | None:
    """The worker that answered the ping, or None while none has."""
    value = get_redis().get(PING_KEY.format(nonce=nonce))
    return value.decode() if value else None
