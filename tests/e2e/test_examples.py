"""Every shipped example, end to end against the sandbox: a customer's signed webhooks go in, real RQ
jobs (in a burst worker) process them and send through the outbox to the mock Graph API, and the
test reads what the customer's phone received."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from rq import Queue
from sqlalchemy import select

from flowapp.extensions import QUEUES, db
from flowapp.jobs.worker import FlowappWorker
from flowapp.models import AutomationRun, Contact, Conversation, MessageTemplate
from flowapp.services import automations, broadcasts, examples, graph, templates, triggers
from tests.helpers import customer_message, post_webhook

pytestmark = pytest.mark.e2e


class Phone:
    """A customer: writes through Meta's signed webhook; reads what the mock delivered to them."""

    def __init__(self, app, client, redis, mock, wa_id: str, name: str = "Ana"):
        self.app, self.client, self.redis, self.mock = app, client, redis, mock
        self.wa_id, self.name = wa_id, name
        self.seen = 0

    def say(self, **spec) -> list[dict]:
        if not any(k in spec for k in ("text", "button_reply", "list_reply")):
            raise ValueError("say what?")
        text = spec.pop("text", None)
        payload = customer_message(
            sender=self.wa_id, name=self.name, **({"text": text} if text else {}), **spec
        )
        assert post_webhook(self.client, payload).status_code == 200
        return self.work()

    def work(self) -> list[dict]:
        """Run every queued job (processing, sends, HTTP calls) like a worker would; return new sends."""
        db.session.commit()
        for _ in range(10):
            queues = [Queue(n, connection=self.redis) for n in QUEUES]
            if not any(q.count for q in queues):
                break
            FlowappWorker(queues, connection=self.redis, app=self.app).work(burst=True)
        return self.received()

    def received(self) -> list[dict]:
        records = requests.get(f"{self.mock.url}/_mock/messages", params={"to": self.wa_id}, timeout=5).json()
        new = records["messages"][self.seen :]
        self.seen = len(records["messages"])
        return [record["body"] for record in new]


def texts(bodies: list[dict]) -> list[str]:
    shown = []
    for body in bodies:
        kind = body["type"]
        if kind == "text":
            shown.append(body["text"]["body"])
        elif kind == "interactive":
            shown.append(body["interactive"]["body"]["text"])
        elif kind == "template":
            shown.append(f"template:{body['template']['name']}")
        else:
            shown.append(kind)
    return shown


@pytest.fixture
def sandbox(app, client, redis, graph_mock, session):
    """The mock plays Meta; its templates are fetched like Settings' refresh button does."""
    templates.sync(graph.client())
    db.session.commit()
    return graph_mock


def install(slug: str, **changes):
    example = examples.get(slug)
    graph_doc = example["graph"]
    for node_id, config in changes.items():
        next(n for n in graph_doc["nodes"] if n["id"] == node_id)["config"].update(config)
    automation = automations.create(example["name"], trigger=example["trigger"], graph=graph_doc)
    automations.publish(automation)
    db.session.commit()
    return automation


def phone(app, client, redis, sandbox, wa_id="15557000001", name="Ana"):
    return Phone(app, client, redis, sandbox, wa_id, name)


def test_examples_are_valid_and_listed(session):
    """Every example validates with no error against the sandbox's templates and the known fields."""
    db.session.add_all(
        [
            MessageTemplate(name=n, language=lang, status="APPROVED", components=[], parameters=p)
            for n, lang, p in (
                ("birthday_greeting", "en_US", {"body": 1}),
                ("appointment_reminder", "en_US", {"body": 3}),
            )
        ]
    )
    db.session.flush()
    slugs = {e["slug"] for e in examples.all_examples()}
    assert slugs == {
        "welcome",
        "birthday",
        "keyword_menu",
        "lead_capture",
        "appointment_reminder",
        "handoff",
        "support_triage",
    }
    for example in examples.all_examples():
        made = examples.create_from(example["slug"])  # as a user makes it: the FAQ base included
        errors = [i for i in automations.check(made.draft, made.trigger) if i.level == "error"]
        assert errors == [], (example["slug"], errors)


def test_welcome_new_contact(app, client, redis, sandbox):
    """A first message gets the welcome and the menu; a second message does not start it again."""
    install("welcome")
    customer = phone(app, client, redis, sandbox)
    first = texts(customer.say(text="hello"))
    assert len(first) >= 2 and "Ana" in first[0]
    assert texts(customer.say(text="hello again")) != first


def test_keyword_menu_buttons_and_list(app, client, redis, sandbox):
    """'menu' sends buttons; a button leads to a list; a list row is answered."""
    automation = install("keyword_menu")
    customer = phone(app, client, redis, sandbox)
    menu = customer.say(text="menu please")
    assert menu[-1]["type"] == "interactive" and menu[-1]["interactive"]["type"] == "button"
    buttons = {b["reply"]["title"]: b["reply"]["id"] for b in menu[-1]["interactive"]["action"]["buttons"]}
    graph_doc = automation.published_version.graph
    to_list = next(e for e in graph_doc["edges"] if e["from"] == "menu" and e["to"] == "days")["port"]
    title = next(t for t, i in buttons.items() if i == to_list)
    days = customer.say(button_reply={"id": to_list, "title": title})
    assert days[-1]["interactive"]["type"] == "list"
    row = days[-1]["interactive"]["action"]["sections"][0]["rows"][0]
    booked = texts(customer.say(list_reply={"id": row["id"], "title": row["title"]}))
    assert booked and booked[0]
    run = db.session.scalar(select(AutomationRun))
    assert run.status == "completed"


def test_lead_capture_validates_email_and_posts_the_lead(app, client, redis, sandbox):
    """Name, then email (a bad one gets the retry prompt), then the lead is POSTed; the contact is tagged."""
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": 42}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["HTTP_ALLOW_PRIVATE"] = True  # the test's receiver listens on 127.0.0.1
    try:
        install("lead_capture", post_lead={"url": f"http://127.0.0.1:{server.server_port}/leads"})
        customer = phone(app, client, redis, sandbox, name="Bruno")
        assert "name" in texts(customer.say(text="I want a quote"))[0]
        assert "email" in texts(customer.say(text="bruno diaz"))[0]
        assert "does not look like an email" in texts(customer.say(text="bruno at mail"))[0]
        thanks = texts(customer.say(text="bruno@example.com"))
    finally:
        app.config["HTTP_ALLOW_PRIVATE"] = False
        server.shutdown()
        server.server_close()
    assert received and received[0]["email"] == "bruno@example.com" and received[0]["name"] == "bruno diaz"
    assert "Bruno Diaz" in thanks[-1] and "bruno@example.com" in thanks[-1]
    contact = db.session.scalar(select(Contact).where(Contact.wa_id == "15557000001"))
    assert contact.fields["email"] == "bruno@example.com" and "lead" in contact.tags


def test_handoff_keyword(app, client, redis, sandbox):
    """Asking for a person sends a notice and marks the conversation for the inbox."""
    install("handoff")
    customer = phone(app, client, redis, sandbox)
    assert customer.say(text="can I talk to a human?")
    conversation = db.session.scalar(select(Conversation))
    assert conversation.needs_human and conversation.bot_paused


def test_birthday_greeting_with_a_template(app, client, redis, sandbox):
    """On the contact's birthday, at 09:00 their time, the birthday template goes out once."""
    automation = install("birthday")
    contact = Contact(
        wa_id="15557000002",
        profile_name="Carla",
        timezone="UTC",
        fields={},
        tags=[],
        birthday=date(1990, 1, 1),
    )
    db.session.add(contact)
    db.session.commit()
    from flowapp.models import utcnow

    now = utcnow().replace(hour=10, minute=0)
    contact.birthday = (
        date(1990, now.month, now.day) if (now.month, now.day) != (2, 29) else date(1992, 2, 29)
    )
    db.session.commit()
    assert triggers.fire_date_triggers(now) == 1
    assert triggers.fire_date_triggers(now + timedelta(minutes=5)) == 0  # once per year
    customer = phone(app, client, redis, sandbox, wa_id="15557000002")
    sent = customer.work()
    assert [b["template"]["name"] for b in sent] == ["birthday_greeting"]
    assert automation.id == db.session.scalar(select(AutomationRun.automation_id))


def test_appointment_reminder_by_broadcast(app, client, redis, sandbox):
    """A manual broadcast sends the reminder template; 'confirm' is thanked and tagged."""
    automation = install("appointment_reminder")
    contact = Contact(
        wa_id="15557000003",
        profile_name="Dana",
        fields={"appointment_date": "2026-12-01", "appointment_time": "10:30"},
        tags=["patients"],
    )
    db.session.add(contact)
    db.session.commit()
    broadcast = broadcasts.create(automation, {"tags": ["patients"]})
    db.session.commit()
    customer = phone(app, client, redis, sandbox, wa_id="15557000003", name="Dana")
    sent = customer.work()
    assert [b["template"]["name"] for b in sent] == ["appointment_reminder"]
    db.session.refresh(broadcast)
    assert (broadcast.status, broadcast.started, broadcast.total) == ("done", 1, 1)
    reply = texts(customer.say(button_reply={"id": "confirm", "title": "Confirm"}))
    assert reply
    assert db.session.scalar(select(AutomationRun.status)) == "completed"
