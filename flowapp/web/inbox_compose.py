"""The composer: text, media (uploaded or by link) and emoji inside the 24-hour window; approved
templates with their parameters at any time; canned responses by shortcut.

Every send goes through outbound.queue_message (the same checks and RQ pipeline as automations) via
takeover.reply, so an agent's message also takes the conversation over from the bot.
"""

from __future__ import annotations

import re

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from flowapp.extensions import csrf, db
from flowapp.models import Conversation, MessageTemplate
from flowapp.services import inbox, inbox_edits, inbox_thread, media_proxy, takeover
from flowapp.services import templates as templates_service
from flowapp.services.outbound import SendRefused, outside_window_reason, window_closes_at, window_open
from flowapp.web.inbox_common import bp, changed, conditional, etag_for, get_conversation
from flowapp.web.strict_json import large_body
from flowapp.whatsapp.templates import PLACEHOLDER

# A small picker of common emoji (no third-party widget, no CDN).
EMOJI = tuple(
    "😀 😂 😊 😍 😉 😎 🤔 😅 😢 😮 🙏 👍 👎 👋 👏 🙌 💪 🤝 ❤️ 💚 "
    "🎉 🎂 🎁 ✅ ❌ ⚠️ ⏰ 📅 📍 📞 📦 🚚 💳 🛒 ⭐ 🔥 ✨ 😴 🤗 🙂".split()
)
LINK_KINDS = ("image", "document", "video", "audio")
MEDIA_HEADERS = ("IMAGE", "VIDEO", "DOCUMENT")


def composer_poll(conversation: Conversation) -> tuple[str, str]:
    contact = conversation.contact
    templates = [(t.id, t.fetched_at) for t in templates_service.approved()]
    fingerprint = (window_open(contact), window_closes_at(contact), contact.opted_out, templates)
    poll_url = url_for("inbox.composer_fragment", conversation_id=conversation.id)
    return poll_url, etag_for(poll_url, fingerprint)


def composer_context(conversation: Conversation, error: str | None = None, text: str = "") -> dict:
    contact = conversation.contact
    is_open = window_open(contact)
    poll_url, etag = composer_poll(conversation)
    return {
        "conversation": conversation,
        "window_open": is_open,
        "window_reason": None if is_open else outside_window_reason(contact),
        "closes_at": window_closes_at(contact),
        "approved_templates": templates_service.approved(),
        "emoji": EMOJI,
        "link_kinds": LINK_KINDS,
        "compose_error": error,
        "draft_text": text,
        "composer_url": poll_url,
        "composer_etag": etag,
        "max_upload_mb": media_proxy.MAX_UPLOAD_BYTES // (1024 * 1024),
    }


def _composer(conversation, error=None, text=""):
    return render_template("inbox/_composer.html", **composer_context(conversation, error, text))


@bp.get("/c/<int:conversation_id>/composer")
def composer_fragment(conversation_id: int):
    """The composer; re-rendered only when the window opens or closes or templates change."""
    conversation = get_conversation(conversation_id)
    _url, etag = composer_poll(conversation)
    return conditional(etag, lambda: _composer(conversation))


def _send(conversation: Conversation, content: dict, draft: str = ""):
    """Queue the agent's message; answer a fresh composer, or the refusal with the draft kept."""
    try:
        takeover.reply(conversation, current_user, content)
    except SendRefused as exc:
        db.session.rollback()
        return _composer(get_conversation(conversation.id), exc.reason, draft)
    db.session.commit()
    return changed(_composer(conversation))


@bp.post("/c/<int:conversation_id>/messages")
def send_message(conversation_id: int):
    """Send text, or a media file by its public link."""
    conversation = get_conversation(conversation_id)
    text = request.form.get("text", "")
    link = request.form.get("link", "").strip()
    # Only a message of this conversation can be quoted (the field comes from the page).
    quoted = inbox_thread.find_by_wamid(conversation, request.form.get("reply_to"))
    if link:
        kind = request.form.get("kind", "image")
        if kind not in LINK_KINDS:
            return _composer(conversation, "Choose what kind of file the link is.", text)
        content = {"type": kind, "link": link}
        if text.strip() and kind != "audio":
            content["caption"] = text.strip()
    else:
        if not text.strip():
            return _composer(conversation, "Type a message first.", text)
        content = {"type": "text", "text": text, "preview_url": "http" in text}
    if quoted is not None:
        content["reply_to"] = quoted.wamid
    return _send(conversation, content, text)


@csrf.exempt
@bp.post("/c/<int:conversation_id>/media")
@large_body(media_proxy.MAX_UPLOAD_BYTES + 1024 * 1024)
def upload_media(conversation_id: int):
    """Upload a file to Meta (checked against WhatsApp's media rules first), then send it."""
    # Files may be far larger than the app's 3 MB request limit (set for webhooks): the limit is
    # raised for this route only (large_body) before anything reads the body; CSRF is checked here,
    # after that.
    csrf.protect()
    conversation = get_conversation(conversation_id)
    caption = request.form.get("caption", "").strip()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _composer(conversation, "Choose a file to send.", caption)
    if not window_open(conversation.contact):
        return _composer(conversation, outside_window_reason(conversation.contact), caption)
    data = upload.read()
    mime_type = upload.mimetype or "application/octet-stream"
    try:
        kind, media_id = media_proxy.upload(data, mime_type, upload.filename)
    except media_proxy.MediaError as exc:
        return _composer(conversation, exc.reason, caption)
    content = {"type": kind, "media_id": media_id}
    if caption and kind not in ("audio", "sticker"):
        content["caption"] = caption
    if kind == "document":
        content["filename"] = upload.filename[:240]
    try:
        message = takeover.reply(conversation, current_user, content)
    except SendRefused as exc:
        db.session.rollback()
        return _composer(get_conversation(conversation_id), exc.reason, caption)
    upload_info = {"filename": upload.filename[:240], "size": len(data), "mime_type": mime_type}
    message.payload = {**message.payload, "upload": upload_info}
    db.session.commit()
    return changed(_composer(conversation))


def _template_or_none(template_id) -> MessageTemplate | None:
    template = db.session.get(MessageTemplate, template_id) if template_id else None
    return template if template is not None and template.approved else None


def template_fields(template: MessageTemplate) -> list[dict]:
    """The inputs a template needs: header (text or media link), body placeholders, button suffixes."""
    fields = []
    for component in template.components or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER" and template.parameters.get("header"):
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt in MEDIA_HEADERS:
                fields.append({"name": "header_link", "label": f"Header {fmt.lower()} link (https://…)"})
            elif fmt == "TEXT":
                fields += _placeholder_fields("header", component.get("text", ""))
        elif kind == "BODY":
            fields += _placeholder_fields("body", component.get("text", ""))
        elif kind == "BUTTONS":
            for index, button in enumerate(component.get("buttons") or []):
                if template.parameters.get(f"button:{index}"):
                    label = f"Button “{button.get('text', index)}” ({str(button.get('type', '')).lower()})"
                    fields.append({"name": f"button_{index}", "label": label})
    return fields


def _placeholder_fields(component: str, text: str) -> list[dict]:
    names = list(dict.fromkeys(PLACEHOLDER.findall(text or "")))
    return [{"name": f"{component}_{name}", "label": f"{component.title()} {{{{{name}}}}}"} for name in names]


def template_components(template: MessageTemplate, form) -> list[dict]:
    """Meta's send-time components for the template, from the composer's inputs."""
    components = []
    for component in template.components or []:
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER" and template.parameters.get("header"):
            fmt = str(component.get("format", "TEXT")).upper()
            if fmt in MEDIA_HEADERS:
                media = {"type": fmt.lower(), fmt.lower(): {"link": form.get("header_link", "").strip()}}
                components.append({"type": "header", "parameters": [media]})
            elif fmt == "TEXT":
                components.append(
                    {"type": "header", "parameters": _text_parameters("header", component, form)}
                )
        elif kind == "BODY" and template.parameters.get("body"):
            components.append({"type": "body", "parameters": _text_parameters("body", component, form)})
        elif kind == "BUTTONS":
            components += _button_components(template, component, form)
    return components


def _text_parameters(prefix: str, component: dict, form) -> list[dict]:
    parameters = []
    for name in dict.fromkeys(PLACEHOLDER.findall(component.get("text") or "")):
        parameter = {"type": "text", "text": form.get(f"{prefix}_{name}", "").strip()}
        if not name.isdigit():
            parameter["parameter_name"] = name
        parameters.append(parameter)
    return parameters


def _button_components(template: MessageTemplate, component: dict, form) -> list[dict]:
    found = []
    for index, button in enumerate(component.get("buttons") or []):
        if not template.parameters.get(f"button:{index}"):
            continue
        value = form.get(f"button_{index}", "").strip()
        sub_type = str(button.get("type", "")).lower()
        parameter = (
            {"type": "coupon_code", "coupon_code": value}
            if sub_type == "copy_code"
            else {"type": "text", "text": value}
        )
        found.append({"type": "button", "sub_type": sub_type, "index": str(index), "parameters": [parameter]})
    return found


def _preview(template: MessageTemplate, form) -> str:
    """The body as the customer will read it; parameters not typed yet show as their placeholder."""
    values = {}
    for field in template_fields(template):
        placeholder = "{{" + field["name"].split("_", 1)[1] + "}}"
        values[field["name"]] = (form.get(field["name"]) or "").strip() or placeholder
    return templates_service.render_preview(
        template.name, template.language, template_components(template, values)
    )


@bp.get("/c/<int:conversation_id>/template-form")
def template_form(conversation_id: int):
    """The chosen template's parameter inputs and its body as the customer will read it."""
    conversation = get_conversation(conversation_id)
    template = _template_or_none(request.args.get("template", type=int))
    fields = template_fields(template) if template else []
    preview = _preview(template, request.args) if template else ""
    return render_template(
        "inbox/_template_form.html",
        conversation=conversation,
        template=template,
        fields=fields,
        preview=preview,
    )


@bp.get("/c/<int:conversation_id>/template-preview")
def template_preview(conversation_id: int):
    """The body with the parameters typed so far (as the customer will read it)."""
    get_conversation(conversation_id)
    template = _template_or_none(request.args.get("template", type=int))
    return render_template(
        "inbox/_template_preview.html", preview=_preview(template, request.args) if template else ""
    )


@bp.post("/c/<int:conversation_id>/template")
def send_template(conversation_id: int):
    """Send an approved template (allowed outside the 24-hour window)."""
    conversation = get_conversation(conversation_id)
    template = _template_or_none(request.form.get("template", type=int))
    if template is None:
        return _composer(conversation, "Choose an approved template.")
    components = template_components(template, request.form)
    missing = [p for c in components for p in c["parameters"] if not _parameter_value(p)]
    if missing:
        return _composer(conversation, "Fill in every parameter of the template.")
    content = {
        "type": "template",
        "name": template.name,
        "language": template.language,
        "components": components,
    }
    return _send(conversation, content)


def _parameter_value(parameter: dict) -> str:
    kind = parameter.get("type")
    value = parameter.get(kind)
    return value.get("link", "") if isinstance(value, dict) else (value or "")


@bp.get("/canned/suggestions")
def canned_suggestions():
    """Canned responses whose shortcut starts with what follows the "/" typed in the composer."""
    typed = request.args.get("q", "")
    match = re.match(r"^/(\S*)$", typed)
    items = inbox_edits.canned_responses(match.group(1)) if match else []
    return render_template("inbox/_canned_suggestions.html", items=items[:8])


@bp.get("/canned")
def canned():
    """Saved replies: list, add and delete (insert them in the composer with "/" and the shortcut)."""
    return render_template("inbox/canned.html", items=inbox_edits.canned_responses(), error=None, form={})


@bp.post("/canned")
def create_canned():
    try:
        saved = inbox_edits.create_canned(request.form.get("shortcut", ""), request.form.get("text", ""))
    except inbox.InboxError as exc:
        db.session.rollback()
        items = inbox_edits.canned_responses()
        return render_template("inbox/canned.html", items=items, error=exc.reason, form=request.form), 422
    db.session.commit()
    flash(f"Saved /{saved.shortcut}.")
    return redirect(url_for("inbox.canned"))


@bp.post("/canned/<int:canned_id>/delete")
def delete_canned(canned_id: int):
    inbox_edits.delete_canned(canned_id)
    db.session.commit()
    flash("Deleted.")
    return redirect(url_for("inbox.canned"))
