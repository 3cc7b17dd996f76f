"""Waiting for a reply, optionally checked (number, email, phone, date, regex) with retries."""

from __future__ import annotations

import re
from datetime import datetime

from flowapp.engine.nodes.common import DURATION, VARIABLE, has_timeout, obj, text, timeout_seconds
from flowapp.engine.nodes.messages import rendered
from flowapp.engine.registry import node_type
from flowapp.engine.state import WAIT
from flowapp.engine.text import compile_regex, regex_error
from flowapp.whatsapp.payloads import MAX_TEXT

REPLY_KINDS = ("number", "email", "phone", "date", "regex")
DEFAULT_RETRIES = 2
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]+$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")


def _number(reply: str):
    compact = reply.replace(" ", "")
    if not _NUMBER.match(compact):
        return None
    if compact.lstrip("+-").isdigit():
        return int(compact)
    return float(compact.replace(",", "."))


def _phone(reply: str):
    digits = re.sub(r"\D", "", reply)
    return digits if _PHONE.match(reply) and 7 <= len(digits) <= 15 else None


def _date(reply: str):
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(reply, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def check_reply(kind: str, reply: str, pattern: str | None = None) -> tuple[bool, object]:
    """Whether `reply` passes the check, and the value to save.

    number: "12", "-3", "12.5" or "12,5" -> int or float; email: the address; phone: its digits
    (7 to 15); date: YYYY-MM-DD or day first (DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY) -> ISO date;
    regex: the text, when `pattern` is found in it (ignoring case).
    """
    reply = reply.strip()
    if kind == "number":
        value = _number(reply)
    elif kind == "email":
        value = reply if _EMAIL.match(reply) else None
    elif kind == "phone":
        value = _phone(reply)
    elif kind == "date":
        value = _date(reply)
    elif kind == "regex":
        value = reply if pattern and compile_regex(pattern).search(reply) else None
    else:
        raise ValueError(f"unknown reply check {kind!r}")
    return value is not None, value


def _check(config: dict):
    rule = config.get("validate")
    if isinstance(rule, dict) and rule.get("kind") == "regex":
        problem = regex_error(rule.get("pattern"))
        if problem:
            yield ("error", "validate.pattern", problem)


def _texts(config: dict):
    rule = config.get("validate")
    if isinstance(rule, dict) and isinstance(rule.get("retry_prompt"), str):
        yield ("validate.retry_prompt", rule["retry_prompt"])


def _ports(config: dict) -> list[str]:
    ports = ["reply"]
    if config.get("validate"):
        ports.append("invalid")
    if has_timeout(config):
        ports.append("timeout")
    return ports


def _resume(run, node_id: str, config: dict, event, wait):
    reply = (event.data.get("text") or "").strip()
    rule = config.get("validate")
    if not rule:
        run.vars[config["variable"]] = reply
        return "reply"
    passed, value = check_reply(rule["kind"], reply, rule.get("pattern"))
    if passed:
        run.vars[config["variable"]] = value
        return "reply"
    retries = wait.get("retries", 0)
    run.note(node_id, "invalid_reply", {"text": reply, "check": rule["kind"], "retries": retries})
    if retries >= rule.get("max_retries", DEFAULT_RETRIES):
        return "invalid"
    if rule.get("retry_prompt"):
        prompt = rendered(run, rule["retry_prompt"], "validate.retry_prompt", MAX_TEXT)
        run.send(node_id, {"type": "text", "text": prompt, "preview_url": False})
    run.state.wait = {**wait, "retries": retries + 1}  # same deadline and token: the timeout still runs
    return WAIT


VALIDATE = obj(
    {
        "kind": {"enum": list(REPLY_KINDS)},
        "pattern": text(500),
        "retry_prompt": text(MAX_TEXT),
        "max_retries": {"type": "integer", "minimum": 0, "maximum": 10},
    },
    ("kind",),
)


@node_type(
    "wait_reply",
    ports=_ports,
    resume=_resume,
    label="Wait for reply",
    icon="⏳",
    description="Wait for the customer's answer and save it in a variable",
    category="messages",
    config_schema=obj({"variable": VARIABLE, "validate": VALIDATE, "timeout": DURATION}, ("variable",)),
    required=("variable",),
    default_config={"variable": "answer"},
    waits=True,
    awaits_reply=True,
    summary=lambda config: (
        f"Save the reply as vars.{config.get('variable') or '?'}"
        + (f" ({config['validate'].get('kind')})" if isinstance(config.get("validate"), dict) else "")
    ),
    texts=_texts,
    check=_check,
)
def wait_reply(run, node_id: str, config: dict):
    """Wait for the customer's reply and save it in vars[variable].

    With `validate`, a reply that fails the check gets `retry_prompt` and another chance, up to
    `max_retries` (default 2) times; then the run takes "invalid". Saved values: a number for
    number, the digits for phone, an ISO date for date, the text otherwise. Ports: reply, invalid
    (with validate), timeout (with timeout).

        {"id": "ask_email", "type": "wait_reply",
         "config": {"variable": "email", "timeout": "1d",
                    "validate": {"kind": "email", "max_retries": 2,
                                 "retry_prompt": "That does not look like an email address. Try again?"}}}
    """
    return run.wait(node_id, "reply", seconds=timeout_seconds(config))
