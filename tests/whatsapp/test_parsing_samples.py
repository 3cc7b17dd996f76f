"""parse_webhook on every one of the 36 real webhook samples (table-driven: one row per file)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowapp.whatsapp.parsing import ErrorDetail, parse_webhook
from tests.whatsapp.helpers import load_sample, sample_names

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
        data={"id": "priority_express", "title": "Priority Mail Express",
              "description": "Next Day to 2 Days"},
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
            "comment_text": "Comment Text", "delivery_rating": "4",
            "flow_token": "AQAAAAACS5FpgQ_cAAAAAD0QI3s.",
            "purchase_rating": "2", "recommend_radio": "0", "cs_rating": "0"}},
    ),
    "order.json": dict(PYWA, type="order", wamid="wamid.xyzxyz", ts=1697044668, text="Order: 3 items",
                       data=ORDER),
    "reaction.json": dict(PYWA, type="reaction", wamid="wamid.xyzxyz", ts=1697044456, text="\U0001f62e",
                          target_wamid="wamid.yzxyzx="),
    "reaction_removed.json": dict(PYWA, type="reaction", wamid="wamid.xyzxyz", ts=1697044456, text="",
                                  target_wamid="wamid.yzxyzx="),
    "referral_ctwa.json": dict(PYWA, type="text", wamid="wamid.ID", ts=1697045000, text="BODY",
                               referral=True),
    "revoke.json": dict(
        # Meta's sample has a placeholder in "from": the delivery's only contact is the sender.
        type="revoke", wamid="<WHATSAPP_MESSAGE_ID>", wa_id="972987654321", profile_name="Test Name",
        bsuid="US.13491208655302741918", ts=1697043223, phone_number_id="<BUSINESS_PHONE_NUMBER_ID>",
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
        type="text", wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
        wa_id="16505551234", profile_name="Sheena Nelson", ts=1749416383, phone_number_id=META_PN,
        text="Does it come in another color?",
    ),
    "text_frequently_forwarded.json": dict(PYWA, type="text", wamid="wamid.xyzxyz", ts=1697044968,
                                           text="text forwarded many times", frequently_forwarded=True),
    "text_reply_context.json": dict(PYWA, type="text", wamid="wamid.xyzxyz", ts=1697044746,
                                    text="replied text", context_wamid="wamid.xyzxyz=="),
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
            details=(
                "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
            ),
            href="/documentation/business-messaging/whatsapp/support/error-codes",
        ),
    )


def test_value_level_errors_are_reported_and_attached():
    """value.errors[] appear in ParsedWebhook.errors and on the body-less message they explain."""
    parsed = parse_webhook(load_sample("errors_value_level.json"))
    expected = ErrorDetail(
        131000, "Something went wrong", "Something went wrong", "Unsupported webhook payload"
    )
    assert parsed.errors == [expected]
    assert parsed.messages[0].errors == (expected,)


def test_referral_is_kept_whole():
    """A click-to-WhatsApp referral is passed on as Meta sent it."""
    [message] = parse_webhook(load_sample("referral_ctwa.json")).messages
    assert message.referral["ctwa_clid"] == "CTWA_CLID"
    assert message.referral["source_type"] == "ad or post"
