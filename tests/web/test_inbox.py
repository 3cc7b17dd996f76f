"""The inbox pages: login and CSRF on every route, filters, search and pages, ETag/304 polls,
escaping of customer content, and the side panel's actions."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from flowapp.extensions import db, get_queue
from flowapp.models import AutomationRun, Contact, Conversation, ConversationRead, Message, utcnow
from flowapp.services import inbox_thread
from tests import factories
from tests.helpers import customer_message, deliver
from tests.services.test_runner import MENU, publish

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_TEXT = "<script>alert('hi')</script> and <b>bold</b>"

GET_ROUTES = [
    "/inbox/",
    "/inbox/list",
    "/inbox/c/1",
    "/inbox/c/1/thread",
    "/inbox/c/1/panel",
    "/inbox/c/1/contact",
    "/inbox/c/1/composer",
    "/inbox/c/1/template-form",
    "/inbox/c/1/template-preview",
    "/inbox/canned",
    "/inbox/canned/suggestions?q=/h",
    "/inbox/media/1",
    "/inbox/media/1/info",
]
POST_ROUTES = [
    "/inbox/c/1/read",
    "/inbox/c/1/assign",
    "/inbox/c/1/labels",
    "/inbox/c/1/labels/remove",
    "/inbox/c/1/status",
    "/inbox/c/1/takeover",
    "/inbox/c/1/handback",
    "/inbox/c/1/runs/1/pause",
    "/inbox/c/1/contact",
    "/inbox/c/1/read-receipts",
    "/inbox/c/1/messages",
    "/inbox/c/1/media",
    "/inbox/c/1/template",
    "/inbox/canned",
    "/inbox/canned/1/delete",
]


def say(sender="15551230001", text="hi", name="Ana", **extra) -> Message:
    deliver(customer_message(sender=sender, text=text, name=name, **extra))
    return db.session.scalar(select(Message).where(Message.direction == "in").order_by(Message.id.desc()))


def conversation_of(wa_id="15551230001") -> Conversation:
    return db.session.scalar(select(Conversation).join(Conversation.contact).where(Contact.wa_id == wa_id))


def token(client) -> str:
    return factories.csrf_token(client, "/inbox/")


def post(client, path, data=None, **kwargs):
    """An HTMX POST as the page makes it (CSRF token in the header)."""
    headers = {"X-CSRFToken": token(client), "HX-Request": "true"}
    return client.post(path, data=data or {}, headers=headers, **kwargs)


def poll_etag(html: str, element_id: str) -> str:
    """The If-None-Match a polled fragment will send, read from its hx-headers."""
    match = re.search(rf'id="{element_id}"[^>]*?hx-headers=\'([^\']+)\'', html, re.S)
    assert match, f"no hx-headers on #{element_id}"
    return json.loads(match.group(1))["If-None-Match"]


@pytest.mark.parametrize("path", GET_ROUTES)
def test_every_page_needs_login(client, path):
    """Logged out, every inbox URL sends to the login page."""
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", POST_ROUTES)
def test_every_action_needs_login(client, path):
    """Logged out, every action is refused (HTMX gets a 401 that navigates to the login page)."""
    response = client.post(path, headers={"HX-Request": "true"})
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


@pytest.mark.parametrize("path", POST_ROUTES)
def test_every_action_needs_the_csrf_token(logged_in, path):
    """Logged in but without the CSRF token, every action is refused before it runs."""
    say()
    response = logged_in.post(path, data={"label": "x", "text": "hi"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_list_page_shows_conversations_newest_first(logged_in):
    """The page lists name, number, preview, state and the unread badge, newest first."""
    say(sender="15551230001", text="first", name="Ana")
    say(sender="15551230002", text="second", name="Bruno")
    html = logged_in.get("/inbox/").get_data(as_text=True)
    assert re.findall(r'class="conv-name">([^<]+)<', html) == ["Bruno", "Ana"]
    assert "+15551230002" in html and "second" in html
    assert 'class="unread-badge"' in html and 'class="state state-open"' in html
    assert 'id="nav-unread"' in html


def test_filters_and_search_from_the_query_string(logged_in, admin):
    """Filters and search narrow the list; the fragment answers the filter form too."""
    say(sender="15551230001", text="parcel lost", name="Ana")
    say(sender="15551230002", text="hello", name="Bruno")
    conversation_of("15551230002").assignee_id = admin.id
    db.session.commit()
    mine = logged_in.get("/inbox/list?assignee=mine").get_data(as_text=True)
    assert "Bruno" in mine and "Ana" not in mine
    found = logged_in.get("/inbox/list?q=parcel&nav=1")
    assert "Ana" in found.get_data(as_text=True) and "Bruno" not in found.get_data(as_text=True)
    assert found.headers["HX-Replace-Url"] == "/inbox/?q=parcel"
    closed = logged_in.get("/inbox/?status=closed").get_data(as_text=True)
    assert "No conversation matches." in closed


def test_older_page_link(logged_in):
    """More than a page of conversations offers "Older conversations" with a keyset cursor."""
    start = utcnow() - timedelta(days=1)
    for n in range(55):
        contact = factories.make_contact(wa_id=f"1555000{n:04d}", profile_name=f"Customer {n:02d}")
        factories.make_conversation(contact, last_message_at=start + timedelta(minutes=n))
    db.session.commit()
    html = logged_in.get("/inbox/").get_data(as_text=True)
    older = re.search(r'class="older" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    second = logged_in.get(older).get_data(as_text=True)
    assert "Customer 04" in second and "Customer 54" not in second and "Newest" in second


def test_list_poll_is_304_until_something_changes(logged_in):
    """The page's embedded ETag makes the first poll a 304; a new message makes it a 200."""
    say(text="hello")
    page = logged_in.get("/inbox/").get_data(as_text=True)
    etag = poll_etag(page, "conversation-list")
    unchanged = logged_in.get("/inbox/list", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    assert unchanged.headers["Cache-Control"] == "no-store"
    say(sender="15551230009", text="news", name="Carla")
    changed = logged_in.get("/inbox/list", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Carla" in changed.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in changed.get_data(as_text=True)  # the navigation badge follows
    assert changed.headers["ETag"] != etag


def test_thread_panel_and_composer_polls_are_304_until_changes(logged_in, admin):
    """Each polled fragment of a conversation answers 304 while nothing it shows changed."""
    say(text="hello")
    conversation = conversation_of()
    page = logged_in.get(f"/inbox/c/{conversation.id}").get_data(as_text=True)
    urls = {
        "thread-recent": re.search(r'id="thread-recent"[^>]*hx-get="([^"]+)"', page).group(1),
        "inbox-panel": f"/inbox/c/{conversation.id}/panel",
        "composer": f"/inbox/c/{conversation.id}/composer",
        "inbox-contact": f"/inbox/c/{conversation.id}/contact",
    }
    etags = {name: poll_etag(page, name) for name in urls}
    for name, url in urls.items():
        assert logged_in.get(url, headers={"If-None-Match": etags[name]}).status_code == 304, name
    say(text="more")
    assert (
        logged_in.get(urls["thread-recent"], headers={"If-None-Match": etags["thread-recent"]}).status_code
        == 200
    )
    post(logged_in, f"/inbox/c/{conversation.id}/takeover")
    assert (
        logged_in.get(urls["inbox-panel"], headers={"If-None-Match": etags["inbox-panel"]}).status_code == 200
    )
    conversation_of().contact.last_inbound_at = utcnow() - timedelta(hours=30)
    db.session.commit()
    assert logged_in.get(urls["composer"], headers={"If-None-Match": etags["composer"]}).status_code == 200


def test_customer_content_is_escaped_everywhere(logged_in):
    """Names and messages with markup appear as text in the list, the thread and the panel."""
    say(text=XSS_TEXT, name=XSS_NAME)
    say(text='see https://evil.test/a"onmouseover="alert(1) and javascript:alert(2)', name=XSS_NAME)
    conversation = conversation_of()
    pages = [
        logged_in.get("/inbox/").get_data(as_text=True),
        logged_in.get(f"/inbox/c/{conversation.id}").get_data(as_text=True),
        logged_in.get(f"/inbox/c/{conversation.id}/thread").get_data(as_text=True),
        logged_in.get(f"/inbox/c/{conversation.id}/contact").get_data(as_text=True),
        logged_in.get("/inbox/?q=script").get_data(as_text=True),
    ]
    for html in pages:
        assert "<img src=x" not in html and "<script>alert" not in html and "<b>bold" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0]
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in pages[1]
    links = re.findall(r"<a href=\"(https://evil[^\"]*)\"([^>]*)>", pages[1])
    assert links == [("https://evil.test/a", ' rel="noopener noreferrer" target="_blank"')]
    assert 'href="javascript' not in pages[1]


def test_mark_read_drops_the_readers_count(logged_in, admin):
    """Opening a conversation posts its read position; the unread badge of that user goes."""
    message = say(text="hello")
    conversation = conversation_of()
    page = logged_in.get(f"/inbox/c/{conversation.id}").get_data(as_text=True)
    assert f"hx-vals='{{\"upto\": {message.id}}}'" in page
    response = post(logged_in, f"/inbox/c/{conversation.id}/read", {"upto": message.id})
    assert response.status_code == 204 and response.headers["HX-Trigger"] == "inbox-read"
    assert db.session.get(ConversationRead, (conversation.id, admin.id)).last_read_message_id == message.id
    assert "unread-badge" not in logged_in.get("/inbox/list").get_data(as_text=True)
    assert 'class="mark-read"' not in logged_in.get(f"/inbox/c/{conversation.id}/thread").get_data(
        as_text=True
    )


def test_mark_read_queues_the_read_receipt_when_enabled(logged_in, redis):
    """With read receipts on, the first read of a customer's message queues its receipt as it commits."""
    inbox_thread.set_read_receipts(True)
    message = say(text="hello")
    response = post(logged_in, f"/inbox/c/{conversation_of().id}/read", {"upto": message.id})
    assert response.status_code == 204
    assert get_queue("default").job_ids == [f"read-receipt-{message.id}"]


def test_panel_actions_assign_label_close(logged_in, admin):
    """Assignment, labels and closing answer the fresh panel and tell the page to refresh."""
    say(text="hello")
    conversation = conversation_of()
    base = f"/inbox/c/{conversation.id}"
    response = post(logged_in, f"{base}/assign", {"assignee": "me"})
    assert response.headers["HX-Trigger"] == "inbox-changed"
    assert conversation_of().assignee_id == admin.id
    html = post(logged_in, f"{base}/labels", {"label": "vip"}).get_data(as_text=True)
    assert 'aria-label="Remove label vip"' in html
    assert "vip" in logged_in.get("/inbox/list?label=vip").get_data(as_text=True)
    refused = post(logged_in, f"{base}/labels", {"label": "<script>"}).get_data(as_text=True)
    assert "A label is 1 to 40" in refused and "<script>" not in refused
    post(logged_in, f"{base}/labels/remove", {"label": "vip"})
    assert conversation_of().labels == []
    post(logged_in, f"{base}/status", {"status": "closed"})
    assert conversation_of().status == "closed"
    assert post(logged_in, f"{base}/assign", {"assignee": "nobody-at-all"}).status_code == 400


def test_take_over_and_hand_back_from_the_panel(logged_in, redis):
    """The panel's buttons pause and resume the contact's waiting run; the state follows."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)
    say(text="menu")
    conversation = conversation_of()
    base = f"/inbox/c/{conversation.id}"
    panel = logged_in.get(f"{base}/panel").get_data(as_text=True)
    assert 'data-state="bot"' in panel and "Take over" in panel and "Trace in the editor" in panel
    run = db.session.scalar(select(AutomationRun))
    assert f"/automations/{run.automation_id}/edit?run={run.id}" in panel
    panel = post(logged_in, f"{base}/takeover").get_data(as_text=True)
    assert "Hand back to the bot" in panel and db.session.get(AutomationRun, run.id).paused
    panel = post(logged_in, f"{base}/handback").get_data(as_text=True)
    assert "Take over" in panel and not db.session.get(AutomationRun, run.id).paused
    thread = logged_in.get(f"{base}/thread").get_data(as_text=True)
    assert "Automation “Menu” started" in thread and "paused by" in thread and "resumed by" in thread
    post(logged_in, f"{base}/runs/{run.id}/pause")
    assert db.session.get(AutomationRun, run.id).paused
    post(logged_in, f"{base}/runs/{run.id}/end")
    assert db.session.get(AutomationRun, run.id).status == "interrupted"
    ended = post(logged_in, f"{base}/runs/{run.id}/resume").get_data(as_text=True)
    assert "The run has ended already." in ended
    assert post(logged_in, f"{base}/runs/{run.id}/explode").status_code == 404


def test_contact_panel_saves_and_reports_errors(logged_in):
    """The contact form saves fields and tags; a bad birthday is reported with its field."""
    say(text="hello")
    conversation = conversation_of()
    url = f"/inbox/c/{conversation.id}/contact"
    data = {
        "display_name": "Ana Lima",
        "birthday": "1990-04-21",
        "tags": "vip, new",
        "field_key": ["city", ""],
        "field_value": ["Porto", ""],
        "opted_out": "1",
    }
    html = post(logged_in, url, data).get_data(as_text=True)
    assert "Saved." in html
    contact = conversation_of().contact
    assert contact.display_name == "Ana Lima" and contact.fields == {"city": "Porto"}
    assert contact.tags == ["vip", "new"] and contact.opted_out
    refused = post(logged_in, url, {**data, "birthday": "soon"}).get_data(as_text=True)
    assert "birthday:" in refused and conversation_of().contact.birthday.isoformat() == "1990-04-21"


def test_contact_panel_has_typed_inputs_for_declared_fields(logged_in):
    """Declared fields show as number, date and select inputs; what is saved is checked and typed."""
    from flowapp.services import contact_fields

    contact_fields.create({"key": "age", "label": "Age", "type": "number"})
    contact_fields.create({"key": "renewal", "label": "Renewal", "type": "date"})
    contact_fields.create({"key": "plan", "label": "Plan", "type": "choice", "choices": ["Gold", "Silver"]})
    say(text="hello")
    conversation = conversation_of()
    html = logged_in.get(f"/inbox/c/{conversation.id}").get_data(as_text=True)
    assert 'id="contact-field-age" name="field_value" type="number"' in html
    assert 'id="contact-field-renewal" name="field_value" type="date"' in html
    assert re.search(r'<select id="contact-field-plan" name="field_value">.*>Silver</option>', html, re.S)
    url = f"/inbox/c/{conversation.id}/contact"
    data = {
        "display_name": "Ana",
        "field_key": ["age", "renewal", "plan"],
        "field_value": ["41", "", "silver"],
    }
    assert "Saved." in post(logged_in, url, data).get_data(as_text=True)
    assert conversation_of().contact.fields == {"age": 41, "plan": "Silver"}
    refused = post(logged_in, url, {**data, "field_value": ["forty", "", "Gold"]}).get_data(as_text=True)
    assert "fields.age: Age: &#39;forty&#39; is not a number" in refused
    assert conversation_of().contact.fields == {"age": 41, "plan": "Silver"}


def test_read_receipts_setting_is_for_admins(client, session, redis):
    """An agent cannot switch read receipts for everyone."""
    agent = factories.make_user(email="agent@example.com", role="agent")
    factories.login(client, agent.email, "correct horse battery")
    say(text="hello")
    response = post(client, f"/inbox/c/{conversation_of().id}/read-receipts", {"enabled": "1"})
    assert response.status_code == 403


def test_nav_badge_on_other_pages(logged_in):
    """The navigation shows the unread conversations on every page."""
    say(sender="15551230001")
    say(sender="15551230002")
    html = logged_in.get("/settings/").get_data(as_text=True)
    assert re.search(r'id="nav-unread"[^>]*>2</span>', html, re.S)


def test_unknown_conversation_is_404(logged_in):
    """An id that does not exist is a 404 page."""
    assert logged_in.get("/inbox/c/999999").status_code == 404
    assert logged_in.get("/inbox/c/999999/thread").status_code == 404


def test_a_reply_taken_by_a_waiting_run_is_explained_with_the_fix_offered(logged_in, redis):
    """The thread and the run's trace say which automation took "help" and which keyword it beat;
    the button there lets that keyword interrupt, and comes back to the conversation."""
    publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "exact"}, MENU)
    helper = publish(
        "Help desk",
        {"type": "keyword", "keywords": ["help"], "match": "exact"},
        {
            "spec_version": 2,
            "nodes": [{"id": "start", "type": "start", "config": {}}],
            "edges": [],
        },
    )
    deliver(customer_message(text="menu"))
    deliver(customer_message(text="help"))
    conversation = conversation_of()
    page = logged_in.get(f"/inbox/c/{conversation.id}").get_data(as_text=True)
    assert "“help” went to “Menu”, which was waiting for this contact" in page
    assert "“Help desk” also matched but does not interrupt" in page
    assert f'action="/automations/{helper.id}/interrupts"' in page

    run = db.session.scalar(select(AutomationRun).where(AutomationRun.automation_id != helper.id))
    trace = logged_in.get(f"/automations/{run.automation_id}/runs/{run.id}").get_data(as_text=True)
    assert "“Help desk” also matched" in trace and f"/automations/{helper.id}/interrupts" in trace

    back = post(logged_in, f"/automations/{helper.id}/interrupts", {"next": f"/inbox/c/{conversation.id}"})
    assert back.status_code == 302 and back.headers["Location"] == f"/inbox/c/{conversation.id}"
    db.session.expire_all()
    assert db.session.get(type(helper), helper.id).published_version.trigger["interrupts"] is True
    elsewhere = post(logged_in, f"/automations/{helper.id}/interrupts", {"next": "https://evil.example/"})
    assert elsewhere.headers["Location"] == "/"  # never off the site
