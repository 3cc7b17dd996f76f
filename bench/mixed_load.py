"""Mixed load shaped like real traffic: 1 customer message to 3 status webhooks, as fast as intake takes
them, for 60 s, while real RQ workers process; the backlog is sampled every second until it drains.

    .venv/bin/python -m bench.mixed_load [--duration 60] [--workers 3] [--connections 32] [--db postgresql]

The documented production server (gunicorn -w 4 --threads 4) and `--workers` RQ workers on one
database and Redis. wrk posts pre-signed bodies in the ratio a busy number produces (each reply
brings sent, delivered and read): new customers' messages, and statuses of replies sent earlier. A
bare Flask endpoint under the same server is measured first, in the same run. Exits non-zero when
anything posted and answered is missing or stored twice, or the backlog does not drain.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import (
    APP_SECRET,
    PYTHON,
    Child,
    bench_env,
    free_port,
    fresh_database,
    gunicorn,
    redis_url,
    wait_http,
)
from bench.webhook_intake import LUA, _lua_string, run_wrk
from flowapp.whatsapp.signature import sign
from flowapp.whatsapp.simulate import inbound_payload

NUMBER = "106540352242922"


def body(i: int) -> bytes:
    """Body i: a new customer's message every fourth, else a status of an earlier reply."""
    if i % 4 == 0:
        n = i // 4
        payload = inbound_payload(
            {"from": f"1666{n:07d}", "name": "Mixed", "text": f"hello {n}", "wamid": f"wamid.MIX{n}"},
            phone_number_id=NUMBER,
            display_phone_number="15550100000",
            waba_id="102290129340398",
        )
    else:
        reply, status = i // 4, ("sent", "delivered", "read")[i % 4 - 1]
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": NUMBER},
            "statuses": [
                {
                    "id": f"wamid.REPLY{reply}",
                    "status": status,
                    "timestamp": str(1765000000 + i),
                    "recipient_id": f"1777{reply:07d}",
                }
            ],
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
        }
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def write_bodies(path: Path, count: int) -> None:
    lines = ["local all = {}", "local function add(t) for _, v in ipairs(t) do all[#all + 1] = v end end"]
    for start in range(0, count, 5000):
        lines.append("add((function() return {")
        for i in range(start, min(count, start + 5000)):
            raw = body(i)
            lines.append(f"{{{_lua_string(raw.decode())}, {_lua_string(sign(raw, APP_SECRET))}}},")
        lines.append("} end)())")
    lines.append("return all")
    path.write_text("\n".join(lines))


def seed_replies(env: dict, count: int) -> None:
    """The earlier replies whose statuses arrive: sent messages with wamids, in one conversation each."""
    from sqlalchemy import insert

    from flowapp import create_app
    from flowapp.extensions import db
    from flowapp.models import Contact, Conversation, Message, utcnow

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    with app.app_context():
        contact = Contact(wa_id="17770000000", fields={}, tags=[])
        conversation = Conversation(contact=contact, labels=[])
        db.session.add(conversation)
        db.session.flush()
        rows = [
            {
                "conversation_id": conversation.id,
                "direction": "out",
                "wamid": f"wamid.REPLY{n}",
                "type": "text",
                "text": "reply",
                "payload": {},
                "status": "queued",
                "author_type": "run",
                "created_at": utcnow(),
            }
            for n in range(count)
        ]
        for start in range(0, count, 5000):
            db.session.execute(insert(Message), rows[start : start + 5000])
        db.session.commit()


class Sampler(threading.Thread):
    """Counts the unprocessed events every second."""

    def __init__(self, env: dict):
        super().__init__(daemon=True)
        from flowapp import create_app

        self.app = create_app(
            {"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False}
        )
        self.samples: list[tuple[float, int, int]] = []  # (time, stored, unprocessed)
        self.stop = threading.Event()

    def run(self) -> None:
        from sqlalchemy import func, select

        from flowapp.extensions import db
        from flowapp.models import WebhookEvent

        with self.app.app_context():
            while not self.stop.is_set():
                stored, waiting = db.session.execute(
                    select(func.count(), func.count().filter(WebhookEvent.processed_at.is_(None)))
                ).one()
                db.session.rollback()
                self.samples.append((time.time(), stored, waiting))
                self.stop.wait(1.0)


def verify(env: dict) -> dict:
    from sqlalchemy import func, select

    from flowapp import create_app
    from flowapp.extensions import db
    from flowapp.models import Message, StatusEvent, WebhookEvent

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(WebhookEvent))
        waiting = db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None)))
        inbound = db.session.execute(
            select(func.count(), func.count(func.distinct(Message.wamid))).where(Message.direction == "in")
        ).one()
        statuses = db.session.scalar(select(func.count()).select_from(StatusEvent))
        read = db.session.scalar(select(func.count()).where(Message.status == "read"))
    return {
        "events": events,
        "waiting": waiting,
        "inbound": tuple(inbound),
        "statuses": statuses,
        "read": read,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--bodies", type=int, default=160000)
    parser.add_argument("--drain-timeout", type=int, default=900)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="flowapp-mixed-"))
    script = workdir / "post.lua"
    write_bodies(workdir / "bodies.lua", args.bodies)
    script.write_text(LUA % {"bodies": workdir / "bodies.lua", "threads": 2})

    port = free_port()
    with gunicorn("bench.bare_app:app", port, 4, 4):
        wait_http(f"http://127.0.0.1:{port}/")
        bare = run_wrk(f"http://127.0.0.1:{port}", script, 10, args.connections, 2)

    with fresh_database(args.db) as (database_url, dbdir), redis_url() as redis:
        env = bench_env(database_url, redis, dbdir)
        seed_replies(env, args.bodies // 4 + 1)
        port = free_port()
        sampler = Sampler(env)
        workers = [
            Child([PYTHON, "-m", "flask", "--app", "wsgi", "worker"], env=env, log=dbdir / f"worker{n}.log")
            for n in range(args.workers)
        ]
        try:
            with gunicorn("wsgi:app", port, 4, 4, env=env, log=dbdir / "gunicorn.log"):
                wait_http(f"http://127.0.0.1:{port}/healthz")
                sampler.start()
                started = time.time()
                load = run_wrk(f"http://127.0.0.1:{port}", script, args.duration, args.connections, 2)
                ended = time.time()
                deadline = time.monotonic() + args.drain_timeout
                while time.monotonic() < deadline and (
                    not sampler.samples or sampler.samples[-1][2] > 0 or sampler.samples[-1][0] < ended
                ):
                    time.sleep(0.5)
                drained = sampler.samples[-1][0] if sampler.samples[-1][2] == 0 else None
                sampler.stop.set()
        finally:
            for worker in workers:
                worker.stop()
        result = verify(env)
    shutil.rmtree(workdir, ignore_errors=True)
    return report(args, bare, load, sampler.samples, started, ended, drained, result)


def report(args, bare, load, samples, started, ended, drained, result) -> int:
    during = [s for s in samples if started <= s[0] <= ended]
    peak = max((s[2] for s in samples), default=0)
    at_end = min(samples, key=lambda s: abs(s[0] - ended))[2] if samples else 0
    posted = result["events"]
    processed_during = (
        (during[-1][1] - during[-1][2]) - (during[0][1] - during[0][2]) if len(during) > 1 else 0
    )
    span = during[-1][0] - during[0][0] if len(during) > 1 else 1
    print(
        f"\nMixed load, {args.db}: 1 message : 3 statuses, wrk -c {args.connections} for {args.duration} s, "
        f"gunicorn -w 4 --threads 4, {args.workers} RQ workers"
    )
    print(f"  bare Flask, same server: {bare['rps']:.0f} req/s")
    print(
        f"  Flowapp intake: {load['rps']:.0f} req/s (ratio {load['rps'] / bare['rps']:.2f}), p50 "
        f"{load['p50_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms, non-2xx {load['non_2xx']}"
    )
    print(f"  processed while the load ran: {processed_during / span:.0f} events/s")
    print("  backlog (events waiting), every 10 s: " + ", ".join(str(s[2]) for s in samples[::10]))
    print(f"  backlog peak {peak}, at the end of the load {at_end}")
    if drained:
        print(f"  drained {drained - ended:.0f} s after the load stopped")
    else:
        print(f"  NOT drained within {args.drain_timeout} s")
    print(
        f"  stored {posted} events; messages {result['inbound'][0]} ({result['inbound'][1]} distinct); "
        f"statuses stored {result['statuses']}; replies read {result['read']}; "
        f"unprocessed {result['waiting']}"
    )
    ok = drained is not None and result["inbound"][0] == result["inbound"][1] and result["waiting"] == 0
    ok = ok and load["non_2xx"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
