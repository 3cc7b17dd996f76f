"""The /_mock control API: configuration, faults, what was sent, statistics, and playing a customer.

No authentication: the mock binds to 127.0.0.1 and this API is for tests, benchmarks and
Flowapp's phone simulator. Errors answer {"error": "..."} (not Meta's envelope: this is not Meta).
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from flowapp.sandbox.faults import parse_rule
from flowapp.sandbox.media import SEEDED_IMAGE_ID
from flowapp.sandbox.webhooks import post_once, signed_request
from flowapp.sandbox.wsgi_io import Request, Response, json_response
from flowapp.whatsapp.simulate import inbound_payload

if TYPE_CHECKING:
    from flowapp.sandbox.app import MockGraphAPI

# metadata.phone_number_id of inbound webhooks when the config names no phone number: the id Flowapp
# itself uses in sandbox mode (PHONE_NUMBER_ID unset).
DEFAULT_PHONE_NUMBER_ID = "sandbox"


class ControlError(Exception):
    """A bad control request: answered 400 with the message."""


def handle(app: MockGraphAPI, request: Request) -> Response:
    """Answer a /_mock/... request."""
    handler = ROUTES.get((request.method, request.path.rstrip("/")))
    if handler is None:
        return json_response(404, {"error": f"no control endpoint {request.method} {request.path}"})
    try:
        return handler(app, request)
    except (ControlError, ValueError) as error:
        return json_response(400, {"error": str(error)})


def _json_object(request: Request) -> dict:
    data = request.json()
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _int_arg(request: Request, name: str, default: int | None) -> int | None:
    value = request.query.get(name)
    if value in (None, ""):
        return default
    if not value.isdigit():
        raise ControlError(f"{name} must be a non-negative integer")
    return int(value)


def get_config(app: MockGraphAPI, request: Request) -> Response:
    """GET /_mock/config."""
    return json_response(200, app.config.as_dict())


def set_config(app: MockGraphAPI, request: Request) -> Response:
    """POST /_mock/config {"latency_ms": 20, ...}: change settings; answers the whole configuration."""
    app.config.update(_json_object(request))
    return json_response(200, app.config.as_dict())


def add_faults(app: MockGraphAPI, request: Request) -> Response:
    """POST /_mock/faults: one rule object, or a list of them, queued behind those waiting."""
    data = request.json()
    rules = [parse_rule(item) for item in (data if isinstance(data, list) else [data])]
    app.faults.add(rules)
    return json_response(200, {"queued": len(rules), "faults": app.faults.pending()})


def list_faults(app: MockGraphAPI, request: Request) -> Response:
    """GET /_mock/faults: the rules still waiting, with their remaining counts."""
    return json_response(200, {"faults": app.faults.pending()})


def clear_faults(app: MockGraphAPI, request: Request) -> Response:
    """DELETE /_mock/faults."""
    app.faults.clear()
    return json_response(200, {"faults": []})


def messages(app: MockGraphAPI, request: Request) -> Response:
    """GET /_mock/messages?to=<digits>&since=<seq>&limit=<n>: sends accepted, oldest first."""
    to = request.query.get("to") or None
    to = "".join(ch for ch in to if ch.isdigit()) if to else None
    return json_response(
        200, app.ledger.messages(to, _int_arg(request, "since", 0), _int_arg(request, "limit", None))
    )


def reads(app: MockGraphAPI, request: Request) -> Response:
    """GET /_mock/reads?message_id=<wamid>&since=<seq>: mark-as-read requests, oldest first."""
    message_id = request.query.get("message_id") or None
    return json_response(
        200, app.ledger.reads(message_id, _int_arg(request, "since", 0), _int_arg(request, "limit", None))
    )


def stats(app: MockGraphAPI, request: Request) -> Response:
    """GET /_mock/stats: counters, the densest second, and the status webhooks' progress."""
    figures = app.ledger.stats()
    sender = app.statuses
    figures["webhooks"] = {
        "delivered": sender.delivered,
        "dropped": sender.dropped,
        "pending": sender.pending,
    }
    figures["faults_pending"] = len(app.faults.pending())
    return json_response(200, figures)


def reset(app: MockGraphAPI, request: Request) -> Response:
    """POST /_mock/reset: forget messages, reads, faults, statistics and queued statuses; keep config."""
    app.ledger.reset()
    app.faults.clear()
    app.statuses.clear()
    return json_response(200, {"reset": True})


def inbound(app: MockGraphAPI, request: Request) -> Response:
    """POST /_mock/inbound: a customer writes; the signed webhook reaches Flowapp before this answers.

    Body: as flowapp.whatsapp.simulate.inbound_payload takes it: {"from": "<digits>", "name": "..",
    one of text / button_reply / list_reply / button / image / location / reaction, optional
    "context_wamid"}; an image names a media id the mock holds (sandbox-image-1 is seeded).
    """
    config = app.config
    if not (config.webhook_url and config.app_secret):
        raise ControlError("set webhook_url and app_secret first (POST /_mock/config)")
    spec = _json_object(request)
    wa_id = "".join(ch for ch in str(spec.get("from", "")) if ch.isdigit())
    spec["wamid"] = app.new_wamid(wa_id)
    if "image" in spec:
        spec["image"] = _image(app, spec["image"])
    payload = inbound_payload(
        spec,
        phone_number_id=config.phone_number_id or DEFAULT_PHONE_NUMBER_ID,
        display_phone_number=config.display_phone_number,
        waba_id=config.waba_id,
    )
    body, headers = signed_request(payload, config.app_secret)
    app.ledger.inbound(wa_id, time.time())
    try:
        status = post_once(config.webhook_url, body, headers)
    except (OSError, http.client.HTTPException) as error:
        reason = f"the webhook could not be reached: {error!r}"
        return json_response(502, {"wamid": spec["wamid"], "error": reason})
    return json_response(200, {"wamid": spec["wamid"], "webhook_status": status})


def _image(app: MockGraphAPI, image: object) -> dict:
    """The image of an inbound message, with the MIME type and hash of the media it names."""
    if not isinstance(image, dict):
        raise ControlError('image must be an object: {"id": "sandbox-image-1", "caption": "..."}')
    media = app.media.get(str(image.get("id", SEEDED_IMAGE_ID)))
    if media is None:
        raise ControlError(f"unknown media id {image.get('id')!r}: upload it first, or use {SEEDED_IMAGE_ID}")
    # Webhooks carry the base64 SHA-256 (the media endpoint answers it in hex).
    digest = base64.b64encode(hashlib.sha256(media.data).digest()).decode()
    return {"mime_type": media.mime_type, "sha256": digest, **image, "id": media.id}


ROUTES: dict[tuple[str, str], Callable[[MockGraphAPI, Request], Response]] = {
    ("GET", "/_mock/config"): get_config,
    ("POST", "/_mock/config"): set_config,
    ("GET", "/_mock/faults"): list_faults,
    ("POST", "/_mock/faults"): add_faults,
    ("DELETE", "/_mock/faults"): clear_faults,
    ("GET", "/_mock/messages"): messages,
    ("GET", "/_mock/reads"): reads,
    ("GET", "/_mock/stats"): stats,
    ("POST", "/_mock/reset"): reset,
    ("POST", "/_mock/inbound"): inbound,
}
