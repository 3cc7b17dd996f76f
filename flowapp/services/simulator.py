"""The editor's simulator: chat with a draft as a test contact, without WhatsApp.

The pure interpreter (engine.start / engine.resume) walks the graph exactly as it does in the
workers; this module plays the host. It keeps the run's state, the simulated contact and the chat
transcript in one Redis key per person and automation, and turns the engine's effects into chat
items instead of messages: nothing is sent to Meta and no message, run or log row is written.

HTTP requests are never made: the transcript shows the request and the person answers it (success
with a JSON body, or failure). AI steps are real: a run waiting for a model call is left "pending"
for the web layer, which makes the call (services/ai_steps.py, recorded and budgeted like any
other), commits its record and hands the answer back with `answer_ai`. Waits with a deadline
(timeouts, delays) can be skipped: the simulator sends the event the scheduler would send, with
the wait's token, at the deadline.
"""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from flowapp import engine
from flowapp.extensions import db
from flowapp.models import MessageTemplate, utcnow
from flowapp.services import contact_fields, settings
from flowapp.services.ai_steps import chat_message

TTL_SECONDS = 6 * 3600
MAX_ITEMS = 300
TEST_CONTACT = {
    "name": "Test contact",
    "wa_id": "15550009999",
    "fields": {},
    "tags": [],
    "birthday": None,
    "opted_out": False,
    "timezone": None,
}
# Log events that become a line in the chat (the rest stay in the step log).
EVENT_TEXT = {
    "log": lambda d: f"Log: {d.get('message', '')}",
    "handoff": lambda d: "Handed off to a person" + (f": {d['reason']}" if d.get("reason") else ""),
    "update_contact": lambda d: "Contact updated: " + ", ".join(sorted(d)),
    "start_run": lambda d: (
        f"Starts automation #{d.get('automation_id')}" + (" and waits for it" if d.get("wait") else "")
    ),
    "stale": lambda d: f"Nothing happens: {d.get('reason', '')}",
    "invalid_reply": lambda d: f"The reply failed the {d.get('check')} check",
    "refused": lambda d: f"HTTP request refused: {d.get('error', '')}",
    "timeout": lambda d: "The wait timed out",
    "random": lambda d: f"Random split: branch {d.get('branch')}",
    "ai": lambda d: f"Asks the AI model ({d.get('purpose', 'ai')})",
    "ai_answer": lambda d: (
        f"The model answered: {d.get('content')}"
        if d.get("content") is not None
        else f"The model call failed: {d.get('error', '')}"
    ),
    "nothing_to_classify": lambda d: "Nothing to classify: the text is empty",
    "answer_cut": lambda d: f"The answer was cut to {d.get('kept')} characters (WhatsApp's limit)",
    "no_passages": lambda d: "The knowledge base has nothing relevant: the unknown port, no model call",
    "nothing_to_answer": lambda d: "No question to answer: the text is empty",
    "send_refused": lambda d: f"Not sent: {d.get('reason', '')}",
    "value_refused": lambda d: f"{d.get('field')}: {d.get('reason')}",
}
FAILURES = ("failed", "template_error", "budget_exceeded")


class SimulatorError(ValueError):
    """The simulator cannot do that now (no run waits for it)."""


def key(user_id: int, automation_id: int) -> str:
    """The Redis key of one person's simulation of one automation."""
    return f"flowapp:simulator:{user_id}:{automation_id}"


def load(redis, session_key: str) -> dict | None:
    """The simulation stored under `session_key`, or None."""
    raw = redis.get(session_key)
    return json.loads(raw) if raw else None


def reset(redis, session_key: str) -> None:
    """Forget the simulation (the panel starts over)."""
    redis.delete(session_key)


def _save(redis, session_key: str, sim: dict) -> dict:
    sim["items"] = sim["items"][-MAX_ITEMS:]
    redis.set(session_key, json.dumps(sim, default=str), ex=TTL_SECONDS)
    return sim


def new_simulation(graph: dict, trigger: dict | None, window_open: bool | None = None) -> dict:
    """A simulation of `graph` that has not started: the window is open for message triggers."""
    trigger = trigger if isinstance(trigger, dict) else {"type": "manual"}
    if window_open is None:
        window_open = trigger.get("type") in ("any_message", "keyword", "new_contact")
    return {
        "graph": graph,
        "trigger": trigger,
        "contact": copy.deepcopy(TEST_CONTACT),
        "state": None,
        "items": [],
        "pending": None,
        "path": [],
        "ports": [],
        "clock": utcnow().isoformat(),
        "window_open": bool(window_open),
        "runs": 0,
    }


def start(
    redis,
    session_key: str,
    graph: dict,
    trigger: dict | None,
    *,
    text: str | None = None,
    window_open: bool | None = None,
) -> dict:
    """Start a new simulated run of `graph` (optionally with the customer's first message)."""
    sim = new_simulation(graph, trigger, window_open)
    sim["opening"] = text  # not a chat item (the panel shows none), but part of the conversation
    _start_run(sim, _message(sim, text) if text else None)
    return _save(redis, session_key, sim)


def _start_run(sim: dict, message: dict | None) -> None:
    trigger = sim["trigger"]
    if message is not None and trigger.get("type") == "keyword":
        if not engine.keyword_matches(trigger, message["text"]):
            _event(sim, None, "This message would not match the keyword trigger; the run starts anyway.")
    sim["runs"] += 1
    sim["path"], sim["ports"], sim["pending"] = [], [], None
    context = _context(sim, message)
    context["trigger"] = {"type": trigger.get("type"), "message": message or {}}
    _apply(sim, engine.start(sim["graph"], context, _now(sim)))


def reply(
    redis, session_key: str, *, text: str = "", reply_id: str | None = None, title: str | None = None
) -> dict:
    """The test contact writes (or taps a button or list row).

    A run that waits for a reply gets it; with no run going, the message starts a new one, as the
    trigger would. A run waiting for something else (a delay, an HTTP result) ignores it.
    """
    sim = load(redis, session_key)
    if sim is None:
        raise SimulatorError("Start the simulator first.")
    shown = title or text
    if not (shown or "").strip():
        raise SimulatorError("Type a message first.")
    message = _message(sim, text or title or "", reply_id)
    sim["items"].append({"type": "customer", "text": shown, "tapped": bool(reply_id)})
    state = sim["state"] or {}
    if state.get("status") != "waiting":
        _start_run(sim, message)
    else:
        _resume(sim, engine.Event("reply", message), message)
    return _save(redis, session_key, sim)


def skip_wait(redis, session_key: str) -> dict:
    """Jump to the deadline of the current wait: a timeout (replies, choices) or a delay's end."""
    sim = _waiting(redis, session_key)
    wait = sim["state"]["wait"]
    if not wait.get("deadline"):
        raise SimulatorError("This wait has no deadline to skip to.")
    kind = "delay_over" if wait.get("kind") == "delay" else "timeout"
    sim["clock"] = max(_now(sim), datetime.fromisoformat(wait["deadline"])).isoformat()
    _event(
        sim, wait.get("node"), "Skipped to the deadline" + (" (delay over)" if kind == "delay_over" else "")
    )
    _resume(sim, engine.Event(kind, {"node": wait["node"], "token": wait["token"]}), None)
    return _save(redis, session_key, sim)


def answer_http(
    redis, session_key: str, *, success: bool, status: int | None = None, body: object = None
) -> dict:
    """Answer the pending HTTP request, as the remote system would have (no request is made)."""
    sim = _waiting(redis, session_key, "http")
    if success:
        data = {"status": status or 200, "json": body, "error": None}
    else:
        data = {"status": status, "json": body, "error": None if status else "simulated failure"}
    label = f"HTTP {data['status']}" if data["status"] else "HTTP request failed"
    _event(sim, sim["state"]["wait"]["node"], f"{label} (answered in the simulator)")
    _resume(sim, engine.Event("http_result", data), None)
    return _save(redis, session_key, sim)


def answer_ai(redis, session_key: str, result: dict) -> dict:
    """Resume the run waiting for a model call with the call's "ai_result" data."""
    sim = _waiting(redis, session_key, "ai")
    # The message the step read stays the message for the nodes after it (an AI step's next one).
    _resume(sim, engine.Event("ai_result", result), sim.get("message"))
    return _save(redis, session_key, sim)


def finish_child(redis, session_key: str, status: str = "completed") -> dict:
    """Tell a run waiting for another automation that it ended with `status`."""
    sim = _waiting(redis, session_key, "run")
    _event(sim, sim["state"]["wait"]["node"], f"The other automation ended: {status}")
    _resume(sim, engine.Event("run_done", {"status": status}), None)
    return _save(redis, session_key, sim)


def transcript(sim: dict) -> list[dict]:
    """The simulated chat as Chat Completions messages (what a Generate step's host adds): the test
    contact's messages as "user", the business's as "assistant"."""
    chat = [chat_message(True, sim["opening"])] if (sim or {}).get("opening") else []
    for item in (sim or {}).get("items") or []:
        if item.get("type") == "customer":
            chat.append(chat_message(True, item.get("text")))
        elif item.get("type") == "business":
            content = item.get("content") or {}
            chat.append(chat_message(False, content.get("text"), content.get("type")))
    return chat


def _waiting(redis, session_key: str, kind: str | None = None) -> dict:
    sim = load(redis, session_key)
    state = (sim or {}).get("state") or {}
    wait = state.get("wait") or {}
    if state.get("status") != "waiting" or (kind and wait.get("kind") != kind):
        raise SimulatorError("The run is not waiting for that.")
    return sim


def _resume(sim: dict, event: engine.Event, message: dict | None) -> None:
    context = _context(sim, message)
    context["trigger"] = {"type": sim["trigger"].get("type")}
    sim["pending"] = None
    _apply(sim, engine.resume(sim["graph"], sim["state"], event, context, _now(sim)))


def _message(sim: dict, text: str, reply_id: str | None = None) -> dict:
    sim["window_open"] = True  # the customer wrote: the 24-hour window is open
    kind = "interactive" if reply_id else "text"
    sim["message"] = {
        "text": text,
        "type": kind,
        "reply_id": reply_id,
        "wamid": f"wamid.sim{len(sim['items'])}",
    }
    return sim["message"]


def _now(sim: dict) -> datetime:
    clock = datetime.fromisoformat(sim["clock"])
    return max(clock, utcnow())


def _context(sim: dict, message: dict | None) -> dict:
    return {
        "contact": sim["contact"],
        "message": message or {},
        "account_timezone": settings.cached("timezone") or "UTC",
        "random": random.random(),
        "window_open": sim["window_open"],
        "allow_private_urls": bool(current_app.config.get("HTTP_ALLOW_PRIVATE")),
        "field_types": contact_fields.declared_for(sim["graph"]),
    }


def _event(sim: dict, node: str | None, text: str, kind: str = "event") -> None:
    sim["items"].append({"type": kind, "node": node, "text": text})


def _apply(sim: dict, result: engine.Result) -> None:
    """Turn one engine result into chat items, contact changes and what the panel offers next."""
    sim["state"] = result.state.to_dict()
    for entry in result.log:
        _log_item(sim, entry)
    for effect in result.effects:
        if effect.kind == "update_contact":
            apply_contact_change(sim["contact"], effect.data)
        elif effect.kind in ("http", "ai"):
            sim["pending"] = {"kind": effect.kind, "node": effect.node, "request": effect.data}
        elif effect.kind == "start_run" and effect.data.get("wait"):
            sim["pending"] = {
                "kind": "run",
                "node": effect.node,
                "automation_id": effect.data["automation_id"],
            }


def _log_item(sim: dict, entry: engine.LogEntry) -> None:
    detail = entry.detail
    if entry.event == "entered":
        sim["path"].append(entry.node)
    elif entry.event == "port":
        sim["ports"].append(f"{entry.node}:{detail.get('port')}")
    elif entry.event == "sent":
        sim["items"].append({"type": "business", "node": entry.node, "content": bubble(detail)})
    elif entry.event in EVENT_TEXT:
        _event(sim, entry.node, EVENT_TEXT[entry.event](detail))
    elif entry.event == "http":
        sim["items"].append({"type": "http", "node": entry.node, "request": detail})
    elif entry.event in FAILURES:
        _event(sim, entry.node, f"The run failed: {detail.get('error', '')}", "error")
    elif entry.event == "completed":
        _event(sim, entry.node, "The run ended" + _reason(detail))


def _reason(detail: dict) -> str:
    reason = detail.get("reason")
    return f" ({reason})" if reason and reason != "end" else ""


def apply_contact_change(contact: dict, change: dict) -> None:
    """Apply an update_contact effect to the simulated contact, as the runner does to the real one."""
    for name in ("name", "birthday", "opted_out"):
        if name in change:
            contact[name] = change[name]
    fields = {**contact.get("fields", {}), **(change.get("fields") or {})}
    contact["fields"] = {name: value for name, value in fields.items() if value is not None}
    removed = set(change.get("remove_tags") or ())
    tags = [tag for tag in contact.get("tags", []) if tag not in removed]
    contact["tags"] = tags + [tag for tag in change.get("add_tags") or () if tag not in tags]


def bubble(content: dict) -> dict:
    """A send effect's content as the chat shows it; templates get their text filled in."""
    if content.get("type") == "template":
        return {**content, "preview": template_preview(content)}
    return content


_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def _fill(text: str, values: list[str]) -> str:
    def value(match: re.Match) -> str:
        index = int(match.group(1)) - 1
        return values[index] if 0 <= index < len(values) else match.group(0)

    return _PLACEHOLDER.sub(value, text or "")


def _parameters(content: dict, kind: str) -> list[str]:
    for component in content.get("components") or []:
        if component.get("type") == kind:
            return [p.get("text", "") for p in component.get("parameters") or [] if p.get("type") == "text"]
    return []


def template_preview(content: dict) -> dict:
    """{"header", "body", "footer", "buttons", "known"}: an approved template filled with the send's
    parameters, as WhatsApp shows it; when the template is not known here, its name and parameters."""
    template = db.session.scalar(
        select(MessageTemplate).where(
            MessageTemplate.name == content.get("name"), MessageTemplate.language == content.get("language")
        )
    )
    body_values = _parameters(content, "body")
    if template is None:
        listed = ", ".join(body_values) if body_values else "no parameters"
        body = f"Template {content.get('name')} ({content.get('language')}): {listed}"
        return {"header": None, "body": body, "footer": None, "buttons": [], "known": False}
    preview = {"header": None, "body": "", "footer": None, "buttons": [], "known": True}
    for component in template.components or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER" and component.get("format", "TEXT").upper() == "TEXT":
            preview["header"] = _fill(component.get("text"), _parameters(content, "header"))
        elif kind == "BODY":
            preview["body"] = _fill(component.get("text"), body_values)
        elif kind == "FOOTER":
            preview["footer"] = component.get("text")
        elif kind == "BUTTONS":
            preview["buttons"] = [button.get("text", "") for button in component.get("buttons") or []]
    return preview
