"""The inbox service: listing, filters, search, keyset pages, unread counts, reading, threads, labels,
contacts and canned responses."""

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from flowapp import work
from flowapp.extensions import db, get_queue
from flowapp.models import Contact, Conversation, ConversationRead, Message, utcnow
from flowapp.services import inbox, inbox_edits, inbox_thread, statuses, takeover
from flowapp.whatsapp.parsing import parse_webhook
from tests import factories
from tests.helpers import customer_message, status_payload
from tests.helpers import deliver as pipeline_deliver
from tests.services.test_runner import MENU, publish


def deliver(payload: dict) -> None:
    """Store and process a webhook body, as the intake and the processor job do."""
    pipeline_deliver(payload)


def say(sender="15551230001", text="hi", name="Ana", **extra) -> Message:
    deliver(customer_message(sender=sender, text=text, name=name, **extra))
    return db.session.scalar(select(Message).where(Message.direction == "in").order_by(Message.id.desc()))


def conversation_of(wa_id: str) -> Conversation:
    return db.session.scalar(select(Conversation).join(Conversation.contact).where(Contact.wa_id == wa_id))


def make_many(count: int, *, start=None) -> list[Conversation]:
    """`count` conversations with one message each, a minute apart (two share each minute's time)."""
    start = start or utcnow() - timedelta(days=2)
    made = []
    for n in range(count):
        contact = factories.make_contact(wa_id=f"1555000{n:04d}", profile_name=f"Customer {n}")
        conversation = factories.make_conversation(
            contact, last_message_at=start + timedelta(minutes=n // 2), last_message_preview=f"message {n}"
        )
        made.append(conversation)
    db.session.flush()
    return made


@pytest.fixture
def menu_automation(session, redis):
    return publish("Menu", {"type": "keyword", "keywords": ["menu"], "match": "first_word"}, MENU)


@pytest.fixture
def agent(session):
    return factories.make_user(email="agent@example.com", created_at=utcnow() - timedelta(days=30))


@pytest.fixture
def other(session):
    return factories.make_user(email="other@example.com", created_at=utcnow() - timedelta(days=30))


def listed(filters: inbox.Filters, user) -> list[int]:
    return [row.conversation.id for row in inbox.list_conversations(filters, user).rows]


def test_list_is_newest_first_with_keyset_pages(agent):
    """Pages of 50 follow each other by (time, id) without gaps or repeats, ties included."""
    made = make_many(120)
    expected = [c.id for c in sorted(made, key=lambda c: (c.last_message_at, c.id), reverse=True)]
    seen, cursor = [], None
    while True:
        page = inbox.list_conversations(inbox.Filters(before=cursor), agent)
        seen += [row.conversation.id for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = inbox.decode_cursor(page.next_cursor)
    assert seen == expected
    assert len(inbox.list_conversations(inbox.Filters(), agent).rows) == inbox.PAGE_SIZE


def test_cursor_round_trip_and_garbage():
    """A cursor decodes to its time and id; anything else is ignored."""
    conversation = Conversation(id=7, last_message_at=utcnow())
    at, conversation_id = inbox.decode_cursor(inbox.encode_cursor(conversation))
    assert conversation_id == 7 and abs((at - conversation.last_message_at).total_seconds()) < 1e-5
    assert inbox.decode_cursor("1; DROP TABLE") is None


def test_filters_status_assignee_needs_label(agent, other):
    """Each filter keeps exactly the conversations it names."""
    open_one, closed, needs, mine, theirs, labelled = make_many(6)
    closed.status = "closed"
    needs.needs_human = True
    mine.assignee_id = agent.id
    theirs.assignee_id = other.id
    labelled.labels = ["vip", "billing"]
    db.session.flush()
    everyone = {c.id for c in (open_one, needs, mine, theirs, labelled)}
    assert set(listed(inbox.Filters(), agent)) == everyone
    assert listed(inbox.Filters(status="closed"), agent) == [closed.id]
    assert set(listed(inbox.Filters(status="all"), agent)) == everyone | {closed.id}
    assert listed(inbox.Filters(needs=True), agent) == [needs.id]
    assert listed(inbox.Filters(assignee="mine"), agent) == [mine.id]
    assert set(listed(inbox.Filters(assignee="unassigned"), agent)) == everyone - {mine.id, theirs.id}
    assert listed(inbox.Filters(label="vip"), agent) == [labelled.id]
    assert listed(inbox.Filters(label="vi"), agent) == []


def test_bot_and_open_filters_follow_active_runs(agent, menu_automation):
    """A conversation whose contact has an active run is "bot" until a person takes over."""
    say(sender="15551230001", text="menu")
    say(sender="15551230002", text="hello")
    bot = conversation_of("15551230001")
    person = conversation_of("15551230002")
    assert listed(inbox.Filters(status="bot"), agent) == [bot.id]
    assert listed(inbox.Filters(status="open"), agent) == [person.id]
    assert inbox.conversation_state(bot) == "bot"
    takeover.take_over(bot, agent)
    db.session.commit()
    assert listed(inbox.Filters(status="bot"), agent) == []
    assert inbox.conversation_state(bot) == "open"


def test_search_by_name_number_and_message_text(agent):
    """Search finds names (either name), numbers (digits in any format) and message text."""
    say(sender="15551230001", text="Where is my parcel?", name="Ana Lima")
    say(sender="15551239999", text="hello", name="Bruno")
    ana, bruno = conversation_of("15551230001"), conversation_of("15551239999")
    ana.contact.display_name = "Ana (VIP)"
    db.session.flush()
    assert listed(inbox.Filters(q="lima"), agent) == [ana.id]
    assert listed(inbox.Filters(q="vip"), agent) == [ana.id]
    assert listed(inbox.Filters(q="+1 555 123 9999"), agent) == [bruno.id]
    assert listed(inbox.Filters(q="PARCEL"), agent) == [ana.id]
    assert set(listed(inbox.Filters(q="1555123"), agent)) == {ana.id, bruno.id}
    assert listed(inbox.Filters(q="nothing like it"), agent) == []


def test_search_escapes_wildcards_and_needs_three_letters_for_text(agent):
    """'%' is a character, not a wildcard; short queries search names only, with a notice."""
    say(text="100% sure", name="Ana")
    say(sender="15551230002", text="no percent here", name="Bruno")
    assert listed(inbox.Filters(q="00%"), agent) == [conversation_of("15551230001").id]
    assert listed(inbox.Filters(q="%%%"), agent) == []
    page = inbox.list_conversations(inbox.Filters(q="su"), agent)
    assert page.rows == [] and "3 characters" in page.notice


def test_unread_counts_are_per_user(agent, other):
    """Reading moves only the reader's count; reactions do not count as unread."""
    first = say(text="one")
    say(text="two")
    say(reaction={"message_id": first.wamid, "emoji": "👍"})
    conversation = conversation_of("15551230001")
    assert inbox.unread_counts(agent, [conversation]) == {conversation.id: 2}
    latest = db.session.scalar(select(Message).where(Message.type == "text").order_by(Message.id.desc()))
    inbox_thread.mark_read(conversation, agent, latest.id)
    db.session.commit()
    assert inbox.unread_counts(agent, [conversation]) == {}
    assert inbox.unread_counts(other, [conversation]) == {conversation.id: 2}
    assert conversation.unread_count == 0
    say(text="three")
    assert inbox.unread_counts(agent, [conversation]) == {conversation.id: 1}


def test_history_before_an_account_is_not_unread(session):
    """A user created today does not see last month's messages as unread."""
    message = say(text="old")
    message.created_at = utcnow() - timedelta(days=40)
    db.session.flush()
    newcomer = factories.make_user(email="new@example.com")
    assert inbox.unread_counts(newcomer, [conversation_of("15551230001")]) == {}


def test_badge_counts_mine_and_unassigned_conversations(agent, other):
    """The navigation badge counts open conversations with unread messages, mine or nobody's."""
    say(sender="15551230001")
    say(sender="15551230002")
    say(sender="15551230003")
    theirs = conversation_of("15551230003")
    theirs.assignee_id = other.id
    closed = conversation_of("15551230002")
    closed.status = "closed"
    db.session.flush()
    assert inbox.unread_conversations(agent) == 1
    assert inbox.unread_conversations(other) == 2
    mine = conversation_of("15551230001")
    inbox_thread.mark_read(mine, agent, mine.last_inbound_message_id)
    assert inbox.unread_conversations(agent) == 0


def test_mark_read_ignores_other_conversations_messages(agent):
    """A read position is always a message of the conversation itself."""
    say(sender="15551230001")
    other_message = say(sender="15551230002")
    first = conversation_of("15551230001")
    inbox_thread.mark_read(first, agent, other_message.id)
    row = db.session.get(ConversationRead, (first.id, agent.id))
    assert row.last_read_message_id == first.last_inbound_message_id


def test_read_receipt_queued_once_when_enabled(agent, other, redis, graph_mock):
    """With receipts on, the first reader of a message gets one receipt job to enqueue after commit;
    the job marks the message read at Meta."""
    import requests

    message = say(text="hello")
    conversation = conversation_of("15551230001")
    assert inbox_thread.mark_read(conversation, agent, message.id) is None  # off by default
    inbox_thread.set_read_receipts(True)
    second = say(text="again")
    receipt = inbox_thread.mark_read(conversation, agent, second.id)
    assert inbox_thread.mark_read(conversation, other, second.id) is None  # someone read it already
    work.after_commit(receipt)
    db.session.commit()
    assert get_queue("default").job_ids == [f"read-receipt-{second.id}"]
    assert get_queue("default").fetch_job(f"read-receipt-{second.id}").perform() == "marked"
    reads = requests.get(f"{graph_mock.url}/_mock/reads", timeout=5).json()["reads"]
    assert [read["message_id"] for read in reads] == [second.wamid]


def test_send_read_receipt_marks_the_message_read_at_meta(session, graph_mock):
    """The job's service call reaches Meta's mark-as-read with the message's wamid."""
    import requests

    message = say(text="hello")
    assert inbox_thread.send_read_receipt(message.id) == "marked"
    reads = requests.get(f"{graph_mock.url}/_mock/reads", timeout=5).json()
    assert [r["message_id"] for r in reads["reads"]] == [message.wamid]
    assert inbox_thread.send_read_receipt(999999) == "nothing to mark"


def test_thread_pages_and_anchor(agent):
    """The latest page, then earlier pages; `since` keeps everything from the anchor on."""
    conversation = factories.make_conversation(factories.make_contact(), last_message_at=utcnow())
    base = utcnow() - timedelta(hours=3)
    for n in range(70):
        db.session.add(
            Message(
                conversation=conversation,
                direction="in",
                text=f"m{n}",
                created_at=base + timedelta(minutes=n),
            )
        )
    db.session.flush()
    latest = inbox_thread.load_thread(conversation)
    assert [m.text for m in latest.messages] == [f"m{n}" for n in range(20, 70)]
    assert latest.has_earlier
    earlier = inbox_thread.load_thread(conversation, before=latest.messages[0])
    assert [m.text for m in earlier.messages] == [f"m{n}" for n in range(20)] and not earlier.has_earlier
    db.session.add(Message(conversation=conversation, direction="in", text="new", created_at=utcnow()))
    db.session.flush()
    grown = inbox_thread.load_thread(conversation, since=latest.messages[0])
    assert [m.text for m in grown.messages][-2:] == ["m69", "new"] and len(grown.messages) == 51


def test_thread_hides_amendments_and_finds_quotes(agent):
    """Edits and revokes change their target instead of adding rows; quoted messages are found."""
    original = say(text="first version")
    deliver(_edit(original.wamid, "second version"))
    reply = say(text="about that", context_wamid=original.wamid)
    thread = inbox_thread.load_thread(conversation_of("15551230001"))
    assert [m.text for m in thread.messages] == ["second version", "about that"]
    assert thread.messages[0].edited_at is not None
    assert thread.quoted[reply.reply_to_wamid].id == original.id


def _edit(wamid: str, text: str) -> dict:
    payload = customer_message(text="x")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.pop("text")
    message.update(
        {
            "type": "edit",
            "edit": {"original_message_id": wamid, "message": {"type": "text", "text": {"body": text}}},
        }
    )
    message["id"] = "wamid.edit-1"
    return payload


def test_fingerprints_move_with_changes(agent):
    """The list's and the thread's fingerprints change with new messages, statuses and reads."""
    inbound_message = say(text="hello")
    conversation = conversation_of("15551230001")
    list_before = inbox.list_fingerprint(agent)
    thread_before = inbox_thread.thread_fingerprint(conversation, None)
    assert (
        inbox.list_fingerprint(agent) == list_before
        and inbox_thread.thread_fingerprint(conversation, None) == thread_before
    )
    outgoing = takeover.reply(conversation, agent, {"type": "text", "text": "hi there"})
    db.session.commit()
    after_reply = inbox_thread.thread_fingerprint(conversation, None)
    assert after_reply != thread_before
    outgoing.wamid = "wamid.out-1"
    db.session.flush()
    statuses.apply_batch(parse_webhook(status_payload("wamid.out-1", "delivered")).statuses, [])
    db.session.flush()
    assert inbox_thread.thread_fingerprint(conversation, None) != after_reply
    listed_now = inbox.list_fingerprint(agent)
    inbox_thread.mark_read(conversation, agent, inbound_message.id)
    db.session.commit()
    assert inbox.list_fingerprint(agent) != listed_now


def test_labels_are_validated_and_remembered(agent):
    """Labels are trimmed, checked, kept unique, and listed for the filter."""
    conversation = factories.make_conversation(factories.make_contact())
    assert inbox_edits.add_label(conversation, "  vip  ") == "vip"
    inbox_edits.add_label(conversation, "vip")
    inbox_edits.add_label(conversation, "billing")
    assert conversation.labels == ["vip", "billing"]
    assert inbox_edits.known_labels() == ["billing", "vip"]
    with pytest.raises(inbox.InboxError):
        inbox_edits.add_label(conversation, "<b>")
    inbox_edits.remove_label(conversation, "vip")
    assert conversation.labels == ["billing"]


def test_contact_panel_updates_fields_tags_and_flags(agent):
    """Fields are added and removed, tags parsed, a bad birthday refused with its field."""
    contact = factories.make_contact(fields={"city": "Porto", "plan": "gold"})
    factories.make_conversation(contact)
    form = {
        "display_name": "Ana L.",
        "birthday": "1990-04-21",
        "timezone": "Europe/Lisbon",
        "tags": "vip, , late payer, vip",
        "fields": {"city": "Lisbon", "plan": "", "": "ignored", "order": "A-1"},
        "opted_out": True,
    }
    inbox_edits.update_contact(contact, form)
    assert contact.display_name == "Ana L." and contact.birthday.isoformat() == "1990-04-21"
    assert contact.fields == {"city": "Lisbon", "order": "A-1"}
    assert contact.tags == ["vip", "late payer"] and contact.opted_out
    with pytest.raises(inbox.InboxError) as refused:
        inbox_edits.update_contact(contact, {**form, "birthday": "21/04/1990"})
    assert refused.value.field == "birthday"


def test_canned_responses(session):
    """Shortcuts are unique and found by prefix (with or without the slash)."""
    inbox_edits.create_canned("/Hours", "We open 9-17.")
    inbox_edits.create_canned("hello", "Hello!")
    assert [c.shortcut for c in inbox_edits.canned_responses("/ho")] == ["hours"]
    assert [c.shortcut for c in inbox_edits.canned_responses()] == ["hello", "hours"]
    with pytest.raises(inbox.InboxError):
        inbox_edits.create_canned("hours", "again")
    with pytest.raises(inbox.InboxError):
        inbox_edits.create_canned("bad shortcut!", "x")
    inbox_edits.delete_canned(inbox_edits.canned_responses("hello")[0].id)
    assert [c.shortcut for c in inbox_edits.canned_responses()] == ["hours"]


def test_text_search_picks_a_plan_by_how_common_the_words_are(agent, monkeypatch):
    """On PostgreSQL, words common in the latest messages walk the newest conversations; rare ones
    go through the trigram index; a plan over its budget is cancelled and the other one answers."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("the plans are PostgreSQL's (SQLite runs one query)")
    from sqlalchemy import func

    say(sender="15551230001", text="the parcel arrived")
    say(sender="15551230002", text="nothing here")
    chatty = factories.make_conversation(
        factories.make_contact(wa_id="15551239999"), last_message_at=utcnow()
    )
    db.session.add_all(Message(conversation=chatty, direction="in", text=f"filler {n}") for n in range(400))
    db.session.flush()
    tried = []
    plans = {"index": inbox._through_index, "walk": inbox._newest_first}

    def spy(name, slow=False):
        def build(base, matches):
            tried.append(name)
            query = plans[name](base, matches)
            return query.where(func.pg_sleep(0.3).is_not(None)) if slow else query

        return build

    monkeypatch.setattr(inbox, "_through_index", spy("index"))
    monkeypatch.setattr(inbox, "_newest_first", spy("walk"))
    assert listed(inbox.Filters(q="parcel"), agent) == [conversation_of("15551230001").id]
    assert listed(inbox.Filters(q="filler"), agent) == [chatty.id]  # in nearly every message: common
    assert tried == ["index", "walk"]
    monkeypatch.setattr(inbox, "_through_index", spy("index", slow=True))
    monkeypatch.setattr(inbox, "TEXT_PLAN_BUDGET_MS", 50)
    assert listed(inbox.Filters(q="parcel"), agent) == [conversation_of("15551230001").id]
    assert tried[2:] == ["index", "walk"]
    assert db.session.execute(text("SHOW statement_timeout")).scalar() == "0"
    assert db.session.execute(text("SHOW enable_seqscan")).scalar() == "on"
