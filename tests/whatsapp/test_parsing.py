"""parse_webhook on batches and on odd shapes Meta may send (real samples: test_parsing_samples.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowapp.whatsapp.parsing import ErrorDetail, MalformedWebhook, parse_webhook
from tests.whatsapp.helpers import envelope, text_message, value


def test_batch_of_entries_changes_messages_and_statuses():
    """Every entry, change, message and status of a batched POST is returned, in order."""
    first = value(
        messages=[text_message("w1", body="one"), text_message("w2", sender="15557654321", body="two")],
        contacts=[{"profile": {"name": "Ana"}, "wa_id": "15551234567"}],
        phone_number_id="PN1",
    )
    second = value(statuses=[{"id": "s1", "status": "sent", "timestamp": "1700000001", "recipient_id": "1"}])
    third = value(
        messages=[text_message("w3")],
        statuses=[
            {"id": "s2", "status": "read", "timestamp": "1700000002", "biz_opaque_callback_data": "run:7"}
        ],
        phone_number_id="PN2",
    )
    payload = envelope(first, second)
    payload["entry"].append(envelope(third)["entry"][0])
    parsed = parse_webhook(payload)
    assert [(m.wamid, m.text, m.phone_number_id) for m in parsed.messages] == [
        ("w1", "one", "PN1"),
        ("w2", "two", "PN1"),
        ("w3", "hi", "PN2"),
    ]
    assert [m.profile_name for m in parsed.messages] == ["Ana", None, None]
    assert [(s.wamid, s.status) for s in parsed.statuses] == [("s1", "sent"), ("s2", "read")]
    assert parsed.statuses[1].biz_opaque_callback_data == "run:7"
    assert parsed.statuses[1].recipient_id is None


def test_unknown_message_type_is_kept_raw():
    """A type Flowapp does not know keeps its name and raw payload, with no text."""
    raw = {
        "from": "15551234567",
        "id": "w1",
        "timestamp": "1700000000",
        "type": "hologram",
        "hologram": {"x": 1},
    }
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert (message.type, message.text, message.data, message.media) == ("hologram", None, None, None)
    assert message.payload == raw


def test_legacy_unknown_type_becomes_unsupported():
    """Older API versions' type "unknown" is filed as "unsupported" with its errors."""
    errors = [{"code": 131051, "title": "Message type unknown"}]
    raw = {"from": "15551234567", "id": "w1", "timestamp": "1700000000", "type": "unknown", "errors": errors}
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert message.type == "unsupported"
    assert message.errors == (ErrorDetail(131051, "Message type unknown", "Message type unknown", ""),)


def test_body_less_message_without_errors_keeps_its_type():
    """A message missing its body but carrying no errors is not relabelled."""
    raw = {"from": "15551234567", "id": "w1", "timestamp": "1700000000", "type": "interactive"}
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert (message.type, message.text, message.reply_id) == ("interactive", None, None)


def test_other_fields_are_ignored_with_a_note():
    """Changes for other webhook fields are skipped and named in `ignored`."""
    payload = envelope({"event": "VERIFIED_ACCOUNT"}, field="account_update")
    parsed = parse_webhook(payload)
    assert parsed.messages == [] and parsed.statuses == []
    assert parsed.ignored == ["entry[0].changes[0]: field account_update"]


def test_missing_pieces_are_tolerated():
    """No contacts, metadata, conversation or pricing: parsing still succeeds."""
    raw_status = {"id": "s1", "status": "delivered", "timestamp": "1700000000"}
    payload = {"entry": [{"changes": [{"field": "messages", "value": {"messages": [text_message("w1")]}}]}]}
    payload["entry"].append({"changes": [{"field": "messages", "value": {"statuses": [raw_status]}}]})
    parsed = parse_webhook(payload)
    assert [(m.wamid, m.profile_name, m.phone_number_id, m.bsuid) for m in parsed.messages] == [
        ("w1", None, "", None)
    ]
    assert [(s.wamid, s.recipient_id, s.errors) for s in parsed.statuses] == [("s1", None, ())]


def test_messages_and_statuses_without_ids_are_skipped_with_notes():
    """A message without id/from or a status without id/status is skipped and noted, the rest kept."""
    no_id = {"from": "15551234567", "timestamp": "1700000000", "type": "text", "text": {"body": "x"}}
    no_from = {"id": "w2", "timestamp": "1700000000", "type": "text", "text": {"body": "x"}}
    parsed = parse_webhook(
        envelope(
            value(
                messages=[no_id, "not an object", no_from, text_message("w3")],
                statuses=[{"status": "sent"}, {"id": "s2"}, {"id": "s3", "status": "sent", "timestamp": "1"}],
            )
        )
    )
    assert [m.wamid for m in parsed.messages] == ["w3"]
    assert [s.wamid for s in parsed.statuses] == ["s3"]
    where = "entry[0].changes[0]"
    assert parsed.ignored == [
        f"{where}.messages[0]: message skipped, it has no id or no from",
        f"{where}.messages[1]: message skipped, it has no id or no from",
        f"{where}.messages[2]: message skipped, it has no id or no from",
        f"{where}.statuses[0]: status skipped, it has no id or no status",
        f"{where}.statuses[1]: status skipped, it has no id or no status",
    ]


def test_bad_timestamp_falls_back_to_now_with_a_note():
    """An unreadable timestamp does not lose the message: it gets the parse time and a note."""
    before = datetime.now(tz=UTC)
    [message] = parse_webhook(envelope(value(messages=[text_message("w1", timestamp="soon")]))).messages
    assert before <= message.timestamp <= datetime.now(tz=UTC)
    assert parse_webhook(envelope(value(messages=[text_message("w1", timestamp="soon")]))).ignored == [
        "entry[0].changes[0].messages[0]: timestamp 'soon' unusable, the time of parsing is used"
    ]


def test_odd_shapes_never_raise():
    """Entries, changes and values of the wrong JSON type are noted, not raised."""
    payload = {
        "entry": [
            "x",
            {"changes": "x"},
            {
                "changes": [
                    "x",
                    {"field": "messages", "value": []},
                    {"field": "messages", "value": {"messages": 3}},
                ]
            },
        ]
    }
    parsed = parse_webhook(payload)
    assert parsed.messages == [] and parsed.statuses == []
    assert parsed.ignored == [
        "entry[0] has no changes list",
        "entry[1] has no changes list",
        "entry[2].changes[0]: field None",
        "entry[2].changes[1]: no value object",
    ]


def test_wrongly_typed_message_parts_never_raise():
    """Bodies, contexts and errors of the wrong JSON type give empty fields, not exceptions."""
    raws = [
        {"from": "1", "id": "a", "timestamp": "1", "type": "text", "text": "plain", "context": "x"},
        {"from": "1", "id": "b", "timestamp": "1", "type": "interactive", "interactive": {"type": 5}},
        {"from": "1", "id": "c", "timestamp": "1", "type": "image", "image": [], "errors": "x"},
        {"from": "1", "id": "d", "timestamp": "1", "type": "nfm", "referral": "x"},
        {"from": "1", "id": "e", "timestamp": "1", "type": "contacts", "contacts": {"no": "list"}},
        {"from": "1", "id": "f", "timestamp": "1", "type": "location", "location": {"name": 5}},
    ]
    parsed = parse_webhook(envelope(value(messages=raws)))
    assert [(m.wamid, m.text, m.media, m.referral) for m in parsed.messages] == [
        ("a", None, None, None),
        ("b", None, None, None),
        ("c", None, None, None),
        ("d", None, None, None),
        ("e", None, None, None),
        ("f", None, None, None),
    ]


def test_nfm_reply_with_non_json_response_keeps_the_string():
    """A Flow reply whose response_json is not JSON keeps the raw string."""
    interactive = {
        "type": "nfm_reply",
        "nfm_reply": {"response_json": "not json", "name": "flow", "body": "Sent"},
    }
    raw = {"from": "1", "id": "w", "timestamp": "1", "type": "interactive", "interactive": interactive}
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert message.data == {"response": "not json", "name": "flow", "body": "Sent"}
    assert message.reply_id is None


def test_bsuid_from_message_when_contacts_lack_it():
    """from_user_id on the message is used as the BSUID when the contact has no user_id."""
    raw = {**text_message("w1"), "from_user_id": "US.42"}
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert message.bsuid == "US.42"


def test_order_with_note_and_single_item():
    """An order summary counts its lines and adds the customer's note."""
    order = {
        "catalog_id": "1",
        "text": "no onions",
        "product_items": [{"product_retailer_id": "A", "quantity": 2}],
    }
    raw = {"from": "1", "id": "w", "timestamp": "1", "type": "order", "order": order}
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert message.text == "Order: 1 item - no onions"


@pytest.mark.parametrize(
    "payload", [None, [], "entry", 3, {}, {"entry": {}}, {"entry": "x"}, {"object": "page"}]
)
def test_not_an_envelope_raises(payload):
    """Anything but an object with an entry list raises MalformedWebhook (a ValueError)."""
    with pytest.raises(MalformedWebhook):
        parse_webhook(payload)
    assert issubclass(MalformedWebhook, ValueError)


def test_empty_entry_list_is_valid_and_empty():
    """An envelope with no entries parses to nothing, without error."""
    parsed = parse_webhook({"object": "whatsapp_business_account", "entry": []})
    assert (parsed.messages, parsed.statuses, parsed.errors, parsed.ignored) == ([], [], [], [])
