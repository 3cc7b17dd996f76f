"""Template sends (132001, 132000) and GET /{waba-id}/message_templates paging."""

from __future__ import annotations

import pytest

from flowapp.sandbox.errors import GraphError
from flowapp.sandbox.templates import TEMPLATES, check_template_send, expected_params
from tests.sandbox.helpers import AUTH, body_params, template_body


def test_approved_template_with_matching_parameters_is_accepted(graph):
    """A send matching an approved template answers message_status "accepted"."""
    response = graph.send(template_body("order_update", components=[body_params("Ana", "#1042")]))
    assert response.status_code == 200
    assert response.json()["messages"][0]["message_status"] == "accepted"
    assert graph.send(template_body("hello_world")).status_code == 200
    assert graph.send(template_body("birthday_greeting", "es", [body_params("Ana")])).status_code == 200


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("no_such_template", "en_US"),
        ("welcome_offer", "en_US"),
        ("old_promo", "en_US"),
        ("hello_world", "es"),
    ],
)
def test_unknown_unapproved_or_wrong_language_is_132001(graph, name, language):
    """Unknown, pending, rejected, or not in that language: 404 with code 132001."""
    response = graph.send(template_body(name, language))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == 132001
    assert error["message"] == "(#132001) Template name does not exist in the translation"
    assert name in error["error_data"]["details"]


@pytest.mark.parametrize(
    "components",
    [
        [body_params("Ana")],  # one of two
        [body_params("Ana", "#1", "extra")],  # three of two
        None,  # none at all
        [body_params("Ana", "#1"), {"type": "header", "parameters": [{"type": "text", "text": "x"}]}],
    ],
)
def test_parameter_count_mismatch_is_132000(graph, components):
    """Too few, too many, missing, or parameters for a component without placeholders: 132000."""
    response = graph.send(template_body("order_update", components=components))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 132000
    assert error["message"] == "(#132000) Number of parameters does not match the expected number of params"


def test_quick_reply_buttons_take_an_optional_payload(graph):
    """appointment_reminder needs 3 body parameters; its quick-reply buttons may carry a payload."""
    button = {
        "type": "button",
        "sub_type": "quick_reply",
        "index": "0",
        "parameters": [{"type": "payload", "payload": "yes"}],
    }
    ok = graph.send(
        template_body("appointment_reminder", components=[body_params("Ana", "May 1", "9:00"), button])
    )
    assert ok.status_code == 200
    short = graph.send(template_body("appointment_reminder", components=[body_params("Ana", "May 1")]))
    assert short.json()["error"]["code"] == 132000


def test_media_headers_and_url_buttons_count_one_parameter_each():
    """The counting rules for component kinds the catalogue's templates do not all use."""
    template = {
        "components": [
            {"type": "HEADER", "format": "IMAGE"},
            {"type": "BODY", "text": "Hi {{1}}, {{2}} and {{1}} again"},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "QUICK_REPLY", "text": "Ok"}, {"type": "URL", "url": "https://x/{{1}}"}],
            },
        ]
    }
    assert expected_params(template) == {"header": 1, "body": 2, "button:0": -1, "button:1": 1}


def test_template_checks_fail_closed_on_garbage():
    """A template object without name or language is 132001, not a crash."""
    for garbage in (None, {}, {"name": "hello_world", "language": "en_US"}, "hello_world"):
        with pytest.raises(GraphError) as raised:
            check_template_send(garbage)
        assert raised.value.code == 132001


def test_listing_pages_follow_next_to_the_end(graph):
    """Following paging.next with limit=3 visits every template once; the last page has no next."""
    url, seen, pages = graph.url("102290129340398/message_templates?limit=3"), [], 0
    while url:
        page = graph.http.get(url, headers=AUTH).json()
        seen += [(t["name"], t["language"], t["status"]) for t in page["data"]]
        assert set(page["paging"]["cursors"]) == {"before", "after"}
        url = page["paging"].get("next")
        pages += 1
    assert pages == 3
    assert seen == [(t["name"], t["language"], t["status"]) for t in TEMPLATES]
    assert ("welcome_offer", "en_US", "PENDING") in seen and ("old_promo", "en_US", "REJECTED") in seen


def test_listed_templates_have_metas_fields(graph):
    """Each template carries id, name, language, status, category, parameter_format and components."""
    page = graph.get("102290129340398/message_templates").json()
    assert "next" not in page["paging"]
    reminder = next(t for t in page["data"] if t["name"] == "appointment_reminder")
    assert reminder["parameter_format"] == "POSITIONAL" and reminder["category"] == "UTILITY"
    kinds = [c["type"] for c in reminder["components"]]
    assert kinds == ["HEADER", "BODY", "BUTTONS"]
    assert [b["text"] for b in reminder["components"][2]["buttons"]] == ["Confirm", "Reschedule"]
    assert all(t["id"].isdigit() for t in page["data"])


def test_listing_filters_and_bad_cursor(graph):
    """?name= filters the listing; an undecodable cursor is code 100."""
    page = graph.get("102290129340398/message_templates?name=birthday_greeting").json()
    assert [t["language"] for t in page["data"]] == ["en_US", "es"]
    response = graph.get("102290129340398/message_templates?after=%%%")
    assert response.status_code == 400 and response.json()["error"]["code"] == 100


def test_listing_requires_the_token(graph):
    """The template listing is a Graph call like any other: no token, 190."""
    assert graph.get("102290129340398/message_templates", headers=None).status_code == 401
