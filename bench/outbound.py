"""Outbound benchmark: 10,000 queued text messages to 1,000 contacts, drained by real RQ workers.

    .venv/bin/python -m bench.outbound [--db postgresql|sqlite] [--workers 2] [--rate 1000] [--validate]

The sandbox's mock Graph API runs as its own process (no status webhooks; by default without the
per-request contract check, which costs the mock more CPU than answering). The same mock is first
measured with a bare `requests.Session` loop, the ceiling one Python client reaches. Afterwards:
every message sent exactly once (the mock's records, by our message id), none left queued, and the
most sends the mock saw inside any sliding one-second window (must not exceed --rate).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from datetime import timedelta

import requests

from bench.common import PYTHON, Child, bench_env, free_port, fresh_database, redis_url, wait_http

TEXT_BODY = {
    "messaging_product": "whatsapp",
    "recipient_type": "individual",
    "to": "+15550000000",
    "type": "text",
    "text": {"body": "baseline"},
}


def bare_client_rate(mock_url: str, seconds: float = 4.0) -> float:
    """Sends/s of one requests.Session loop against the mock: the client-side ceiling."""
    session = requests.Session()
    session.headers["Authorization"] = "Bearer bench"
    url = f"{mock_url}/v25.0/106540352242922/messages"
    count, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        session.post(url, json=TEXT_BODY, timeout=5).raise_for_status()
        count += 1
    return count / (time.perf_counter() - started)


def seed(app, contacts: int, per_contact: int) -> None:
    """Queue the messages through the real service (limits, window, outbox), committed in chunks."""
    from flowapp.extensions import db
    from flowapp.models import Contact, utcnow
    from flowapp.services.outbound import queue_message

    with app.app_context():
        people = [
            Contact(wa_id=f"1555{n:07d}", last_inbound_at=utcnow() - timedelta(minutes=1), fields={}, tags=[])
            for n in range(contacts)
        ]
        db.session.add_all(people)
        db.session.commit()
        for round_ in range(per_contact):
            for person in people:
                queue_message(person, {"type": "text", "text": f"Message {round_} for {person.wa_id}"})
            db.session.info.pop("work", None)  # no drain yet: the clock starts at the first kick
            db.session.commit()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--per-contact", type=int, default=10)
    parser.add_argument(
        "--validate", action="store_true", help="let the mock check every body against Meta's spec"
    )
    args = parser.parse_args(argv)
    total = args.contacts * args.per_contact

    mock_port = free_port()
    mock_args = [PYTHON, "-m", "flowapp.sandbox", "--port", str(mock_port), "--no-statuses"]
    if not args.validate:
        mock_args.append("--no-validate")
    mock_url = f"http://127.0.0.1:{mock_port}"
    with Child(mock_args) as _mock, fresh_database(args.db) as (database_url, workdir), redis_url() as redis:
        wait_http(f"{mock_url}/_mock/stats")
        baseline = bare_client_rate(mock_url)
        requests.post(f"{mock_url}/_mock/reset", timeout=5)

        from flowapp import create_app

        env = bench_env(
            database_url,
            redis,
            workdir,
            GRAPH_API_URL=mock_url,
            SEND_RATE=args.rate,
            SEND_PARALLEL=args.workers,
            WHATSAPP_TOKEN="bench",
        )
        app = create_app(
            {
                "LOAD_DOTENV": False,
                **{k: v for k, v in env.items() if k.isupper()},
                "SEND_RATE": args.rate,
                "SEND_PARALLEL": args.workers,
                "LOG_CONSOLE": False,
                "INTAKE_GROUP_COMMIT": False,
            }
        )
        print(f"seeding {total} queued messages to {args.contacts} contacts ...", flush=True)
        seed(app, args.contacts, args.per_contact)
        workers = [
            Child(
                [PYTHON, "-m", "flask", "--app", "wsgi", "worker", "--queues", "sends"],
                env=env,
                log=workdir / f"worker{n}.log",
            )
            for n in range(args.workers)
        ]
        try:
            elapsed = drain_and_wait(app, total)
        finally:
            for worker in workers:
                worker.stop()
        report(args, total, elapsed, baseline, mock_url, app)
    return 0


def drain_and_wait(app, total: int, timeout: float = 300.0) -> float:
    from sqlalchemy import func, select

    from flowapp.extensions import db
    from flowapp.jobs import start_drain
    from flowapp.models import OutboxEntry

    with app.app_context():
        started = time.perf_counter()
        start_drain()
        while time.perf_counter() - started < timeout:
            left = db.session.scalar(select(func.count()).select_from(OutboxEntry))
            db.session.rollback()
            if left == 0:
                return time.perf_counter() - started
            time.sleep(0.05)
    raise RuntimeError(f"the outbox did not drain within {timeout}s")


def report(args, total: int, elapsed: float, baseline: float, mock_url: str, app) -> None:
    from sqlalchemy import func, select

    from flowapp.extensions import db
    from flowapp.models import Message

    stats = requests.get(f"{mock_url}/_mock/stats", timeout=10).json()
    records = requests.get(f"{mock_url}/_mock/messages", params={"limit": total * 2}, timeout=30).json()[
        "messages"
    ]
    per_message = Counter(r["body"].get("biz_opaque_callback_data") for r in records)
    with app.app_context():
        by_status = dict(
            db.session.execute(select(Message.status, func.count()).group_by(Message.status)).all()
        )
    rate = total / elapsed
    arrivals = sorted(r["at"] for r in records)
    per_second = Counter(int(at - arrivals[0]) for at in arrivals)
    seconds = [per_second[n] for n in range(max(per_second) + 1)]
    steady = sorted(seconds[1:-1]) or seconds
    print(
        f"\nOutbound, {args.db}, {args.workers} RQ workers (SimpleWorker), limiter {args.rate}/s, "
        f"mock {'with' if args.validate else 'without'} contract check"
    )
    print(f"  bare requests.Session loop against the mock: {baseline:8.0f} sends/s")
    print(
        f"  Flowapp drained {total} messages in {elapsed:6.2f} s: {rate:8.0f} messages/s "
        f"(ratio to the bare loop {rate / baseline:.2f}; target >= 1000/s)"
    )
    print(
        f"  mock accepted {stats['accepted']}, distinct messages {len(per_message)}, "
        f"sent more than once {sum(1 for c in per_message.values() if c > 1)}"
    )
    print(f"  statuses in the database: {by_status}")
    print(f"  most sends in any one-second window: {stats['max_in_any_second']} (limit {args.rate})")
    print(
        f"  sends per second, second by second: {seconds}; median of the full seconds "
        f"{steady[len(steady) // 2]}"
    )


if __name__ == "__main__":
    sys.exit(main())
