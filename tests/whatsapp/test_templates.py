"""Template placeholder counts from Meta's definitions, compared with a send body's parameters."""

from __future__ import annotations

from flowapp.whatsapp.templates import check_parameters, count_parameters, supplied_parameters

# As GET /{waba-id}/message_templates returns them.
ORDER_UPDATE = [
    {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://x/h.jpg"]}},
    {"type": "BODY", "text": "Hi {{1}}, your order {{2}} costs {{3}} and ships {{4}}. Thanks, {{1}}!"},
    {"type": "FOOTER", "text": "Lucky Shrub"},
    {
        "type": "BUTTONS",
        "buttons": [
            {"type": "QUICK_REPLY", "text": "Stop"},
            {"type": "URL", "text": "Track", "url": "https://shrub.example/track/{{1}}"},
            {"type": "URL", "text": "Shop", "url": "https://shrub.example/"},
            {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550001111"},
        ],
    },
]
NAMED = [
    {"type": "HEADER", "format": "TEXT", "text": "Hello {{first_name}}"},
    {"type": "BODY", "text": "Your code {{ code }} expires at {{expiry_time}}."},
    {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE10"}]},
]
ORDER_UPDATE_SEND = [
    {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://x/h.jpg"}}]},
    {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Pablo"},
            {"type": "text", "text": "#42"},
            {"type": "currency", "currency": {"fallback_value": "$10", "code": "USD", "amount_1000": 10000}},
            {"type": "date_time", "date_time": {"fallback_value": "May 1, 2026"}},
        ],
    },
    {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "S"}],
    },
    {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "42"}]},
]


def test_count_positional_media_header_and_url_button():
    """A media header counts 1, repeated {{1}} counts once, only the URL button with {{1}} counts."""
    assert count_parameters(ORDER_UPDATE) == {"header": 1, "body": 4, "button:1": 1}


def test_count_named_placeholders_and_copy_code():
    """Named placeholders (spaces allowed inside braces) count; a copy-code button takes its code."""
    assert count_parameters(NAMED) == {"header": 1, "body": 2, "button:0": 1}


def test_count_omits_zero_entries():
    """A template without placeholders has an empty count."""
    assert count_parameters([{"type": "BODY", "text": "Welcome!"}, {"type": "FOOTER", "text": "x"}]) == {}
    assert count_parameters([]) == {}


def test_count_location_header_and_odd_input():
    """A location header needs its parameter; junk components are skipped."""
    components = [{"type": "HEADER", "format": "LOCATION"}, "junk", {"type": "BODY", "text": None}]
    assert count_parameters(components) == {"header": 1}


def test_supplied_parameters_skip_quick_reply_payloads():
    """The send body's counts leave out optional quick-reply payloads."""
    assert supplied_parameters(ORDER_UPDATE_SEND) == {"header": 1, "body": 4, "button:1": 1}


def test_supplied_parameters_accept_integer_index():
    """A button index given as an integer is keyed like a string one."""
    components = [
        {"type": "button", "sub_type": "url", "index": 1, "parameters": [{"type": "text", "text": "a"}]}
    ]
    assert supplied_parameters(components) == {"button:1": 1}


def test_matching_parameters_have_no_problems():
    """The documented order_update send fills the order_update template exactly."""
    assert check_parameters(count_parameters(ORDER_UPDATE), ORDER_UPDATE_SEND) == []


def test_mismatches_are_explained_per_component():
    """Missing and extra parameters are reported in template order: header, body, buttons."""
    send = [
        {"type": "body", "parameters": [{"type": "text", "text": "Pablo"}]},
        {"type": "button", "sub_type": "url", "index": "2", "parameters": [{"type": "text", "text": "x"}]},
    ]
    assert check_parameters(count_parameters(ORDER_UPDATE), send) == [
        "header: the template expects 1 parameter, 0 given",
        "body: the template expects 4 parameters, 1 given",
        "button 1: the template expects 1 parameter, 0 given",
        "button 2: the template expects 0 parameters, 1 given",
    ]


def test_no_components_for_a_template_that_needs_some():
    """components=None is checked like an empty list."""
    assert check_parameters({"body": 2}, None) == ["body: the template expects 2 parameters, 0 given"]
    assert check_parameters({}, None) == []
