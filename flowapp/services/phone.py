"""The sandbox's phone: playing a customer against the built-in mock of Meta's Graph API.

What the customer types goes to the mock, which posts it to our webhook signed as Meta would, so it
travels the real path. What the business sends is read back from the mock: what Meta "delivered".
"""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from flask import current_app
from sqlalchemy import select

from flowapp import transactions
from flowapp.extensions import db
from flowapp.models import Automation, AutomationLog, AutomationRun, Contact, Conversation, Message

TIMEOUT = 5.0


class PhoneError(RuntimeError):
    """The mock could not be reached or refused the message; the message says which."""


def _mock_url(path: str) -> str:
    return current_app.config["GRAPH_API_URL"] + path


def send(spec: dict) -> dict:
    """Have the customer send a message: {"from", "name", "text" | "button_reply" | "list_reply" ...}."""
    # The mock posts our webhook before it answers: a transaction held here would wait on itself.
    transactions.before_network("the sandbox's mock (inbound)")
    try:
        response = requests.post(_mock_url("/_mock/inbound"), json=spec, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise PhoneError(
            f"The sandbox's mock Graph API does not answer at {_mock_url('')} ({exc})."
        ) from None
    if response.status_code != 200:
        raise PhoneError(response.json().get("error", response.text) if response.content else response.reason)
    return response.json()


def thread(wa_id: str) -> list[dict]:
    """The chat as the customer's phone shows it: their messages and the business's, oldest first."""
    items = [_from_business(m) for m in _business_messages(wa_id)]
    taken = _taken_by_waiting_runs(wa_id)
    items += [{**_from_customer(m), "took": taken.get(m.id)} for m in _customer_messages(wa_id)]
    return sorted(items, key=lambda item: item["at"])


def _taken_by_waiting_runs(wa_id: str) -> dict[int, dict]:
    """{message id: {"name", "detail"}} for the customer's messages that a waiting run took although
    other automations' keywords matched them (runner.TOOK_REPLY), so the phone can say so."""
    rows = db.session.execute(
        select(AutomationLog.detail, Automation.name)
        .join(AutomationRun, AutomationRun.id == AutomationLog.run_id)
        .join(Automation, Automation.id == AutomationRun.automation_id)
        .join(Contact, Contact.id == AutomationRun.contact_id)
        .where(Contact.wa_id == wa_id, AutomationLog.event == "took_reply")
        .order_by(AutomationLog.id.desc())
        .limit(200)
    )
    return {detail["message_id"]: {"name": name, "detail": detail} for detail, name in rows if detail}


def _business_messages(wa_id: str) -> list[dict]:
    transactions.before_network("the sandbox's mock (messages)")
    try:
        response = requests.get(
            _mock_url("/_mock/messages"), params={"to": wa_id, "limit": 200}, timeout=TIMEOUT
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        raise PhoneError(f"The sandbox's mock Graph API does not answer ({exc}).") from None
    return response.json()["messages"]


def _customer_messages(wa_id: str) -> list[Message]:
    query = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Contact, Contact.id == Conversation.contact_id)
        .where(Contact.wa_id == wa_id, Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(200)
    )
    return list(db.session.scalars(query))


def _from_business(record: dict) -> dict:
    body = record["body"]
    kind = body.get("type")
    item = {
        "side": "business",
        "type": kind,
        "wamid": record["wamid"],
        "at": datetime.fromtimestamp(record["at"], UTC),
        "text": None,
        "choices": [],
        "button": None,
    }
    if kind == "text":
        item["text"] = body["text"]["body"]
    elif kind == "interactive":
        interactive = body["interactive"]
        item["text"] = interactive.get("body", {}).get("text")
        if interactive.get("type") == "button":
            item["choices"] = [
                ("button_reply", b["reply"]["id"], b["reply"]["title"], None)
                for b in interactive["action"]["buttons"]
            ]
        elif interactive.get("type") == "list":
            item["button"] = interactive["action"].get("button")
            item["choices"] = [
                ("list_reply", row["id"], row["title"], row.get("description"))
                for section in interactive["action"]["sections"]
                for row in section["rows"]
            ]
    elif kind == "template":
        template = body["template"]
        params = [
            p.get("text", "")
            for c in template.get("components", [])
            if c.get("type") == "body"
            for p in c.get("parameters", [])
        ]
        item["text"] = f"[template {template['name']}] " + " · ".join(params)
    elif kind in ("image", "video", "audio", "document", "sticker"):
        item["text"] = f"[{kind}] " + (body[kind].get("caption") or body[kind].get("filename") or "")
    elif kind == "reaction":
        item["text"] = body["reaction"].get("emoji") or "(reaction removed)"
    else:
        item["text"] = f"[{kind}]"
    return item


def _from_customer(message: Message) -> dict:
    return {
        "side": "customer",
        "type": message.type,
        "wamid": message.wamid,
        "at": message.created_at,
        "text": message.text or f"[{message.type}]",
        "choices": [],
        "button": None,
    }
