"""Meta's webhook: GET answers the verification challenge, POST stores what Meta delivered.

The POST checks the signature over the raw bytes before anything is parsed, commits the raw body,
answers 200 and leaves the processing to a worker. It never calls Meta inline.
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from flowapp.extensions import csrf
from flowapp.pipeline import intake
from flowapp.web.errors import error_response
from flowapp.web.security import public
from flowapp.web.strict_json import BadJSON, read_object, takes
from flowapp.whatsapp import signature
from flowapp.whatsapp.simulate import SimulationError, inbound_payload

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logging.getLogger("flowapp.whatsapp.webhook")


@bp.get("/whatsapp")
@public
def verify():
    """Meta's subscription check: echo hub.challenge as text when the verify token matches."""
    expected = current_app.config["WEBHOOK_VERIFY_TOKEN"] or ""
    token = request.args.get("hub.verify_token", "")
    if request.args.get("hub.mode") == "subscribe" and expected and hmac.compare_digest(token, expected):
        challenge = request.args.get("hub.challenge", "")
        return challenge, 200, {"Content-Type": "text/plain; charset=utf-8"}
    log.warning("webhook verification refused (mode=%r)", request.args.get("hub.mode"))
    return "Forbidden", 403, {"Content-Type": "text/plain; charset=utf-8"}


@bp.post("/whatsapp")
@public
@csrf.exempt
def receive():
    """Store a signed delivery from Meta and acknowledge it."""
    header = request.headers.get("X-Hub-Signature-256")
    if not header:
        return error_response(401, "signature_missing", "X-Hub-Signature-256 header is required.")
    body = request.get_data(cache=True)  # the raw bytes, exactly as signed; over 3 MB Flask answers 413
    if not signature.verify(body, header, current_app.config["APP_SECRET"]):
        log.warning("webhook with a wrong signature refused (%d bytes)", len(body))
        return error_response(403, "signature_invalid", "X-Hub-Signature-256 does not match the body.")
    return _store_and_enqueue(body, source="meta")


_REPLY = {"type": "object", "properties": {"id": {"type": "string"}, "title": {"type": "string"}}}


@bp.post("/whatsapp/test")
@takes(
    {
        "type": "object",
        "properties": {
            "object": {"type": "string"},
            "entry": {"type": "array", "items": {"type": "object"}},
            "from": {"type": "string", "maxLength": 32},
            "name": {"type": ["string", "null"], "maxLength": 256},
            "text": {"type": "string", "maxLength": 4096},
            "button_reply": _REPLY,
            "list_reply": _REPLY,
            "button": {
                "type": "object",
                "properties": {"text": {"type": "string"}, "payload": {"type": "string"}},
            },
            "image": {"type": "object"},
            "location": {"type": "object"},
            "reaction": {"type": "object"},
            "context_wamid": {"type": ["string", "null"]},
            "wamid": {"type": ["string", "null"]},
            "timestamp": {"type": ["integer", "string", "null"]},
        },
    }
)
def inject():
    """For a logged-in user: inject a simulated inbound message through the same processing path.

    Accepts either a whole webhook body as Meta sends it, or a short form:
    {"from": "15551234567", "name": "Ana", "text": "hi"} (or "button_reply", "list_reply", "button").
    """
    try:
        data = read_object(request)
    except BadJSON as exc:
        return error_response(400, "invalid_json", str(exc))
    try:
        payload = data if "entry" in data else inbound_payload(data, **business_identity())
    except SimulationError as exc:
        return error_response(422, "invalid_message", str(exc))
    body = json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()
    log.info("user %s injected a test webhook", current_user.id)
    response = _store_and_enqueue(body, source="test")
    response.status_code = 202
    return response


def business_identity() -> dict:
    """This installation's number and account, as they appear in Meta's webhooks."""
    config = current_app.config
    return {
        "phone_number_id": config.get("PHONE_NUMBER_ID") or "sandbox",
        "display_phone_number": config.get("DISPLAY_PHONE_NUMBER") or "15550100000",
        "waba_id": config.get("BUSINESS_ID") or "sandbox",
    }


def _store_and_enqueue(body: bytes, source: str):
    event_id, pending = intake.store(body, source=source)  # committed: stored before acknowledged
    return jsonify(status="received", event_id=event_id, duplicate=event_id is None, pending=pending)
