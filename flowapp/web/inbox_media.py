"""The media proxy: customers' images inline in the thread, other files as downloads, and their sizes.

Routes take a message id, never a media id: only media that a stored message names can be fetched
(see services/media_proxy.py).
"""

from __future__ import annotations

import io

from flask import abort, render_template, send_file

from flowapp.extensions import db
from flowapp.models import Message
from flowapp.services import media_proxy
from flowapp.web.inbox_common import bp

# The bytes are the customer's: whatever they claim to be, the browser must not run them.
SANDBOX_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _message(message_id: int) -> Message:
    message = db.session.get(Message, message_id)
    if message is None:
        abort(404, "No such message.")
    return message


@bp.get("/media/<int:message_id>")
def media(message_id: int):
    """The message's media: images inline, anything else as a download."""
    message = _message(message_id)
    try:
        found = media_proxy.fetch(message)
    except media_proxy.MediaError as exc:
        abort(exc.status, exc.reason)
    response = send_file(
        io.BytesIO(found.content),
        mimetype=found.mime_type,
        as_attachment=not found.inline,
        download_name=found.filename or f"message-{message_id}",
        max_age=300,
    )
    response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/media/<int:message_id>/info")
def media_info(message_id: int):
    """A file's type and size, loaded once its row scrolls into view."""
    try:
        info = media_proxy.info(_message(message_id))
    except media_proxy.MediaError as exc:
        return render_template("inbox/_media_info.html", info=None, error=exc.reason)
    return render_template("inbox/_media_info.html", info=info, error=None)
