"""Meta's signed webhook POSTs, answered below Flask.

Webhook intake is Flowapp's hottest path: Meta posts every message and every status, and a slow or
failed answer makes Meta retry and, after long enough, disable the webhook. Flask's request
machinery (context, routing, hooks, response object) costs more CPU than the work itself: checking
a signature and handing the body to the group-commit writer. So a valid, signed, Content-Length
delivery is stored and answered here, with the same durability (the 200 goes out only after the
commit). Everything else falls through to the Flask view in `webhooks.py`, which gives the 401,
403 and 413 answers, the error shape and the logging: the fast path only ever answers 200.
"""

from __future__ import annotations

import io
import json
import logging

from flask import Flask

from flowapp.pipeline import intake
from flowapp.services import credentials
from flowapp.whatsapp import signature

log = logging.getLogger("flowapp.whatsapp.webhook")

PATH = "/webhooks/whatsapp"


class WebhookFastPath:
    """WSGI middleware: store-and-acknowledge for POST /webhooks/whatsapp, else the wrapped app."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if not self._eligible(environ):
            return self.wsgi_app(environ, start_response)
        length = int(environ["CONTENT_LENGTH"])
        body = environ["wsgi.input"].read(length)
        config = self.app.config
        if len(body) != length or not signature.verify(
            body, environ["HTTP_X_HUB_SIGNATURE_256"], config["APP_SECRET"]
        ):
            environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again and answers
            return self.wsgi_app(environ, start_response)
        try:
            rows = intake.rows_for(body, "meta")
            event_id = intake.writer(self.app).submit(rows)[0]
        except Exception:
            # Not stored: Flask's view tries once more and, failing too, answers 500 so Meta retries.
            log.warning("webhook fast path could not store the body; Flask's view retries", exc_info=True)
            environ["wsgi.input"] = io.BytesIO(body)
            return self.wsgi_app(environ, start_response)
        answer = {
            "status": "received",
            "event_id": event_id,
            "duplicate": event_id is None,
            "pending": event_id is not None and rows[0]["processed_at"] is None,
        }
        payload = json.dumps(answer, separators=(",", ":")).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]

    def _eligible(self, environ) -> bool:
        """A POST to the webhook with a signature and a declared length within the limit, on an app
        that commits webhooks in groups, whose stored credentials were read recently."""
        config = self.app.config
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return False
        if not config.get("INTAKE_GROUP_COMMIT") or not environ.get("HTTP_X_HUB_SIGNATURE_256"):
            return False
        length = environ.get("CONTENT_LENGTH", "")
        if not length.isdigit() or int(length) > config["MAX_CONTENT_LENGTH"]:
            return False
        # Every few seconds one webhook goes through Flask, whose hook re-reads the credentials
        # stored in Settings (a changed app secret applies within REFRESH_SECONDS, as before).
        return not credentials.refresh_due(self.app)
