"""POST /{version}/{phone-number-id}/messages: answers, checks and what gets recorded."""

from __future__ import annotations

import time

from tests.sandbox.helpers import AUTH, PHONE_NUMBER_ID, text_body


def error_of(response) -> dict:
    return response.json()["error"]


def test_send_answers_like_meta_with_unique_wamids(graph):
    """A valid text send gets 200, Meta's shape, the recipient's digits and a new wamid each time."""
    answers = [graph.send(text_body(to="+1 (650) 555-1234")) for _ in range(5)]
    assert {r.status_code for r in answers} == {200}
    first = answers[0].json()
    assert first["messaging_product"] == "whatsapp"
    assert first["contacts"] == [{"input": "+1 (650) 555-1234", "wa_id": "16505551234"}]
    assert set(first["messages"][0]) == {"id"}
    wamids = [r.json()["messages"][0]["id"] for r in answers]
    assert len(set(wamids)) == 5
    assert all(w.startswith("wamid.HBgL") for w in wamids)


def test_accepted_sends_are_recorded_oldest_first(graph):
    """/_mock/messages lists what was accepted, filtered by recipient and by sequence number."""
    before = time.time()
    graph.send(text_body(to="+111111111", text="one"))
    graph.send(text_body(to="+222222222", text="two"))
    graph.send(text_body(to="+111111111", text="three"))
    listing = graph.control("GET", "messages").json()
    assert [m["body"]["text"]["body"] for m in listing["messages"]] == ["one", "two", "three"]
    first = listing["messages"][0]
    assert first["to"] == "111111111" and first["type"] == "text" and first["at"] >= before
    assert listing["last_seq"] == listing["messages"][-1]["seq"]
    to_one = graph.control("GET", "messages", params={"to": "111111111"}).json()["messages"]
    assert [m["body"]["text"]["body"] for m in to_one] == ["one", "three"]
    later = graph.control("GET", "messages", params={"since": first["seq"]}).json()["messages"]
    assert [m["body"]["text"]["body"] for m in later] == ["two", "three"]


def test_missing_or_wrong_token_is_190(graph):
    """Without the configured Bearer token the answer is 401 with OAuthException code 190."""
    for headers in (None, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        response = graph.send(text_body(), headers=headers)
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == 190 and error["type"] == "OAuthException"
        assert error["message"].startswith("Error validating access token")
    assert graph.control("GET", "stats").json()["by_code"] == {"190": 3}


def test_any_token_is_accepted_when_none_is_configured(graph, mock):
    """token=None (sandbox mode) accepts any non-empty Bearer token, but not none at all."""
    mock.app.config.token = None
    assert graph.send(text_body(), headers={"Authorization": "Bearer whatever"}).status_code == 200
    assert graph.send(text_body(), headers=None).status_code == 401


def test_unknown_phone_number_id_is_100(graph):
    """A phone number id the mock does not play gets 400 code 100."""
    response = graph.http.post(graph.url("999/messages"), json=text_body(), headers=AUTH)
    assert response.status_code == 400
    assert error_of(response)["code"] == 100
    assert "999" in error_of(response)["message"]


def test_invalid_body_is_100_naming_the_field(graph):
    """A body breaking Meta's contract gets 400 code 100 with details naming the problem."""
    body = text_body()
    body["text"] = {"bodi": "typo"}
    response = graph.send(body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == 100 and error["message"] == "(#100) Invalid parameter"
    assert "body" in error["error_data"]["details"] and "bodi" in error["error_data"]["details"]
    assert error["fbtrace_id"]


def test_unknown_type_and_not_json_are_100(graph):
    """An unknown message type, or a body that is not JSON, is rejected with code 100."""
    response = graph.send({"messaging_product": "whatsapp", "to": "+1555", "type": "hologram"})
    assert response.status_code == 400 and "hologram" in error_of(response)["error_data"]["details"]
    raw = graph.http.post(graph.url(f"{PHONE_NUMBER_ID}/messages"), data=b"{not json", headers=AUTH)
    assert raw.status_code == 400 and error_of(raw)["code"] == 100


def test_text_longer_than_4096_is_100(graph):
    """4096 characters pass, 4097 fail with code 100 (a documented limit the spec omits)."""
    assert graph.send(text_body(text="x" * 4096)).status_code == 200
    response = graph.send(text_body(text="x" * 4097))
    assert response.status_code == 400
    assert "4096" in error_of(response)["error_data"]["details"]


def test_list_with_more_than_ten_rows_in_all_is_100(graph):
    """List rows are limited to 10 across all sections, which the schema cannot express."""
    sections = [
        {"title": f"S{s}", "rows": [{"id": f"{s}-{r}", "title": f"Row {r}"} for r in range(6)]}
        for s in (1, 2)
    ]
    interactive = {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {"button": "Options", "sections": sections},
    }
    body = {
        "messaging_product": "whatsapp",
        "to": "+16505551234",
        "type": "interactive",
        "interactive": interactive,
    }
    response = graph.send(body)
    assert response.status_code == 400
    assert "10 rows" in error_of(response)["error_data"]["details"]


def test_no_validate_skips_the_contract(graph, mock):
    """With validate off a body the contract refuses is accepted (the limits still apply)."""
    body = text_body(extra_field=True)
    assert graph.send(body).status_code == 400
    mock.app.config.validate = False
    assert graph.send(body).status_code == 200
    assert graph.send(text_body(text="x" * 5000)).status_code == 400


def test_mark_read_and_typing_indicator(graph):
    """A mark-read body answers {"success": true} and is kept as a read receipt, not a message."""
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN1"}
    assert graph.send(read).json() == {"success": True}
    typing = {**read, "message_id": "wamid.IN2", "typing_indicator": {"type": "text"}}
    assert graph.send(typing).json() == {"success": True}
    reads = graph.control("GET", "reads").json()["reads"]
    assert [(r["message_id"], r["typing"]) for r in reads] == [("wamid.IN1", False), ("wamid.IN2", True)]
    assert graph.control("GET", "messages").json()["messages"] == []
    assert graph.control("GET", "stats").json()["reads"] == 2


def test_enforce_window_requires_a_recent_customer_message(graph):
    """With enforce_window on, free-form sends need an inbound message in the last 24 h; templates do not."""
    graph.control("POST", "config", json={"enforce_window": True})
    response = graph.send(text_body(to="+15550001111"))
    assert response.status_code == 400
    assert error_of(response)["code"] == 131047
    template = {
        "messaging_product": "whatsapp",
        "to": "+15550001111",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    assert graph.send(template).status_code == 200
    answer = graph.control("POST", "inbound", json={"from": "15550001111", "text": "hi"})
    assert answer.json()["webhook_status"] == 200
    assert graph.send(text_body(to="+15550001111")).status_code == 200
    assert graph.send(text_body(to="+15550002222")).status_code == 400


def test_configured_latency_delays_every_send(graph):
    """latency_ms set through /_mock/config slows each send down by that much."""
    graph.control("POST", "config", json={"latency_ms": 150})
    started = time.monotonic()
    assert graph.send(text_body()).status_code == 200
    assert time.monotonic() - started >= 0.15


def test_record_off_counts_but_keeps_nothing(graph, mock):
    """With record off the stats still count sends, but /_mock/messages stays empty."""
    mock.app.config.record = False
    graph.send(text_body())
    assert graph.control("GET", "messages").json()["messages"] == []
    assert graph.control("GET", "stats").json()["accepted"] == 1
