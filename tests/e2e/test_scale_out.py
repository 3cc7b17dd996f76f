"""Scale-out with real processes: two web servers, three workers and two schedulers on one database
and one Redis; 200 customers write 5 messages each, interleaved; one worker is killed with SIGKILL
while it processes. Every message is processed once and in its customer's order, every reply is
sent once, nothing is lost.

The automation proves the order: it counts each customer's messages in a contact field and answers
"n=<count> got <text>"; a customer whose messages were handled out of order (or twice) would get a
reply whose count differs from the text it answers.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import func, select

from flowapp import create_app
from flowapp.extensions import db
from flowapp.models import Message, WebhookEvent
from flowapp.sandbox import MockConfig, MockServer
from flowapp.services import automations
from flowapp.whatsapp.signature import sign
from tests import live
from tests.conftest import TEST_SECRETS, close_app
from tests.helpers import customer_message, encode

pytestmark = pytest.mark.e2e

CUSTOMERS = 200
MESSAGES = 5
COUNTER_GRAPH = {
    "spec_version": 2,
    "nodes": [
        {"id": "start", "type": "start", "config": {}, "position": {"x": 0, "y": 0}},
        {
            "id": "count",
            "type": "update_contact",
            "config": {"fields": {"count": "{{ (contact.fields.count | int) + 1 }}"}},
            "position": {"x": 200, "y": 0},
        },
        {
            "id": "reply",
            "type": "send_text",
            "config": {"text": "n={{ contact.fields.count }} got {{ message.text }}"},
            "position": {"x": 400, "y": 0},
        },
    ],
    "edges": [
        {"from": "start", "port": "next", "to": "count"},
        {"from": "count", "port": "next", "to": "reply"},
    ],
}


@pytest.fixture
def cluster(live_database_url, redis_url, redis, tmp_path):
    """The processes, each on its own: gunicorn x2, `flask worker` x3, `flask scheduler` x2."""
    ports = [live.free_port(), live.free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    mock = MockServer(
        MockConfig(
            webhook_url=f"{urls[0]}/webhooks/whatsapp",
            app_secret=TEST_SECRETS["APP_SECRET"],
            sent_delay=0.02,
            delivered_delay=0.05,
            read_delay=0.1,
        )
    ).start()
    settings = {
        "DATABASE_URL": live_database_url,
        "REDIS_URL": redis_url,
        "GRAPH_API_URL": mock.url,
        "INSTANCE_PATH": tmp_path / "instance",
        "LOG_DIR": tmp_path / "logs",
        "PHONE_NUMBER_ID": "106540352242922",
        "BUSINESS_ID": "102290129340398",
        "WHATSAPP_TOKEN": "scale-out-test",
        "SEND_RATE": 1000,
        # A killed worker's contact passes to another worker after this (the default is 30 s).
        "INBOUND_LEASE_SECONDS": 3,
        **TEST_SECRETS,
    }
    env = live.flask_env(FLOWAPP_ENV="development", LOG_LEVEL="WARNING", **settings)
    app = create_app({"LOAD_DOTENV": False, "LOG_CONSOLE": False, "INTAKE_GROUP_COMMIT": False, **settings})
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        automation = automations.create("Counter", trigger={"type": "any_message"}, graph=COUNTER_GRAPH)
        automations.publish(automation)
        db.session.commit()
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    processes = {}
    for n, port in enumerate(ports):
        processes[f"web{n}"] = live.start(
            [
                live.python(),
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "wsgi:app",
            ],
            env,
            logs / f"web{n}.out",
        )
    # The first worker serves only the inbound queue, so the SIGKILL lands on event processing.
    queues = [["-q", "webhooks"], [], []]
    for n, extra in enumerate(queues):
        processes[f"worker{n}"] = live.start(
            [live.python(), "-m", "flask", "--app", "wsgi", "worker", *extra], env, logs / f"worker{n}.out"
        )
    for n in range(2):
        processes[f"scheduler{n}"] = live.start(
            [live.python(), "-m", "flask", "--app", "wsgi", "scheduler"], env, logs / f"scheduler{n}.out"
        )
    try:
        for url in urls:
            live.wait_for(lambda u=url: requests.get(f"{u}/healthz", timeout=2).status_code == 200, 60, url)
        yield {"urls": urls, "mock": mock, "app": app, "processes": processes}
    finally:
        for process in processes.values():
            live.stop(process)
        mock.stop()
        close_app(app)


def post_customer(urls: list[str], customer: int) -> None:
    """One customer's messages, in order, alternating between the two web servers."""
    session = requests.Session()
    for n in range(1, MESSAGES + 1):
        raw = encode(
            customer_message(sender=f"1555{customer:07d}", text=str(n), wamid=f"wamid.SCALE{customer}-{n}")
        )
        response = session.post(
            f"{urls[(customer + n) % 2]}/webhooks/whatsapp",
            data=raw,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(raw, TEST_SECRETS["APP_SECRET"]),
            },
        )
        assert response.status_code == 200, response.text


def inbound_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in"))
        db.session.remove()
        return count


def settled(app) -> tuple[int, int]:
    """(events not processed yet, replies whose status reached read): the status webhooks too."""
    with app.app_context():
        waiting = db.session.scalar(select(func.count()).where(WebhookEvent.processed_at.is_(None)))
        read = db.session.scalar(
            select(func.count()).where(Message.direction == "out", Message.status == "read")
        )
        db.session.remove()
        return waiting, read


def test_many_customers_across_processes_one_worker_killed(cluster):
    """1,000 messages through 2 web servers and 3 workers, one SIGKILLed: each processed once, in
    order per customer, each reply sent once."""
    app, mock = cluster["app"], cluster["mock"]
    with ThreadPoolExecutor(16) as pool:
        posted = [pool.submit(post_customer, cluster["urls"], c) for c in range(CUSTOMERS)]
        live.wait_for(lambda: inbound_count(app) >= CUSTOMERS, 60, "processing to be under way")
        victim = cluster["processes"]["worker0"]
        # The whole process group, as when its machine dies: the worker and the scheduler process
        # RQ forks beside it (left alone, that orphan would go on holding the queue's scheduler lock).
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        for future in posted:
            future.result()
    total = CUSTOMERS * MESSAGES

    def replies() -> list[dict]:
        return requests.get(f"{mock.url}/_mock/messages", params={"limit": 100000}, timeout=10).json()[
            "messages"
        ]

    live.wait_for(lambda: len(replies()) >= total, 180, f"{total} replies at the mock")
    live.wait_for(lambda: settled(app) == (0, total), 60, "every event processed and every reply read")
    with app.app_context():
        inbound = db.session.execute(
            select(func.count(), func.count(func.distinct(Message.wamid))).where(Message.direction == "in")
        ).one()
        assert tuple(inbound) == (total, total)
        db.session.remove()
    sent = replies()
    assert len(sent) == total  # no reply sent twice
    by_customer: dict[str, list[str]] = {}
    for record in sent:
        by_customer.setdefault(record["to"].lstrip("+"), []).append(record["body"]["text"]["body"])
    assert len(by_customer) == CUSTOMERS
    expected = sorted(f"n={n} got {n}" for n in range(1, MESSAGES + 1))
    wrong = {who: texts for who, texts in by_customer.items() if sorted(texts) != expected}
    assert wrong == {}, (
        f"{len(wrong)} customers saw their messages out of order or twice: {list(wrong.items())[:3]}"
    )
