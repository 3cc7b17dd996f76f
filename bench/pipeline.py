"""Inbound pipeline benchmark: stored events processed by 1, 2 and 3 real RQ workers (PostgreSQL).

    .venv/bin/python -m bench.pipeline [--messages 3000] [--statuses 9000] [--workers 1,2,3]
                                       [--db postgresql|sqlite]

For each worker count, on a fresh database: new customers' text messages (no automation) are
stored as intake stores them, the workers are started and ready, then everything is announced at
once and the clock runs until the database says the last event is processed. The same for status
webhooks (sent, delivered and read of earlier replies). Then fairness: 3 workers busy with one
business number's flood while a single customer of a second number writes.

Baselines measured in the same run: trivial RQ jobs (no-ops) drained by the same number of
workers, and the statements one event costs, counted in-process. Exits non-zero when any event is
left unprocessed, or a message or status is stored twice or not at all.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager

from bench.common import PYTHON, Child, bench_env, fresh_database, redis_url
from flowapp.whatsapp.simulate import inbound_payload

NUMBER_A, NUMBER_B = "106540352242922", "209876543210987"


def noop() -> None:
    """The baseline job: nothing at all."""


def message_body(n: int, number: str = NUMBER_A) -> bytes:
    payload = inbound_payload(
        {
            "from": f"1444{n:07d}",
            "name": f"Customer {n}",
            "text": f"hello {n}",
            "wamid": f"wamid.PIPE{number[-3:]}{n}",
        },
        phone_number_id=number,
        display_phone_number="15550100000",
        waba_id="102290129340398",
    )
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


def status_body(n: int, status: str, ts: int) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100000", "phone_number_id": NUMBER_A},
        "statuses": [
            {"id": f"wamid.OUT{n}", "status": status, "timestamp": str(ts), "recipient_id": f"1444{n:07d}"}
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def make_app(env: dict):
    from flowapp import create_app

    return create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})


def store(app, bodies: list[bytes]) -> list[dict]:
    """Store bodies as intake does (routed rows, committed); returns what announce needs."""
    from flowapp.extensions import db
    from flowapp.pipeline import intake

    announced = []
    with app.app_context():
        for start in range(0, len(bodies), 500):
            for body in bodies[start : start + 500]:
                rows = intake.rows_for(body, "meta")
                announced += intake.stored(rows, intake.receive(rows))
            db.session.commit()
    return announced


@contextmanager
def workers(env: dict, count: int, workdir):
    """`count` real `flask worker` processes, returned once RQ sees them all."""
    from redis import Redis
    from rq import Worker

    children = [
        Child([PYTHON, "-m", "flask", "--app", "wsgi", "worker"], env=env, log=workdir / f"worker{n}.log")
        for n in range(count)
    ]
    try:
        connection = Redis.from_url(env["REDIS_URL"])
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=connection)) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not start")
            time.sleep(0.1)
        yield
    finally:
        for child in children:
            child.stop()


def wait_processed(app, started: float, timeout: float = 600) -> float:
    """Seconds from `started` to the last event's processed_at, once none is left unprocessed."""
    from sqlalchemy import func, select

    from flowapp.extensions import db
    from flowapp.models import WebhookEvent

    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            left = db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None)))
            last = db.session.scalar(select(func.max(WebhookEvent.processed_at)))
            db.session.rollback()
            if not left:
                return last.timestamp() - started
            if time.monotonic() > deadline:
                raise RuntimeError(f"{left} events still unprocessed after {timeout}s")
            time.sleep(0.05)


def announce(app, rows: list[dict]) -> float:
    from flowapp.pipeline import intake

    with app.app_context():
        started = time.time()
        for start in range(0, len(rows), 2000):
            intake.announce(rows[start : start + 2000])
    return started


def run_messages(kind: str, count: int, worker_count: int, automation: bool = False) -> dict:
    """New customers' messages processed by `worker_count` workers: rate and checks. With
    `automation`, each message starts a run that queues a reply (not sent: no mock runs here)."""
    from sqlalchemy import func, select

    from flowapp.extensions import db
    from flowapp.models import Contact, Message

    with fresh_database(kind) as (url, workdir), redis_url() as redis:
        env = bench_env(url, redis, workdir, INBOUND_PARALLEL=max(8, worker_count))
        app = make_app(env)
        if automation:
            publish_reply(app)
        rows = store(app, [message_body(n) for n in range(count)])
        with workers(env, worker_count, workdir):
            seconds = wait_processed(app, announce(app, rows))
        with app.app_context():
            messages = db.session.execute(
                select(func.count(), func.count(func.distinct(Message.wamid)))
            ).one()
            contacts = db.session.scalar(select(func.count()).select_from(Contact))
    ok = tuple(messages) == (count, count) and contacts == count
    return {"rate": count / seconds, "seconds": seconds, "ok": ok, "messages": tuple(messages)}


def publish_reply(app) -> None:
    from bench.e2e_latency import REPLY_GRAPH
    from flowapp.extensions import db
    from flowapp.services import automations

    with app.app_context():
        automation = automations.create("Auto-reply", trigger={"type": "any_message"}, graph=REPLY_GRAPH)
        automations.publish(automation)
        db.session.commit()


def run_statuses(kind: str, replies: int, worker_count: int) -> dict:
    """sent, delivered and read for `replies` outbound messages: statuses applied per second."""
    from sqlalchemy import func, insert, select

    from flowapp.extensions import db
    from flowapp.models import Contact, Conversation, Message, StatusEvent, utcnow

    with fresh_database(kind) as (url, workdir), redis_url() as redis:
        env = bench_env(url, redis, workdir, INBOUND_PARALLEL=max(8, worker_count))
        app = make_app(env)
        with app.app_context():
            contact = Contact(wa_id="14440000000", fields={}, tags=[])
            conversation = Conversation(contact=contact, labels=[])
            db.session.add(conversation)
            db.session.flush()
            db.session.execute(
                insert(Message),
                [
                    {
                        "conversation_id": conversation.id,
                        "direction": "out",
                        "wamid": f"wamid.OUT{n}",
                        "type": "text",
                        "text": "reply",
                        "payload": {},
                        "status": "queued",
                        "author_type": "run",
                        "created_at": utcnow(),
                    }
                    for n in range(replies)
                ],
            )
            db.session.commit()
        base = int(time.time()) - 60
        bodies = [
            status_body(n, status, base + i)
            for i, status in enumerate(("sent", "delivered", "read"))
            for n in range(replies)
        ]
        rows = store(app, bodies)
        with workers(env, worker_count, workdir):
            seconds = wait_processed(app, announce(app, rows))
        with app.app_context():
            read = db.session.scalar(select(func.count()).where(Message.status == "read"))
            events = db.session.scalar(select(func.count()).select_from(StatusEvent))
    ok = read == replies and events == len(bodies)
    return {"rate": len(bodies) / seconds, "seconds": seconds, "ok": ok, "read": read, "events": events}


def run_noops(count: int, worker_count: int) -> float:
    """Trivial jobs per second drained by `worker_count` workers: what RQ itself costs."""
    from redis import Redis
    from rq import Queue

    with fresh_database("sqlite") as (url, workdir), redis_url() as redis:
        env = bench_env(url, redis, workdir)
        connection = Redis.from_url(redis)
        with workers(env, worker_count, workdir):
            queue = Queue("default", connection=connection)
            with connection.pipeline() as pipe:
                for _ in range(count):
                    queue.enqueue("bench.pipeline.noop", result_ttl=0, pipeline=pipe)
                started = time.perf_counter()
                pipe.execute()
            while queue.count or len(queue.started_job_registry):
                time.sleep(0.01)
            return count / (time.perf_counter() - started)


def run_fairness(kind: str, flood: int) -> dict:
    """A flood on number A (3 workers); one customer of number B writes 0.5 s later."""
    from sqlalchemy import select

    from flowapp.extensions import db
    from flowapp.models import WebhookEvent

    with fresh_database(kind) as (url, workdir), redis_url() as redis:
        env = bench_env(url, redis, workdir)
        app = make_app(env)
        rows = store(app, [message_body(n) for n in range(flood)])
        with workers(env, 3, workdir):
            started = announce(app, rows)
            time.sleep(0.5)  # let the flood get going before the second number's customer writes
            quiet = store(app, [message_body(0, NUMBER_B)])
            quiet_at = announce(app, quiet)
            total = wait_processed(app, started)
            with app.app_context():
                done = db.session.scalar(
                    select(WebhookEvent.processed_at).where(WebhookEvent.id == quiet[0]["id"])
                )
    return {"quiet_ms": (done.timestamp() - quiet_at) * 1000, "flood_seconds": total}


def statements_per_event(kind: str) -> dict:
    """Statements one new customer's message and one status batch cost, counted in-process."""
    from sqlalchemy import event

    from flowapp.extensions import db
    from flowapp.pipeline import bulk, contacts, pumps

    with fresh_database(kind) as (url, workdir), redis_url() as redis:
        app = make_app(bench_env(url, redis, workdir))
        store(app, [message_body(n) for n in range(50)])
        store(app, [status_body(n, "delivered", int(time.time())) for n in range(200)])
        with app.app_context():
            counted: list[str] = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: counted.append(a[2]))
            cpu = time.process_time()
            for n in range(50):
                contacts.drain(NUMBER_A, f"1444{n:07d}", pumps.board())
            message_cpu = (time.process_time() - cpu) / 50 * 1000
            per_message = len(counted) / 50
            counted.clear()
            bulk.process_batch()
            per_batch = len(counted)
    return {"per_message": per_message, "per_batch": per_batch, "message_cpu_ms": message_cpu}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument(
        "--statuses", type=int, default=9000, help="status webhooks (a third each of sent, delivered, read)"
    )
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--flood", type=int, default=3000)
    parser.add_argument("--messages-only", action="store_true", help="skip statuses, no-ops and fairness")
    parser.add_argument("--automation", action="store_true", help="messages start a run that queues a reply")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    ok = True
    cost = statements_per_event(args.db)
    print(f"\nInbound pipeline, {args.db}: stored events processed by real RQ workers (flask worker)")
    print(
        f"  cost in-process: {cost['per_message']:.1f} statements and {cost['message_cpu_ms']:.1f} ms CPU "
        f"per new customer's message (drain included); {cost['per_batch']} statements per batch of 200 "
        "statuses"
    )
    header = ("workers", "messages/s", "x 1 worker", "statuses/s", "x 1 worker", "no-op jobs/s")
    print("  " + "".join(f"{name:>13}" for name in header))
    first = {}
    for count in counts:
        messages = run_messages(args.db, args.messages, count, args.automation)
        if args.messages_only:
            scaling = messages["rate"] / first.setdefault("m", messages["rate"])
            print(f"  {count:>13}{messages['rate']:>13.0f}{scaling:>13.2f}")
            ok = ok and messages["ok"]
            continue
        statuses = run_statuses(args.db, args.statuses // 3, count)
        noops = run_noops(5000, count)
        first.setdefault("m", messages["rate"])
        first.setdefault("s", statuses["rate"])
        ok = ok and messages["ok"] and statuses["ok"]
        print(
            f"  {count:>13}{messages['rate']:>13.0f}{messages['rate'] / first['m']:>13.2f}"
            f"{statuses['rate']:>13.0f}{statuses['rate'] / first['s']:>13.2f}{noops:>13.0f}"
            + ("" if messages["ok"] and statuses["ok"] else f"  LOST OR DUPLICATED {messages} {statuses}")
        )
    if args.messages_only:
        return 0 if ok else 1
    fair = run_fairness(args.db, args.flood)
    print(
        f"  fairness: {args.flood} customers of one number take {fair['flood_seconds']:.1f} s with 3 "
        "workers; a customer of a second number writing meanwhile was processed "
        f"{fair['quiet_ms']:.0f} ms after it arrived"
    )
    print("  targets: >= 250 messages/s with 3 workers and >= 1.5x the 1-worker rate; >= 1,000 statuses/s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
