"""Send bodies: their exact shape, and WhatsApp's limits checked before anything is queued."""

from __future__ import annotations

import pytest

from flowapp.whatsapp import payloads
from flowapp.whatsapp.payloads import LimitError

TO = "+16505551234"
BASE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}


def rows(count: int, prefix: str = "r") -> list[dict]:
    return [{"id": f"{prefix}{i}", "title": f"Row {i}"} for i in range(count)]


def limit_field(call) -> str:
    with pytest.raises(LimitError) as caught:
        call()
    return caught.value.field


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("+1 555-123", "+1555123"), ("15551234", "+15551234"), ("+44 (20) 7946.0958", "+442079460958")],
)
def test_recipient_normalises_to_plus_digits(raw, expected):
    """Spaces, dashes, dots and brackets go; a leading + is always present."""
    assert payloads.recipient(raw) == expected


@pytest.mark.parametrize(
    "raw", ["123456", "1234567890123456", "", "call me", "+1 555 abc 1234", None, 15551234]
)
def test_recipient_rejects_non_numbers(raw):
    """Fewer than 7 or more than 15 digits, letters, or a non-string fail on field "to"."""
    assert limit_field(lambda: payloads.recipient(raw)) == "to"


def test_limit_error_str_and_attributes():
    """LimitError carries field and message, and reads "field: message"."""
    error = LimitError("buttons[2].title", "too long")
    assert (error.field, error.message, str(error)) == (
        "buttons[2].title",
        "too long",
        "buttons[2].title: too long",
    )
    assert isinstance(error, ValueError)


def test_text_with_preview_and_reply():
    """A text body with preview_url and a quoted reply."""
    body = payloads.text("16505551234", "See https://example.com", preview_url=True, reply_to="wamid.A")
    assert body == {
        **BASE,
        "type": "text",
        "text": {"body": "See https://example.com", "preview_url": True},
        "context": {"message_id": "wamid.A"},
    }


def test_text_limits():
    """Empty or over 4096 characters fails on text.body; exactly 4096 passes."""
    assert payloads.text(TO, "x" * 4096)["text"] == {"body": "x" * 4096}
    assert limit_field(lambda: payloads.text(TO, "x" * 4097)) == "text.body"
    assert limit_field(lambda: payloads.text(TO, "")) == "text.body"
    assert limit_field(lambda: payloads.text(TO, "   ")) == "text.body"


def test_length_is_counted_in_characters():
    """Emoji and accents count as Python characters, not bytes."""
    assert payloads.text(TO, "é" * 4096)["text"]["body"] == "é" * 4096
    assert payloads.buttons(TO, "b", [{"id": "1", "title": "😀" * 20}])


def test_template_body():
    """A template with language code and components as given."""
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Pablo"}]}]
    assert payloads.template(TO, "order_update", "en_US", components, reply_to="wamid.B") == {
        **BASE,
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"}, "components": components},
        "context": {"message_id": "wamid.B"},
    }
    assert "components" not in payloads.template(TO, "hello_world", "en_US")["template"]


def test_template_checks():
    """Name and language are required; components must be typed objects."""
    assert limit_field(lambda: payloads.template(TO, "", "en_US")) == "template.name"
    assert limit_field(lambda: payloads.template(TO, "x", "")) == "template.language"
    assert (
        limit_field(lambda: payloads.template(TO, "x", "en", [{"parameters": []}]))
        == "template.components[0]"
    )


def test_buttons_with_text_header_and_footer():
    """Reply buttons with header, body, footer and reply-typed buttons in order."""
    body = payloads.buttons(
        TO,
        "Hi Pablo!",
        [{"id": "change-button", "title": "Change"}, {"id": "cancel-button", "title": "Cancel"}],
        header={"type": "text", "text": "Your order"},
        footer="Lucky Shrub",
    )
    assert body == {
        **BASE,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Your order"},
            "body": {"text": "Hi Pablo!"},
            "footer": {"text": "Lucky Shrub"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "change-button", "title": "Change"}},
                    {"type": "reply", "reply": {"id": "cancel-button", "title": "Cancel"}},
                ]
            },
        },
    }


@pytest.mark.parametrize("kind", ["image", "video", "document"])
def test_buttons_with_media_header(kind):
    """A media header is given by id or by link."""
    by_id = payloads.buttons(
        TO, "b", [{"id": "1", "title": "A"}], header={"type": kind, "id": "2762702990552401"}
    )
    assert by_id["interactive"]["header"] == {"type": kind, kind: {"id": "2762702990552401"}}
    by_link = payloads.buttons(
        TO, "b", [{"id": "1", "title": "A"}], header={"type": kind, "link": "https://x.io/a"}
    )
    assert by_link["interactive"]["header"] == {"type": kind, kind: {"link": "https://x.io/a"}}


def test_button_limits_name_the_field():
    """Each reply-button limit names the exact failing field."""
    ok = [{"id": "a", "title": "A"}]
    three = [*ok, {"id": "b", "title": "B"}]
    cases = [
        ("buttons", lambda: payloads.buttons(TO, "b", [])),
        (
            "buttons",
            lambda: payloads.buttons(TO, "b", [*three, {"id": "c", "title": "C"}, {"id": "d", "title": "D"}]),
        ),
        ("buttons[2].title", lambda: payloads.buttons(TO, "b", [*three, {"id": "c", "title": ""}])),
        ("buttons[1].title", lambda: payloads.buttons(TO, "b", [*ok, {"id": "b", "title": "x" * 21}])),
        ("buttons[1].id", lambda: payloads.buttons(TO, "b", [*ok, {"id": "i" * 257, "title": "B"}])),
        ("buttons[0].id", lambda: payloads.buttons(TO, "b", [{"id": " a", "title": "A"}])),
        ("buttons[0]", lambda: payloads.buttons(TO, "b", ["Yes"])),
        ("body", lambda: payloads.buttons(TO, "x" * 1025, ok)),
        ("body", lambda: payloads.buttons(TO, "", ok)),
        ("footer", lambda: payloads.buttons(TO, "b", ok, footer="f" * 61)),
        ("header.text", lambda: payloads.buttons(TO, "b", ok, header={"type": "text", "text": "h" * 61})),
        ("header.type", lambda: payloads.buttons(TO, "b", ok, header={"type": "audio", "id": "1"})),
        (
            "header",
            lambda: payloads.buttons(TO, "b", ok, header={"type": "image", "id": "1", "link": "https://x"}),
        ),
        ("header.link", lambda: payloads.buttons(TO, "b", ok, header={"type": "image", "link": "ftp://x"})),
    ]
    assert [limit_field(call) for _, call in cases] == [field for field, _ in cases]


def test_button_titles_must_be_unique_ignoring_case():
    """Two buttons titled "Yes" and "yes" are refused on the second one."""
    duplicate = [{"id": "1", "title": "Yes"}, {"id": "2", "title": "yes"}]
    assert limit_field(lambda: payloads.buttons(TO, "b", duplicate)) == "buttons[1].title"
    same_id = [{"id": "1", "title": "Yes"}, {"id": "1", "title": "No"}]
    assert limit_field(lambda: payloads.buttons(TO, "b", same_id)) == "buttons[1].id"


def test_button_limits_at_the_edge_pass():
    """Exactly 3 buttons, 20-character titles, 256-character ids, 1024-character body are fine."""
    items = [{"id": str(i) * 256, "title": str(i) * 20} for i in range(3)]
    body = payloads.buttons(TO, "x" * 1024, items, footer="f" * 60, header={"type": "text", "text": "h" * 60})
    assert len(body["interactive"]["action"]["buttons"]) == 3


def test_list_message_shape():
    """A list with header, footer, button label, titled sections and row descriptions."""
    sections = [
        {"title": "ASAP", "rows": [{"id": "express", "title": "Express", "description": "Next day"}]},
        {"title": "Later", "rows": [{"id": "ground", "title": "Ground"}]},
    ]
    body = payloads.list_message(TO, "Which option?", "Options", sections, header="Shipping", footer="Shrub")
    assert body == {
        **BASE,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "header": {"type": "text", "text": "Shipping"},
            "body": {"text": "Which option?"},
            "footer": {"text": "Shrub"},
            "action": {
                "button": "Options",
                "sections": [
                    {
                        "title": "ASAP",
                        "rows": [{"id": "express", "title": "Express", "description": "Next day"}],
                    },
                    {"title": "Later", "rows": [{"id": "ground", "title": "Ground"}]},
                ],
            },
        },
    }


def test_single_section_needs_no_title():
    """One section may be untitled."""
    body = payloads.list_message(TO, "b", "Pick", [{"rows": rows(2)}])
    assert body["interactive"]["action"]["sections"] == [{"rows": rows(2)}]


def test_list_limits_name_the_field():
    """Each list limit names the exact failing field."""
    a = {"title": "A", "rows": rows(2, "a")}

    def pick(sections, body="b", button="Pick", **kwargs):
        return lambda: payloads.list_message(TO, body, button, sections, **kwargs)

    cases = [
        ("sections", pick([])),
        ("sections", pick([{"title": f"S{i}", "rows": rows(1, f"s{i}")} for i in range(11)])),
        ("sections[1].rows", pick([a, {"title": "t", "rows": []}])),
        ("sections[0].rows[3].description", pick([{"rows": [*rows(3), {"id": "x", "title": "X",
                                                                        "description": "d" * 73}]}])),
        ("sections[1].title", pick([a, {"rows": rows(1, "c")}])),
        ("sections[0].title", pick([{"title": "t" * 25, "rows": rows(1)}])),
        ("sections[1].rows[0].id", pick([a, {"title": "C", "rows": rows(1, "a")}])),
        ("sections[0].rows[0].title", pick([{"rows": [{"id": "1", "title": "t" * 25}]}])),
        ("sections[0].rows[0].id", pick([{"rows": [{"id": "i" * 201, "title": "t"}]}])),
        ("button", pick([a], button="x" * 21)),
        ("body", pick([a], body="x" * 4097)),
        ("header", pick([a], header="h" * 61)),
        ("footer", pick([a], footer="f" * 61)),
    ]  # fmt: skip
    assert [limit_field(call) for _, call in cases] == [field for field, _ in cases]


def test_list_rows_are_counted_across_sections():
    """10 rows in all pass; 11 spread over two sections fail with the total."""
    ten = [{"title": "A", "rows": rows(5, "a")}, {"title": "B", "rows": rows(5, "b")}]
    assert payloads.list_message(TO, "x" * 4096, "Pick", ten)
    eleven = [{"title": "A", "rows": rows(5, "a")}, {"title": "B", "rows": rows(6, "b")}]
    with pytest.raises(LimitError, match="at most 10 rows in all sections together, not 11"):
        payloads.list_message(TO, "b", "Pick", eleven)


@pytest.mark.parametrize("kind", ["image", "audio", "video", "document", "sticker"])
def test_media_by_link_and_by_id(kind):
    """Each media kind by link or by id, with context."""
    assert payloads.media(TO, kind, link="https://x.io/f", reply_to="wamid.C") == {
        **BASE,
        "type": kind,
        kind: {"link": "https://x.io/f"},
        "context": {"message_id": "wamid.C"},
    }
    assert payloads.media(TO, kind, media_id="1037543291543636")[kind] == {"id": "1037543291543636"}


def test_media_caption_and_filename():
    """Captions go on image/video/document, filenames on documents only."""
    doc = payloads.media(TO, "document", link="https://x.io/i.pdf", caption="Invoice", filename="invoice.pdf")
    assert doc["document"] == {"link": "https://x.io/i.pdf", "caption": "Invoice", "filename": "invoice.pdf"}
    assert payloads.media(TO, "image", media_id="1", caption="c")["image"] == {"id": "1", "caption": "c"}
    assert payloads.media(TO, "video", media_id="1", caption="c" * 1024)["video"]["caption"] == "c" * 1024


def test_media_checks():
    """Source, caption, filename and kind mistakes name their field."""
    assert limit_field(lambda: payloads.media(TO, "image")) == "media"
    assert limit_field(lambda: payloads.media(TO, "image", link="https://x", media_id="1")) == "media"
    assert limit_field(lambda: payloads.media(TO, "image", link="file:///etc/passwd")) == "media.link"
    assert limit_field(lambda: payloads.media(TO, "audio", media_id="1", caption="c")) == "caption"
    assert limit_field(lambda: payloads.media(TO, "sticker", media_id="1", caption="c")) == "caption"
    assert limit_field(lambda: payloads.media(TO, "image", media_id="1", caption="c" * 1025)) == "caption"
    assert limit_field(lambda: payloads.media(TO, "image", media_id="1", filename="a.png")) == "filename"
    assert limit_field(lambda: payloads.media(TO, "gif", media_id="1")) == "kind"


def test_location():
    """Coordinates as numbers, with optional name and address."""
    body = payloads.location(TO, 37.4847, -122.1486, name="Meta HQ", address="1 Hacker Way")
    assert body["location"] == {
        "latitude": 37.4847,
        "longitude": -122.1486,
        "name": "Meta HQ",
        "address": "1 Hacker Way",
    }
    assert payloads.location(TO, 0, 0)["location"] == {"latitude": 0, "longitude": 0}
    assert limit_field(lambda: payloads.location(TO, 91, 0)) == "latitude"
    assert limit_field(lambda: payloads.location(TO, 0, -180.5)) == "longitude"
    assert limit_field(lambda: payloads.location(TO, "37", 0)) == "latitude"
    assert limit_field(lambda: payloads.location(TO, True, 0)) == "latitude"


def test_contacts():
    """Contact cards pass through; each needs a formatted name and only card fields."""
    card = {
        "name": {"formatted_name": "Ana Diaz", "first_name": "Ana"},
        "phones": [{"phone": "+1 555", "type": "CELL"}],
    }
    assert payloads.contacts(TO, [card]) == {**BASE, "type": "contacts", "contacts": [card]}
    assert limit_field(lambda: payloads.contacts(TO, [])) == "cards"
    assert limit_field(lambda: payloads.contacts(TO, [card] * 6)) == "cards"
    assert limit_field(lambda: payloads.contacts(TO, [card, {"name": {}}])) == "cards[1].name.formatted_name"
    assert limit_field(lambda: payloads.contacts(TO, [{**card, "photo": "x"}])) == "cards[0].photo"
    assert limit_field(lambda: payloads.contacts(TO, ["Ana"])) == "cards[0]"


def test_reaction_and_unreaction():
    """A reaction names its message; "" removes it."""
    assert payloads.reaction(TO, "wamid.D", "\U0001f600") == {
        **BASE,
        "type": "reaction",
        "reaction": {"message_id": "wamid.D", "emoji": "\U0001f600"},
    }
    assert payloads.reaction(TO, "wamid.D", "")["reaction"]["emoji"] == ""
    assert limit_field(lambda: payloads.reaction(TO, "", "x")) == "message_id"
    assert limit_field(lambda: payloads.reaction(TO, "wamid.D", " 😀")) == "emoji"


def test_mark_read_and_typing():
    """Mark-read bodies, with and without the typing indicator."""
    assert payloads.mark_read("wamid.E") == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.E",
    }
    assert payloads.mark_read("wamid.E", typing_indicator=True)["typing_indicator"] == {"type": "text"}
    assert limit_field(lambda: payloads.mark_read("")) == "message_id"


def test_reply_to_must_be_a_message_id():
    """An empty reply_to is refused rather than sent as an empty context."""
    assert limit_field(lambda: payloads.text(TO, "hi", reply_to="")) == "reply_to"


@pytest.mark.parametrize(
    ("kind", "mime", "size", "animated"),
    [
        ("image", "image/jpeg", 5 * 1024 * 1024, False),
        ("image", "IMAGE/PNG", 1, False),
        ("audio", "audio/ogg; codecs=opus", 16 * 1024 * 1024, False),
        ("audio", "audio/mpeg", 100, False),
        ("video", "video/3gpp", 100, False),
        ("document", "application/pdf", 100 * 1024 * 1024, False),
        ("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", 10, False),
        ("sticker", "image/webp", 100 * 1024, False),
        ("sticker", "image/webp", 500 * 1024, True),
    ],
)
def test_media_files_within_limits(kind, mime, size, animated):
    """Allowed types at or under their size limit pass."""
    assert payloads.check_media_file(kind, mime, size, animated=animated) is None


@pytest.mark.parametrize(
    ("kind", "mime", "size", "animated", "message"),
    [
        ("image", "image/jpeg", 5 * 1024 * 1024 + 1, False, "at most 5.0 MB"),
        ("image", "image/gif", 10, False, "must be one of image/jpeg, image/png"),
        ("audio", "audio/ogg; codecs=vorbis", 10, False, "opus"),
        ("video", "video/quicktime", 10, False, "must be one of"),
        ("sticker", "image/webp", 100 * 1024 + 1, False, "at most 100 KB"),
        ("sticker", "image/webp", 500 * 1024 + 1, True, "at most 500 KB"),
        ("sticker", "image/png", 10, False, "must be one of image/webp"),
        ("document", "application/zip", 10, False, "must be one of"),
        ("document", "application/pdf", 0, False, "empty"),
        ("gif", "image/gif", 10, False, "unknown media kind"),
    ],
)
def test_media_files_outside_limits(kind, mime, size, animated, message):
    """Wrong types, oversize files and empty files fail on field "media"."""
    with pytest.raises(LimitError, match=message) as caught:
        payloads.check_media_file(kind, mime, size, animated=animated)
    assert caught.value.field == "media"


def test_media_rules_cover_every_kind():
    """MEDIA_RULES has mime types and a size for each sendable kind."""
    assert set(payloads.MEDIA_RULES) == {"audio", "document", "image", "sticker", "video"}
    assert payloads.MEDIA_RULES["video"]["max_bytes"] == 16 * 1024 * 1024
    assert "audio/aac" in payloads.MEDIA_RULES["audio"]["mime_types"]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: payloads.media("15551230001", "image", link="http://example.com/a.jpg"), "media.link"),
        (lambda: payloads.media("15551230001", "image", link="https://"), "media.link"),
        (lambda: payloads.location("15551230001", "north", 1.0), "latitude"),
        (lambda: payloads.location("15551230001", float("nan"), 1.0), "latitude"),
        (lambda: payloads.reaction("15551230001", "not-a-wamid", "👍"), "message_id"),
        (lambda: payloads.reaction("15551230001", "wamid. spaces", "👍"), "message_id"),
        (lambda: payloads.text("15551230001", "hi", reply_to="123"), "reply_to"),
        (lambda: payloads.mark_read("abc"), "message_id"),
    ],
    ids=[
        "http link",
        "empty https link",
        "latitude text",
        "latitude NaN",
        "reaction id",
        "spaced id",
        "reply",
        "read",
    ],
)
def test_what_meta_would_refuse_is_refused_before_queueing(build, field):
    """Media over plain http, coordinates that are not numbers, ids that are not wamids: refused
    here, naming the field, instead of failing at Meta after being queued."""
    with pytest.raises(LimitError) as refused:
        build()
    assert refused.value.field == field


def test_real_wamids_pass():
    """Ids as Meta sends them (base64 after "wamid.", padding included) are accepted."""
    body = payloads.reaction(
        "15551230001", "wamid.HBgLMTU1NTEyMzAwMDEVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA", "👍"
    )
    assert body["reaction"]["message_id"].startswith("wamid.")
    assert payloads.mark_read("wamid.HBgL-_+/=")["message_id"] == "wamid.HBgL-_+/="
