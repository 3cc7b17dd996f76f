"""POST /{version}/{phone-number-id}/messages: the hot path of the mock.

Checks run in Meta's order: token, phone number, body, queued faults, contract, limits, template,
customer-service window. A request gets as far as it can and fails with the first problem.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from flowapp.sandbox.errors import GraphError
from flowapp.sandbox.payloads import pricing_for
from flowapp.sandbox.templates import check_template_send
from flowapp.sandbox.webhooks import StatusEvent
from flowapp.sandbox.wsgi_io import JSON_TYPE, Request, Response
from flowapp.whatsapp.contract import validate_send_body

if TYPE_CHECKING:
    from flowapp.sandbox.app import MockGraphAPI

TEXT_LIMIT = 4096
LIST_ROWS_LIMIT = 10  # across all sections; the schema can only bound each section's rows
WINDOW_SECONDS = 24 * 3600
MAX_DETAILS = 3
READ_OK = b'{"success":true}'


def handle_send(app: MockGraphAPI, request: Request, phone_number_id: str) -> Response:
    """Answer a send (or mark-as-read) request as Meta would, and record what was accepted."""
    arrived = time.time()
    app.authorize(request)
    app.check_phone_number(phone_number_id)
    try:
        body = json.loads(request.body())
    except ValueError:
        raise GraphError(100, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise GraphError(100, "The request body must be a JSON object.")
    if body.get("status") == "read" and "type" not in body:
        return _mark_read(app, body, arrived)
    to = body.get("to")
    digits = _digits(to)
    app.apply_fault(app.faults.take(digits))
    config = app.config
    if config.latency_ms:
        app.pause(config.latency_ms / 1000.0)
    kind = _check_body(body, config.validate)
    category = check_template_send(body.get("template"))["category"] if kind == "template" else None
    if config.enforce_window and kind != "template":
        _check_window(app, digits, arrived)
    wamid = app.new_wamid(digits)
    app.ledger.accept(wamid, digits, kind, body, arrived, config.record)
    if config.statuses and config.webhook_url and config.app_secret:
        _schedule_statuses(app, wamid, digits, kind, category, body, phone_number_id)
    message = {"id": wamid, "message_status": "accepted"} if kind == "template" else {"id": wamid}
    answer = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": digits}],
        "messages": [message],
    }
    return 200, json.dumps(answer, separators=(",", ":")).encode(), [JSON_TYPE]


def _check_window(app: MockGraphAPI, wa_id: str, now: float) -> None:
    # Free-form messages need the customer to have written within 24 hours; templates do not.
    last = app.ledger.last_inbound(wa_id)
    if last is None or now - last > WINDOW_SECONDS:
        raise GraphError(131047)


def _digits(to: object) -> str:
    if not isinstance(to, str):
        return ""
    bare = to[1:] if to.startswith("+") else to
    return bare if bare.isdigit() else "".join(ch for ch in to if ch.isdigit())


def _mark_read(app: MockGraphAPI, body: dict, arrived: float) -> Response:
    if app.config.validate:
        _raise_invalid(validate_send_body(body))
    if app.config.latency_ms:
        app.pause(app.config.latency_ms / 1000.0)
    app.ledger.read(str(body.get("message_id")), "typing_indicator" in body, arrived)
    return 200, READ_OK, [JSON_TYPE]


def _check_body(body: dict, validate: bool) -> str:
    """The message type, once the body passed the contract and the documented limits."""
    kind = body.get("type")
    _check_limits(kind, body)
    if validate:
        _raise_invalid(validate_send_body(body))
    elif not isinstance(body.get("to"), str) or not isinstance(kind, str):
        raise GraphError(100, "Params 'to' and 'type' are required.")
    if not _digits(body.get("to")):
        raise GraphError(100, "Param to must be a phone number.")
    return kind  # type: ignore[return-value]


def _check_limits(kind: object, body: dict) -> None:
    # Documented limits the spec does not encode (CLOUD_API.md section 6).
    content = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(content, dict):
        return
    if kind == "text" and isinstance(content.get("body"), str) and len(content["body"]) > TEXT_LIMIT:
        raise GraphError(100, f"Param text['body'] must be at most {TEXT_LIMIT} characters long.")
    if kind == "interactive" and content.get("type") == "list":
        action = content.get("action")
        sections = action.get("sections") if isinstance(action, dict) else None
        if not isinstance(sections, list):
            return
        rows = sum(
            len(s["rows"]) for s in sections if isinstance(s, dict) and isinstance(s.get("rows"), list)
        )
        if rows > LIST_ROWS_LIMIT:
            raise GraphError(100, f"A list message can have at most {LIST_ROWS_LIMIT} rows in all.")


def _raise_invalid(errors: list[str]) -> None:
    if errors:
        # The schema also reports the branch as a whole ("$: ..."); the precise problems come first.
        errors = sorted(errors, key=lambda error: error.startswith("$: "))
        raise GraphError(100, "; ".join(errors[:MAX_DETAILS]))


def _schedule_statuses(
    app: MockGraphAPI, wamid: str, to: str, kind: str, category: str | None, body: dict, phone_number_id: str
) -> None:
    config = app.config
    callback = body.get("biz_opaque_callback_data")
    callback = callback if isinstance(callback, str) else None
    phone = config.phone_number_id or phone_number_id
    sent = StatusEvent(wamid, "sent", to, phone, pricing_for(category), callback)
    events = [(config.sent_delay, sent)]
    if kind != "reaction":  # Meta sends only `sent` for a reaction
        delivered = max(config.sent_delay, config.delivered_delay)
        events.append((delivered, sent._replace(status="delivered", pricing=None)))
        events.append((max(delivered, config.read_delay), sent._replace(status="read", pricing=None)))
    app.statuses.schedule(events)
