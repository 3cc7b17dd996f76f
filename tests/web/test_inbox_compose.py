"""The composer and the media proxy through HTTP: the 24-hour rule, templates with parameters,
uploads past the webhook-sized request limit, canned responses, and media only of our messages."""

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from flowapp.extensions import db
from flowapp.models import CannedResponse, Message, MessageTemplate, utcnow
from flowapp.sandbox.media import png_image
from flowapp.whatsapp.templates import count_parameters
from tests.helpers import deliver
from tests.web.test_inbox import conversation_of, say, token
from tests.web.test_inbox import post as htmx_post

ORDER_UPDATE = [{"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}]


@pytest.fixture
def templates(session):
    """Two approved templates and a pending one, as a refresh from Meta stores them."""
    rows = [
        MessageTemplate(name="order_update", language="en_US", status="APPROVED", components=ORDER_UPDATE),
        MessageTemplate(
            name="hello_world",
            language="en_US",
            status="APPROVED",
            components=[
                {"type": "HEADER", "format": "TEXT", "text": "Hello"},
                {"type": "BODY", "text": "Welcome!"},
            ],
        ),
        MessageTemplate(name="welcome_offer", language="en_US", status="PENDING", components=ORDER_UPDATE),
    ]
    for row in rows:
        row.parameters = count_parameters(row.components)
        db.session.add(row)
    db.session.commit()
    return {row.name: row for row in rows}


def post(client, path, data=None):
    """An HTMX POST; multipart bodies are encoded in memory (no temporary file left open)."""
    if not any(isinstance(value, tuple) for value in (data or {}).values()):
        return htmx_post(client, path, data)
    fields = {
        key: FileStorage(io.BytesIO(value[0]), filename=value[1], content_type=value[2])
        if isinstance(value, tuple)
        else str(value)
        for key, value in data.items()
    }
    boundary, body = encode_multipart(fields)
    headers = {"X-CSRFToken": token(client), "HX-Request": "true"}
    return client.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}", headers=headers
    )


def outbound() -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.direction == "out").order_by(Message.id)))


def test_reply_is_queued_and_takes_over(logged_in, admin):
    """Text goes into the send pipeline as the agent's message; the conversation is the agent's now."""
    say(text="hello")
    conversation = conversation_of()
    response = post(logged_in, f"/inbox/c/{conversation.id}/messages", {"text": "Hi! How can I help?"})
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "inbox-changed"
    [message] = outbound()
    assert (message.text, message.status, message.author_type) == ("Hi! How can I help?", "queued", "user")
    assert message.author_user_id == admin.id
    assert conversation_of().bot_paused and conversation_of().assignee_id == admin.id
    thread = logged_in.get(f"/inbox/c/{conversation.id}/thread").get_data(as_text=True)
    assert 'data-status="queued"' in thread and "admin@example.com" in thread


def test_reply_quotes_and_links_media(logged_in):
    """A reply can quote a customer message; a public link sends media with the text as caption."""
    customer = say(text="which size?")
    conversation = conversation_of()
    url = f"/inbox/c/{conversation.id}/messages"
    post(logged_in, url, {"text": "This one", "reply_to": customer.wamid})
    post(logged_in, url, {"text": "Not that", "reply_to": "wamid.of-another-conversation"})
    post(logged_in, url, {"text": "Our catalogue", "link": "https://example.com/c.pdf", "kind": "document"})
    quoted, unquoted, document = outbound()
    assert quoted.reply_to_wamid == customer.wamid and unquoted.reply_to_wamid is None
    assert document.type == "document"
    assert document.payload["request"]["document"] == {
        "link": "https://example.com/c.pdf",
        "caption": "Our catalogue",
    }
    thread = logged_in.get(f"/inbox/c/{conversation.id}/thread").get_data(as_text=True)
    assert '<blockquote class="msg-quote"><strong>Ana</strong> which size?</blockquote>' in thread


def test_empty_and_invalid_messages_are_refused_with_the_draft_kept(logged_in):
    """Nothing is queued for an empty message or a bad link; the composer says why."""
    say(text="hello")
    url = f"/inbox/c/{conversation_of().id}/messages"
    assert "Type a message first." in post(logged_in, url, {"text": "  "}).get_data(as_text=True)
    for link in ("ftp://x", "http://example.com/a.jpg"):  # Meta fetches media over HTTPS only
        html = post(logged_in, url, {"text": "see", "link": link, "kind": "image"}).get_data(as_text=True)
        assert "must be an https:// URL" in html and ">see</textarea>" in html
    assert outbound() == []


def test_outside_the_window_free_text_is_disabled_and_refused(logged_in, templates):
    """After 24 hours the text box is disabled with the reason, and a posted text is refused."""
    say(text="hello")
    conversation = conversation_of()
    conversation.contact.last_inbound_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    page = logged_in.get(f"/inbox/c/{conversation.id}").get_data(as_text=True)
    assert re.search(r'<textarea id="compose-text" rows="2" disabled', page)
    assert "More than 24 hours have passed" in page and '<details class="template-picker" open>' in page
    assert "order_update (en_US)" in page and "welcome_offer" not in page
    refused = post(logged_in, f"/inbox/c/{conversation.id}/messages", {"text": "are you there?"})
    assert "send a template" in refused.get_data(as_text=True).lower()
    assert outbound() == [] and not conversation_of().bot_paused


def test_template_form_preview_and_send(logged_in, templates):
    """Choosing a template shows one input per parameter and a live preview; sending queues it."""
    say(text="hello")
    conversation = conversation_of()
    conversation.contact.last_inbound_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    base = f"/inbox/c/{conversation.id}"
    template = templates["order_update"]
    form = logged_in.get(f"{base}/template-form?template={template.id}").get_data(as_text=True)
    assert re.findall(r'name="(body_\d)"', form) == ["body_1", "body_2"]
    assert "Hi {{1}}, your order {{2}} has shipped." in form
    preview = logged_in.get(f"{base}/template-preview?template={template.id}&body_1=Ana&body_2=<b>A1</b>")
    assert "Hi Ana, your order &lt;b&gt;A1&lt;/b&gt; has shipped." in preview.get_data(as_text=True)
    missing = post(logged_in, f"{base}/template", {"template": template.id, "body_1": "Ana"})
    assert "Fill in every parameter" in missing.get_data(as_text=True) and outbound() == []
    post(logged_in, f"{base}/template", {"template": template.id, "body_1": "Ana", "body_2": "A-17"})
    [message] = outbound()
    assert message.type == "template" and message.text == "Hi Ana, your order A-17 has shipped."
    assert message.payload["request"]["template"]["components"] == [
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-17"}]}
    ]
    pending = post(logged_in, f"{base}/template", {"template": templates["welcome_offer"].id})
    assert "Choose an approved template." in pending.get_data(as_text=True)


def test_upload_goes_to_meta_first_and_may_exceed_the_webhook_limit(logged_in, graph_mock, app):
    """A file is checked, uploaded to Meta and sent by media id; 4 MB passes the 3 MB app limit."""
    say(text="hello")
    conversation = conversation_of()
    url = f"/inbox/c/{conversation.id}/media"
    assert app.config["MAX_CONTENT_LENGTH"] == 3 * 1024 * 1024
    document = b"%PDF-1.4\n" + b"0" * (4 * 1024 * 1024)
    response = post(logged_in, url, {"file": (document, "terms.pdf", "application/pdf"), "caption": "Terms"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    post(logged_in, url, {"file": (png_image(), "photo.png", "image/png")})
    document_message, image = outbound()
    assert document_message.payload["request"]["document"]["id"].startswith("sandbox-")
    assert document_message.payload["upload"] == {
        "filename": "terms.pdf",
        "size": len(document),
        "mime_type": "application/pdf",
    }
    assert image.type == "image" and "id" in image.payload["request"]["image"]
    assert logged_in.get(f"/inbox/media/{image.id}").get_data() == png_image()
    thread = logged_in.get(f"/inbox/c/{conversation.id}/thread").get_data(as_text=True)
    assert "terms.pdf" in thread and "4.0 MB" in thread and f'src="/inbox/media/{image.id}"' in thread


def test_upload_refusals(logged_in, graph_mock):
    """Files WhatsApp refuses, a missing file, or a closed window: nothing is sent."""
    say(text="hello")
    conversation = conversation_of()
    url = f"/inbox/c/{conversation.id}/media"
    html = post(logged_in, url, {"file": (b"GIF89a", "a.gif", "image/gif")}).get_data(as_text=True)
    assert "a document must be one of" in html
    assert "Choose a file" in post(logged_in, url, {}).get_data(as_text=True)
    conversation.contact.last_inbound_at = utcnow() - timedelta(days=2)
    db.session.commit()
    html = post(logged_in, url, {"file": (png_image(), "p.png", "image/png")}).get_data(as_text=True)
    assert "24 hours" in html
    assert outbound() == []


def test_upload_needs_the_csrf_token_even_with_its_own_limit(logged_in):
    """The upload route checks CSRF itself (after raising the size limit)."""
    say(text="hello")
    url = f"/inbox/c/{conversation_of().id}/media"
    upload = FileStorage(io.BytesIO(png_image()), filename="p.png", content_type="image/png")
    boundary, body = encode_multipart({"file": upload})
    response = logged_in.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 400 and outbound() == []


def test_media_proxy_serves_only_our_messages_media(logged_in, graph_mock):
    """Images inline with a sandboxing policy; text messages and unknown ids are 404s."""
    image = say(image={"id": "sandbox-image-1", "caption": "look <b>here</b>"})
    response = logged_in.get(f"/inbox/media/{image.id}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    text = say(text="no media")
    assert logged_in.get(f"/inbox/media/{text.id}").status_code == 404
    assert logged_in.get("/inbox/media/999999").status_code == 404
    thread = logged_in.get(f"/inbox/c/{conversation_of().id}/thread").get_data(as_text=True)
    assert (
        f'<img class="msg-image" src="/inbox/media/{image.id}" alt="look &lt;b&gt;here&lt;/b&gt;"' in thread
    )
    info = logged_in.get(f"/inbox/media/{image.id}/info").get_data(as_text=True)
    assert "image/png" in info and "bytes" in info


def test_documents_are_downloads(logged_in, graph_mock):
    """Anything not an image is served as an attachment, never rendered by the browser."""
    say(text="hello")
    document = say(text="x")
    document.type = "document"
    document.payload = {
        "media": {"id": "sandbox-document-1", "filename": "bill.pdf", "mime_type": "application/pdf"}
    }
    db.session.commit()
    response = logged_in.get(f"/inbox/media/{document.id}")
    assert (
        response.headers["Content-Disposition"].startswith("attachment")
        and "bill.pdf" in response.headers["Content-Disposition"]
    )


def test_thread_renders_each_kind_of_message(logged_in):
    """Locations link to the map with reactions under them, choices show what was tapped,
    unsupported and deleted messages say so."""
    place = say(location={"latitude": 38.7223, "longitude": -9.1393, "name": "Lisbon office"})
    say(reaction={"message_id": place.wamid, "emoji": "👍"})
    say(button_reply={"id": "hours", "title": "Opening hours"})
    unsupported = say(text="x")
    unsupported.type = "unsupported"
    unsupported.error_title = "Message type unknown"
    deleted = say(text="oops")
    deleted.revoked_at = utcnow()
    db.session.commit()
    html = logged_in.get(f"/inbox/c/{conversation_of().id}/thread").get_data(as_text=True)
    assert (
        'href="https://www.openstreetmap.org/?mlat=38.722300&amp;mlon=-9.139300#map=16/38.722300/-9.139300"'
        in html
    )
    assert "Chose <strong>Opening hours</strong>" in html
    reacted = html[html.index(f'id="msg-{place.id}"') :].split("</article>")[0]
    assert '<div class="msg-reactions"><span title="Customer">👍</span></div>' in reacted
    assert "Unsupported message (Message type unknown)" in html
    assert "This message was deleted." in html and ">oops<" not in html


def test_canned_responses_page_and_suggestions(logged_in):
    """Canned responses are managed on their page and suggested after "/" in the composer."""
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', logged_in.get("/inbox/canned").get_data(as_text=True)
    )
    data = {"shortcut": "hours", "text": "We open <9-17>.", "csrf_token": token.group(1)}
    assert logged_in.post("/inbox/canned", data=data).status_code == 302
    again = logged_in.post("/inbox/canned", data=data)
    assert again.status_code == 422 and "exists already" in again.get_data(as_text=True)
    suggestions = logged_in.get("/inbox/canned/suggestions?q=/ho").get_data(as_text=True)
    assert 'data-replace="We open &lt;9-17&gt;."' in suggestions
    assert logged_in.get("/inbox/canned/suggestions?q=hello").get_data(as_text=True).strip() == ""
    canned = db.session.scalar(select(CannedResponse))
    logged_in.post(f"/inbox/canned/{canned.id}/delete", data={"csrf_token": token.group(1)})
    assert db.session.scalar(select(CannedResponse)) is None


def test_meta_samples_render_by_type(logged_in):
    """Real webhook samples (cards, files, stickers, voice notes, reactions, forwards, system and
    unsupported messages) each render as their kind, in one thread."""
    from tests.helpers import sample

    for name in (
        "contacts",
        "document",
        "audio_voice_note",
        "text_frequently_forwarded",
        "reaction",
        "system_user_changed_number",
        "unsupported",
    ):
        payload = sample(name)
        message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
        message["id"] = f"wamid.sample.{name}"  # some samples share ids; each is its own message here
        deliver(payload)
    db.session.commit()
    html = logged_in.get(f"/inbox/c/{conversation_of('972987654321').id}/thread").get_data(as_text=True)
    assert '<div class="msg-card"><strong>Chandler Bing</strong>' in html and "+1 555-555-5555" in html
    assert ">filename.pdf</a>" in html and "Voice message" in html
    assert "Forwarded many times" in html
    assert "Customer reacted 😮 to an earlier message" in html
    assert "User A changed from 972987654321 to 972912345678" in html
    assert "Unsupported message (" in html
