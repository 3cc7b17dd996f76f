"""End-to-end latency: a signed inbound webhook to the automation's reply reaching the mock Graph API.

    .venv/bin/python -m bench.e2e_latency [--rate 50] [--seconds 20] [--db postgresql|sqlite] [--workers 3]
                                          [--find-max] [--no-statuses]

A live Flowapp as documented for production (gunicorn -w 4 --threads 4, real RQ workers) runs an
"any message" automation that answers every message, while the mock Graph API posts the sent,
delivered and read status webhooks of every reply back to it, as Meta does. New customers write at
a steady rate (an open loop: a late answer never slows the load); each latency is the time from
posting the customer's webhook to the reply arriving at the mock (both clocks are this machine's).
Target at 50 conversations/s: p50 < 100 ms, p99 < 500 ms. `--find-max` raises the rate step by step
on the same stack and reports the highest that keeps p99 under 500 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.common import (
    APP_SECRET,
    bench_env,
    free_port,
    fresh_database,
    percentile,
    redis_url,
)
from bench.served import message_body, served_stack
from flowapp.whatsapp.signature import sign

REPLY_GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 0, "y": 0}},
        {
            "id": "reply",
            "type": "send_text",
            "config": {"text": "Thanks {{ contact.name }}, we got it."},
            "position": {"x": 250, "y": 0},
        },
    ],
    "edges": [{"from": "start", "port": "next", "to": "reply"}],
}


def publish_reply_automation(
    env: dict, trigger: dict | None = None, graph: dict = REPLY_GRAPH, name: str = "Auto-reply"
) -> int:
    """Publish automation `name` (`graph`, started by `trigger`: any message unless given); its id."""
    from flowapp import create_app
    from flowapp.extensions import db
    from flowapp.services import automations

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    with app.app_context():
        automation = automations.create(name, trigger=trigger or {"type": "any_message"}, graph=graph)
        automations.publish(automation)
        db.session.commit()
        return automation.id


def post_customers(url: str, rate: float, seconds: float, first: int = 0) -> dict[str, float]:
    """Post one new customer's message every 1/rate seconds; returns {wa_id: time posted}."""
    session = requests.Session()
    sent: dict[str, float] = {}
    lock = threading.Lock()

    def post(n: int) -> None:
        wa_id = f"1444{first + n:07d}"
        body = message_body(wa_id, f"Customer {n}")
        started = time.time()
        response = session.post(
            f"{url}/webhooks/whatsapp",
            data=body,
            timeout=10,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)},
        )
        response.raise_for_status()
        with lock:
            sent[wa_id] = started

    total = int(rate * seconds)
    begin = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        for n in range(total):
            delay = begin + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the open-loop load, not waiting for a result
            pool.submit(post, n)
    return sent


def direct_hop(mock_url: str, count: int = 200) -> list[float]:
    """Milliseconds of one send straight to the mock: the floor any reply path sits on."""
    session = requests.Session()
    body = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+15550000001",
        "type": "text",
        "text": {"body": "baseline"},
    }
    times = []
    for _ in range(count):
        started = time.perf_counter()
        session.post(
            f"{mock_url}/v25.0/106540352242922/messages",
            json=body,
            timeout=5,
            headers={"Authorization": "Bearer bench"},
        ).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    requests.post(f"{mock_url}/_mock/reset", timeout=5)
    return times


def collect(mock_url: str, sent: dict[str, float], timeout: float = 60.0) -> dict[str, float]:
    """Wait until every customer got the reply (or the timeout); returns {wa_id: latency seconds}."""
    deadline = time.monotonic() + timeout
    latencies: dict[str, float] = {}
    while time.monotonic() < deadline and len(latencies) < len(sent):
        for record in requests.get(f"{mock_url}/_mock/messages", params={"limit": 100000}, timeout=30).json()[
            "messages"
        ]:
            if record["to"] in sent:
                latencies.setdefault(record["to"], record["at"] - sent[record["to"]])
        if len(latencies) < len(sent):
            time.sleep(0.5)
    return latencies


STEPS = (10, 20, 30, 40, 50, 75, 100, 150, 200)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--workers", type=int, default=3, help="RQ worker processes")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn workers (4 threads each)")
    parser.add_argument("--find-max", action="store_true", help=f"try {', '.join(map(str, STEPS))}/s in turn")
    parser.add_argument("--no-statuses", action="store_true", help="the mock posts no status webhooks")
    args = parser.parse_args(argv)
    web_port, mock_port = free_port(), free_port()
    web_url, mock_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{mock_port}"
    rates = [r for r in STEPS if r >= args.rate] if args.find_max else [args.rate]
    results = []
    with fresh_database(args.db) as (database_url, workdir), redis_url() as redis:
        env = bench_env(
            database_url, redis, workdir, GRAPH_API_URL=mock_url, WHATSAPP_TOKEN="bench", SEND_RATE=1000
        )
        stack = served_stack(
            env, workdir, web_port, mock_port, args.workers, args.web_workers, statuses=not args.no_statuses
        )
        with stack:
            publish_reply_automation(env)
            baseline = direct_hop(mock_url)
            first = 0
            for rate in rates:
                sent = post_customers(web_url, rate, args.seconds, first)
                first += len(sent)
                latencies = collect(mock_url, sent)
                results.append((rate, sent, latencies, breakdown(env, sent)))
                wait_settled(env)
                if percentile([v * 1000 for v in latencies.values()], 99) >= 500 or len(latencies) < len(
                    sent
                ):
                    break
    statuses = "off" if args.no_statuses else "on (sent, delivered, read for every reply)"
    print(
        f"\nEnd to end, {args.db}, gunicorn -w {args.web_workers} --threads 4, {args.workers} RQ workers, "
        f"status webhooks {statuses}, {args.seconds:.0f} s per rate"
    )
    requests_floor = percentile(baseline, 50)
    print(f"  baseline: one POST straight to the mock, same machine: p50 {requests_floor:.1f} ms")
    ok = True
    for rate, sent, latencies, stages in results:
        values = [v * 1000 for v in latencies.values()]
        ok = ok and len(values) == len(sent)
        print(
            f"  {rate:.0f} new conversations/s: replies {len(values)} of {len(sent)}; p50 "
            f"{percentile(values, 50):.0f} ms, p95 {percentile(values, 95):.0f} ms, p99 "
            f"{percentile(values, 99):.0f} ms, max {max(values, default=float('nan')):.0f} ms; p50 is "
            f"{percentile(values, 50) / requests_floor:.0f}x the baseline"
        )
        print(
            "    "
            + "; ".join(
                f"{name} p50 {percentile(v, 50):.0f} / p99 {percentile(v, 99):.0f} ms"
                for name, v in stages.items()
            )
        )
    held = [
        rate
        for rate, sent, latencies, _ in results
        if len(latencies) == len(sent) and percentile([v * 1000 for v in latencies.values()], 99) < 500
    ]
    print(
        f"  highest rate tried with p99 < 500 ms: {max(held) if held else 'none'}/s "
        "(targets at 50/s: p50 < 100 ms, p99 < 500 ms)"
    )
    return 0 if ok else 1


def wait_settled(env: dict, timeout: float = 120.0) -> None:
    """Until every stored event (status webhooks included) is processed: the next rate starts clean."""
    from sqlalchemy import func, select

    from flowapp import create_app
    from flowapp.extensions import db
    from flowapp.models import WebhookEvent

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            if not db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None))):
                return
            db.session.rollback()
            time.sleep(0.5)


def breakdown(env: dict, sent: dict[str, float]) -> dict[str, list[float]]:
    """Where the time goes: webhook posted -> reply queued (intake and processing), queued -> sent."""
    from sqlalchemy import select

    from flowapp import create_app
    from flowapp.extensions import db
    from flowapp.models import Contact, Conversation, Message

    app = create_app({"LOAD_DOTENV": False, **env, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False})
    stages: dict[str, list[float]] = {
        "posted -> stored": [],
        "stored -> processed": [],
        "posted -> reply queued": [],
        "reply queued -> sent": [],
    }
    with app.app_context():
        from flowapp.models import WebhookEvent

        for body, received_at, processed_at in db.session.execute(
            select(WebhookEvent.body, WebhookEvent.received_at, WebhookEvent.processed_at).where(
                WebhookEvent.lane == "contact"
            )
        ):
            wa_id = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
            if wa_id in sent and processed_at:
                stages["posted -> stored"].append((received_at.timestamp() - sent[wa_id]) * 1000)
                stages["stored -> processed"].append((processed_at - received_at).total_seconds() * 1000)
        rows = db.session.execute(
            select(Contact.wa_id, Message.queued_at, Message.sent_at)
            .join(Conversation, Conversation.contact_id == Contact.id)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Message.direction == "out")
        ).all()
    for wa_id, queued_at, sent_at in rows:
        if wa_id in sent and queued_at and sent_at:
            stages["posted -> reply queued"].append((queued_at.timestamp() - sent[wa_id]) * 1000)
            stages["reply queued -> sent"].append((sent_at - queued_at).total_seconds() * 1000)
    return stages


if __name__ == "__main__":
    sys.exit(main())
