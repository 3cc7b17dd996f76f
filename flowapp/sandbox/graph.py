"""Meta's endpoints besides sending: the phone number, media and message templates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.formparser import parse_form_data

from flowapp.sandbox import templates
from flowapp.sandbox.errors import GraphError, unknown_object
from flowapp.sandbox.wsgi_io import Request, Response, json_response

if TYPE_CHECKING:
    from flowapp.sandbox.app import MockGraphAPI


def phone_number(app: MockGraphAPI, request: Request, phone_number_id: str) -> Response:
    """GET /{phone-number-id}: the number's profile. Token faults (190) reach it, like sends."""
    app.authorize(request)
    app.apply_fault(app.faults.take(None, token_probe=True))
    app.check_phone_number(phone_number_id, "get")
    return json_response(
        200,
        {
            "id": phone_number_id,
            "display_phone_number": _pretty(app.config.display_phone_number),
            "verified_name": "Flowapp Sandbox",
            "quality_rating": "GREEN",
            "throughput": {"level": "STANDARD"},
        },
    )


def _pretty(digits: str) -> str:
    # "15550100000" -> "+1 555-010-0000", the way Meta shows North American numbers.
    if len(digits) == 11 and digits.startswith("1"):
        return f"+1 {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
    return f"+{digits}"


def media_info(app: MockGraphAPI, request: Request, media_id: str) -> Response:
    """GET /{media-id}: where to download the media (a URL valid for 5 minutes)."""
    app.authorize(request)
    info = app.media.info(media_id, request.base_url)
    if info is None:
        raise _unknown_object(media_id, "get")
    return json_response(200, info)


def media_delete(app: MockGraphAPI, request: Request, media_id: str) -> Response:
    """DELETE /{media-id}."""
    app.authorize(request)
    if not app.media.delete(media_id):
        raise _unknown_object(media_id, "delete")
    return json_response(200, {"success": True})


def _unknown_object(object_id: str, method: str) -> GraphError:
    return GraphError(100, body=unknown_object(object_id, method))


def media_download(app: MockGraphAPI, request: Request, media_id: str) -> Response:
    """GET on a URL from media_info: the bytes, for the holder of the access token only."""
    app.authorize(request)
    media = app.media.download(media_id, request.query.get("token", ""))
    if media is None:
        return json_response(
            404, {"error": "This media URL is unknown or expired: ask GET /{media-id} again."}
        )
    return 200, media.data, [("Content-Type", media.mime_type)]


def media_upload(app: MockGraphAPI, request: Request, phone_number_id: str) -> Response:
    """POST /{phone-number-id}/media, multipart: messaging_product, type, file."""
    app.authorize(request)
    app.check_phone_number(phone_number_id)
    _, form, files = parse_form_data(request.environ)
    try:
        if form.get("messaging_product") != "whatsapp":
            raise GraphError(100, "Param messaging_product must be 'whatsapp'.")
        upload = files.get("file")
        if upload is None:
            raise GraphError(100, "Param file is required.")
        mime_type = form.get("type") or upload.mimetype or "application/octet-stream"
        media = app.media.add(upload.read(), mime_type, upload.filename)
    finally:
        for _, stored in files.items(multi=True):
            stored.close()  # large parts are spooled to temporary files
    return json_response(200, {"id": media.id})


def message_templates(app: MockGraphAPI, request: Request) -> Response:
    """GET /{waba-id}/message_templates?limit=&after=: one page, with `next` while more remain."""
    app.authorize(request)
    return json_response(200, templates.page(request.base_url + request.path, request.query))
