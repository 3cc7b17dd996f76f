"""The phone simulator: chat as a customer, in sandbox mode only (no WhatsApp account needed)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, render_template, request

from flowapp.services import phone

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

DEFAULT_CUSTOMER = {"wa_id": "15550101234", "name": "Sandbox customer"}


@bp.before_request
def sandbox_only():
    if not current_app.config["SANDBOX"]:
        abort(404)


def _customer() -> dict:
    source = request.form if request.method == "POST" else request.args
    wa_id = re.sub(r"\D", "", source.get("wa_id", "")) or DEFAULT_CUSTOMER["wa_id"]
    if not 7 <= len(wa_id) <= 15:
        abort(400, "The phone number needs 7 to 15 digits, with the country code.")
    name = (source.get("name") or DEFAULT_CUSTOMER["name"]).strip()[:80]
    return {"wa_id": wa_id, "name": name}


@bp.get("/phone")
def phone_page():
    """A phone that writes to this Flowapp as a customer would."""
    customer = _customer()
    return render_template("sandbox/phone.html", customer=customer, **_thread(customer))


@bp.get("/phone/thread")
def thread_fragment():
    """The chat, polled by the page."""
    customer = _customer()
    return render_template("sandbox/_thread.html", customer=customer, **_thread(customer))


@bp.post("/phone/send")
def send():
    """The customer sends text, or taps a button or list row of a business message."""
    customer = _customer()
    spec = {"from": customer["wa_id"], "name": customer["name"]}
    kind = request.form.get("kind", "text")
    if kind == "text":
        text = request.form.get("text", "").strip()
        if not text:
            return render_template(
                "sandbox/_thread.html", customer=customer, error="Type a message first.", **_thread(customer)
            )
        spec["text"] = text[:4096]
    elif kind in ("button_reply", "list_reply"):
        spec[kind] = {"id": request.form.get("reply_id", ""), "title": request.form.get("title", "")}
        spec["context_wamid"] = request.form.get("context_wamid") or None
    else:
        abort(400, "Unknown kind of message.")
    error = None
    try:
        phone.send(spec)
    except phone.PhoneError as exc:
        error = str(exc)
    return render_template("sandbox/_thread.html", customer=customer, error=error, **_thread(customer))


def _thread(customer: dict) -> dict:
    try:
        return {"items": phone.thread(customer["wa_id"]), "thread_error": None}
    except phone.PhoneError as exc:
        return {"items": [], "thread_error": str(exc)}
