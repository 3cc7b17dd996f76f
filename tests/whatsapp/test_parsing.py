"""parse_webhook on every real sample, on batches, and on the odd shapes Meta may send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowapp.whatsapp.parsing import ErrorDetail, MalformedWebhook, parse_webhook
from tests.whatsapp.helpers import envelope, load_sample, sample_names, text_message, value

PYWA = {"wa_id": "972987654321", "profile_name": "Test Name", "bsuid": "US.13491208655302741918"}
PYWA_PN = "1122334455667"
META_PN = "106540352242922"
ORDER = {
    "catalog_id": "354160437058781",
    "text": "",
    "product_items": [
        {"product_retailer_id": "HAMBURGER", "quantity": 3, "item_price": 30, "currency": "ILS"},
        {"product_retailer_id": "FRENCH_FRIES", "quantity": 2, "item_price": 35, "currency": "ILS"},
        {"product_retailer_id": "SODA", "quantity": 2, "item_price": 10, "currency": "ILS"},
    ],
}
EDIT_TARGET = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
LOOKASIDE = (
    "https://lookaside.fbsbx.com/whatsapp_business/attachments/"
    "?mid=65463453&source=webhook&ext=487r9re&hash=heiwchueowbcew-dnedcw"
)

# file -> the expected InboundMessage fields (anything not named has its default, see DEFAULTS)
MESSAGES = {
    "audio.json": dict(
        PYWA, type="audio", wamid="wamid.xyzxyz", ts=1697043509, forwarded=True,
        media={"id": "1234567890987654321", "mime_type": "audio/ogg; codecs=opus",
               "sha256": "E3dxS/PdYZE7ppA3pQ4mpCFaXBJ8pX4SRN/dsfvds/iPGA=", "voice": False},
    ),
    "audio_voice_note.json": dict(
        PYWA, type="audio", wamid="wamid.xyzxyz", ts=1697043473,
        media={"id": "1234567890987654321", "mime_type": "audio/ogg; codecs=opus",
               "sha256": "m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=", "voice": True},
    ),
    "button_reply.json": dict(
        type="interactive", wamid="wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQThBREYwNzc2RDc2QjA1QTIwMgA=",
        wa_id="16505551234", profile_name="Pablo Morales", ts=1714510003, phone_number_id=META_PN,
        text="Change", reply_id="change-button", data={"id": "change-button", "title": "Change"},
        context_wamid="wamid.HBgLMTY0NjcwNDM1OTUVAgARGBJBM0Y4RUU0RUNFQkFDMjYzQUMA",
    ),
    "button_template_quick_reply.json": dict(
        PYWA, type="button", wamid="wamid.xsidjw", ts=1698269027, text="title", reply_id="callback_data",
        data={"payload": "callback_data", "text": "title"}, context_wamid="wamid.xyzxyz==",
    ),
    "contacts.json": dict(PYWA, type="contacts", wamid="wamid.xyzxyz", ts=1697044621,
                          text="Chandler Bing, Monica, Rachel Green"),
    "document.json": dict(
        PYWA, type="document", wamid="wamid.xyzxyz", ts=1697043666, forwarded=True, text="caption",
        media={"id": "1234567890987654321", "mime_type": "application/pdf", "caption": "caption",
               "sha256": "grwfwe/ZPx0wAbdfbdeFUNItPZ0RylL8gGUvdt3YFqc18SY=", "filename": "filename.pdf"},
    ),
    "edit.json": dict(
        type="edit", wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
        wa_id="16505551234", profile_name=None, bsuid=None, ts=1749854575, phone_number_id=META_PN,
        text="Updated image caption", target_wamid=EDIT_TARGET,
    ),
    "errors_value_level.json": dict(
        PYWA, type="unsupported", wamid="wamid.wegrchytvwcggt=", ts=1700505494, errors=(131000,),
        context_wamid="wamid.gvwegfretge==",
    ),
    "image.json": dict(PYWA, type="image", wamid="wamid.xyzxyz", ts=1697043379,
                       media={"id": "65463453", "mime_type": "image/jpeg", "sha256": "4654+8g="}),
    "image_with_url.json": dict(
        PYWA, type="image", wamid="wamid.xyzxyz", ts=1697043379,
        media={"id": "65463453", "mime_type": "image/jpeg", "sha256": "4654+8g=", "url": LOOKASIDE},
    ),
    "list_reply.json": dict(
        type="interactive", wamid="wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQTZDMzFGRUFBQjlDMzIzMzlEQwA=",
        wa_id="16505551234", profile_name="Pablo Morales", ts=1712595443, phone_number_id=META_PN,
        text="Priority Mail Express", reply_id="priority_express",
        data={"id": "priority_express", "title": "Priority Mail Express", "description": "Next Day to 2 Days"},
        context_wamid="wamid.HBgLMTY0NjcwNDM1OTUVAgARGBIwMjg0RkMxOEMyMkNEQUFFRDgA",
    ),
    "location.json": dict(
        PYWA, type="location", wamid="wamid.xyzxyz", ts=1697044557, forwarded=True, text="12.25089, 43.90539",
        data={"latitude": 12.25089, "longitude": 43.90539, "name": None, "address": None, "url": None},
    ),
    "location_named.json": dict(
        PYWA, type="location", wamid="wamid.xyzxyz", ts=1697044557, forwarded=True,
        text="Facebook HQ, 1 Hacker Way, Menlo Park, CA 94025",
        data={"latitude": 37.4611978, "longitude": -122.2164385, "name": "Facebook HQ",
              "address": "1 Hacker Way, Menlo Park, CA 94025",
              "url": "https://maps.google.com/?cid=2000000000000000000"},
    ),
    "nfm_reply_flow.json": dict(
        PYWA, type="interactive", wamid="wamid.wegrchytvwcggt==", ts=1702502473, text="Sent",
        context_wamid="wamid.gvwegfretge==",
        data={"name": "flow", "body": "Sent", "response": {
            "comment_text": "Comment Text", "delivery_rating": "4", "flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.",
            "purchase_rating": "2", "recommend_radio": "0", "cs_rating": "0"}},
    ),
    "order.json": dict(PYWA, type="order", wamid="wamid.xyzxyz", ts=1697044668, text="Order: 3 items", data=ORDER),
    "reaction.json": dict(PYWA, type="reaction", wamid="wamid.xyzxyz", ts=1697044456, text="\U0001f62e",
                          target_wamid="wamid.yzxyzx="),
    "reaction_removed.json": dict(PYWA, type="reaction", wamid="wamid.xyzxyz", ts=1697044456, text="",
                                  target_wamid="wamid.yzxyzx="),
    "referral_ctwa.json": dict(PYWA, type="text", wamid="wamid.ID", ts=1697045000, text="BODY", referral=True),
    "revoke.json": dict(
        type="revoke", wamid="<WHATSAPP_MESSAGE_ID>", wa_id="<WHATSAPP_USER_PHONE_NUMBER>", profile_name=None,
        bsuid=None, ts=1697043223, phone_number_id="<BUSINESS_PHONE_NUMBER_ID>",
        target_wamid="<ORIGINAL_WHATSAPP_MESSAGE_ID>",
    ),
    "sticker.json": dict(
        PYWA, type="sticker", wamid="wamid.xyzxyz", ts=1697043760,
        media={"id": "1234567890987654321", "mime_type": "image/webp",
               "sha256": "OmT4nhjUhCMIPNmj7eeOZeCYjTXkLxoOv85OMCFwSuc=", "animated": False},
    ),
    "sticker_animated.json": dict(
        PYWA, type="sticker", wamid="wamid.xyzxyz", ts=1697043785,
        media={"id": "1234567890987654321", "mime_type": "image/webp",
               "sha256": "HcwyCKrTKXHk0a00ms4HWIA76GY0Du6q4Z/iuwevw=", "animated": True},
    ),
    "system_identity_changed.json": dict(
        type="system", wamid="wamid.xyzxyz", wa_id="972987654321", profile_name="User A", bsuid=None,
        ts=1697044706, text="User identity changed",
        data={"body": "User identity changed", "type": "customer_identity_changed"},
    ),
    "system_user_changed_number.json": dict(
        type="system", wamid="wamid.xyzxyz==", wa_id="972987654321", profile_name=None, bsuid=None,
        ts=1753851315, text="User A changed from 972987654321 to 972912345678",
        data={"body": "User A changed from 972987654321 to 972912345678", "wa_id": "972912345678",
              "type": "user_changed_number"},
    ),
    "text.json": dict(
        type="text", wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=", wa_id="16505551234",
        profile_name="Sheena Nelson", ts=1749416383, phone_number_id=META_PN, text="Does it come in another color?",
    ),
    "text_frequently_forwarded.json": dict(PYWA, type="text", wamid="wamid.xyzxyz", ts=1697044968,
                                           text="text forwarded many times", frequently_forwarded=True),
    "text_reply_context.json": dict(PYWA, type="text", wamid="wamid.xyzxyz", ts=1697044746, text="replied text",
                                    context_wamid="wamid.xyzxyz=="),
    "unsupported.json": dict(PYWA, type="unsupported", wamid="wamid.xyzxyz", ts=1697044706, errors=(131051,)),
    "unsupported_with_type.json": dict(PYWA, type="unsupported", wamid="wamid.xyzxyz", ts=1697044706,
                                       errors=(131051,)),
    "video_forwarded.json": dict(
        PYWA, type="video", wamid="wamid.xyzxyz", ts=1697044362, forwarded=True, text="caption",
        media={"id": "765756756", "mime_type": "video/mp4", "caption": "caption",
               "sha256": "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s03w9Jc="},
    ),
}  # fmt: skip

DEFAULTS = dict(
    phone_number_id=PYWA_PN, text=None, bsuid=None, reply_id=None, target_wamid=None, context_wamid=None,
    forwarded=False, frequently_forwarded=False, media=None, data=None, errors=(), referral=False,
)  # fmt: skip

SENT_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
STATUSES = {
    "status_delivered_cbp.json": ("wamid.xyzxyz", "delivered", 1698266945, "972987654321", (), PYWA_PN),
    "status_failed.json": (
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA", "failed", 1751142888, "16505551234",
        (131049,), META_PN,
    ),
    "status_failed_130472.json": ("wamid.xyzxyz", "failed", 1689380458, "972987654321", (130472,), PYWA_PN),
    "status_played.json": ("wamid.xyzxyz", "played", 1689380458, "972987654321", (), PYWA_PN),
    "status_read_cbp.json": ("wamid.xyzxyz", "read", 1689380458, "972987654321", (), PYWA_PN),
    "status_sent.json": (SENT_WAMID, "sent", 1750030073, "16505551234", (), META_PN),
    "status_sent_v24_minimal.json": (SENT_WAMID, "sent", 1750030073, "16505551234", (), META_PN),
}  # fmt: skip


def test_every_sample_has_an_expectation():
    """The tables below cover all 36 sample files, each exactly once."""
    assert len(sample_names()) == 36
    assert not set(MESSAGES) & set(STATUSES)
    assert sorted([*MESSAGES, *STATUSES]) == sample_names()


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_sample_message(name):
    """Each sample message parses to the expected type, text, ids, media, data and errors."""
    payload = load_sample(name)
    parsed = parse_webhook(payload)
    want = {**DEFAULTS, **MESSAGES[name]}
    assert parsed.statuses == [] and parsed.ignored == []
    assert len(parsed.messages) == 1
    message = parsed.messages[0]
    assert message.payload is payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message.timestamp == datetime.fromtimestamp(want.pop("ts"), tz=UTC)
    assert message.timestamp.tzinfo is UTC
    assert [error.code for error in message.errors] == list(want.pop("errors"))
    assert (message.referral is not None) is want.pop("referral")
    if name == "contacts.json":
        want["data"] = message.payload["contacts"]
    if name == "edit.json":
        want["data"] = {"original_message_id": EDIT_TARGET, "message": message.payload["edit"]["message"]}
    for key, expected in want.items():
        assert getattr(message, key) == expected, key


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_sample_status(name):
    """Each sample status parses to its wamid, status, time, recipient, errors and phone number."""
    payload = load_sample(name)
    parsed = parse_webhook(payload)
    wamid, status, ts, recipient, codes, phone_number_id = STATUSES[name]
    assert parsed.messages == [] and parsed.ignored == [] and parsed.errors == []
    [update] = parsed.statuses
    assert (update.wamid, update.status, update.recipient_id) == (wamid, status, recipient)
    assert update.timestamp == datetime.fromtimestamp(ts, tz=UTC)
    assert tuple(error.code for error in update.errors) == codes
    assert update.phone_number_id == phone_number_id
    assert update.biz_opaque_callback_data is None
    assert update.payload is payload["entry"][0]["changes"][0]["value"]["statuses"][0]


def test_status_error_detail_fields():
    """A failed status's error keeps code, title, message, details and href."""
    [update] = parse_webhook(load_sample("status_failed.json")).statuses
    assert update.errors == (
        ErrorDetail(
            code=131049,
            title="This message was not delivered to maintain healthy ecosystem engagement.",
            message="This message was not delivered to maintain healthy ecosystem engagement.",
            details="In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
            href="/documentation/business-messaging/whatsapp/support/error-codes",
        ),
    )


def test_value_level_errors_are_reported_and_attached():
    """value.errors[] appear in ParsedWebhook.errors and on the body-less message they explain."""
    parsed = parse_webhook(load_sample("errors_value_level.json"))
    expected = ErrorDetail(131000, "Something went wrong", "Something went wrong", "Unsupported webhook payload")
    assert parsed.errors == [expected]
    assert parsed.messages[0].errors == (expected,)


def test_referral_is_kept_whole():
    """A click-to-WhatsApp referral is passed on as Meta sent it."""
    [message] = parse_webhook(load_sample("referral_ctwa.json")).messages
    assert message.referral["ctwa_clid"] == "CTWA_CLID"
    assert message.referral["source_type"] == "ad or post"


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
        statuses=[{"id": "s2", "status": "read", "timestamp": "1700000002", "biz_opaque_callback_data": "run:7"}],
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
    raw = {"from": "15551234567", "id": "w1", "timestamp": "1700000000", "type": "hologram", "hologram": {"x": 1}}
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
            {"changes": ["x", {"field": "messages", "value": []}, {"field": "messages", "value": {"messages": 3}}]},
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
    interactive = {"type": "nfm_reply", "nfm_reply": {"response_json": "not json", "name": "flow", "body": "Sent"}}
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
    order = {"catalog_id": "1", "text": "no onions", "product_items": [{"product_retailer_id": "A", "quantity": 2}]}
    raw = {"from": "1", "id": "w", "timestamp": "1", "type": "order", "order": order}
    [message] = parse_webhook(envelope(value(messages=[raw]))).messages
    assert message.text == "Order: 1 item - no onions"


@pytest.mark.parametrize("payload", [None, [], "entry", 3, {}, {"entry": {}}, {"entry": "x"}, {"object": "page"}])
def test_not_an_envelope_raises(payload):
    """Anything but an object with an entry list raises MalformedWebhook (a ValueError)."""
    with pytest.raises(MalformedWebhook):
        parse_webhook(payload)
    assert issubclass(MalformedWebhook, ValueError)


def test_empty_entry_list_is_valid_and_empty():
    """An envelope with no entries parses to nothing, without error."""
    parsed = parse_webhook({"object": "whatsapp_business_account", "entry": []})
    assert (parsed.messages, parsed.statuses, parsed.errors, parsed.ignored) == ([], [], [], [])
