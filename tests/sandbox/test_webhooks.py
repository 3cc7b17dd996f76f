"""Webhooks the mock posts to Flowapp: status updates, and customers' messages via /_mock/inbound."""

from __future__ import annotations

from flowapp.whatsapp.parsing import parse_webhook
from flowapp.whatsapp.signature import verify
from tests.sandbox.helpers import APP_SECRET, PHONE_NUMBER_ID, text_body, wait_for
from tests.whatsapp.helpers import load_sample


def keys_of(payload: dict) -> dict:
    """The envelope's key structure down to the first status/message object."""
    value = payload["entry"][0]["changes"][0]["value"]
    item = (value.get("statuses") or value.get("messages"))[0]
    return {
        "top": set(payload),
        "entry": set(payload["entry"][0]),
        "change": set(payload["entry"][0]["changes"][0]),
        "value": set(value),
        "item": set(item),
    }


def test_statuses_arrive_signed_and_in_order(graph, receiver):
    """Each send is followed by sent, delivered and read, in that order, each correctly signed."""
    wamids = [graph.send(text_body(to=f"+1555000{n:04d}")).json()["messages"][0]["id"] for n in range(5)]
    for wamid in wamids:
        statuses = wait_for(lambda w=wamid: len(receiver.statuses_of(w)) == 3 and receiver.statuses_of(w))
        assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
        assert all(s["timestamp"].isdigit() and s["recipient_id"].startswith("1555000") for s in statuses)
        assert "pricing" in statuses[0] and "pricing" not in statuses[1] and "pricing" not in statuses[2]
    for delivery in receiver.deliveries:
        assert verify(delivery.body, delivery.headers["x-hub-signature-256"], APP_SECRET)
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.body.isascii() and b", " not in delivery.body  # compact, escaped like Meta's


def test_status_body_has_the_v24_shape(graph, receiver):
    """A status webhook has the keys of Meta's v24 sample (no conversation) and parses in Flowapp."""
    wamid = graph.send(text_body()).json()["messages"][0]["id"]
    wait_for(lambda: receiver.statuses_of(wamid))
    payload = receiver.deliveries[0].json()
    sample = keys_of(load_sample("status_sent_v24_minimal.json"))
    mine = keys_of(payload)
    assert {k: v for k, v in mine.items() if k != "item"} == {k: v for k, v in sample.items() if k != "item"}
    assert mine["item"] == sample["item"] | {"pricing"}
    value = payload["entry"][0]["changes"][0]["value"]
    assert payload["entry"][0]["id"] == "102290129340398"
    assert value["metadata"] == {"display_phone_number": "15550100000", "phone_number_id": PHONE_NUMBER_ID}
    assert value["statuses"][0]["pricing"]["category"] == "service"
    parsed = parse_webhook(payload)
    assert [(s.wamid, s.status) for s in parsed.statuses] == [(wamid, "sent")]


def test_callback_data_is_echoed_on_every_status(graph, receiver):
    """biz_opaque_callback_data given at send time comes back on sent, delivered and read."""
    wamid = graph.send(text_body(biz_opaque_callback_data="run-42")).json()["messages"][0]["id"]
    statuses = wait_for(lambda: len(receiver.statuses_of(wamid)) == 3 and receiver.statuses_of(wamid))
    assert [s["biz_opaque_callback_data"] for s in statuses] == ["run-42"] * 3


def test_template_pricing_uses_its_category(graph, receiver):
    """The sent status of a template bills its category (utility, marketing)."""
    body = {"messaging_product": "whatsapp", "to": "+15550001111", "type": "template"}
    body["template"] = {"name": "hello_world", "language": {"code": "en_US"}}
    wamid = graph.send(body).json()["messages"][0]["id"]
    sent = wait_for(lambda: receiver.statuses_of(wamid))[0]
    assert sent["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "utility",
    }


def test_reaction_gets_only_sent(graph, receiver):
    """A reaction is followed by a sent status and nothing else."""
    reaction = {"messaging_product": "whatsapp", "to": "+15550001111", "type": "reaction"}
    reaction["reaction"] = {"message_id": "wamid.IN", "emoji": "\U0001f44d"}
    wamid = graph.send(reaction).json()["messages"][0]["id"]
    text_wamid = graph.send(text_body()).json()["messages"][0]["id"]
    wait_for(lambda: len(receiver.statuses_of(text_wamid)) == 3)  # the later message is fully through
    assert [s["status"] for s in receiver.statuses_of(wamid)] == ["sent"]


def test_failed_posts_are_retried_then_dropped(graph, receiver):
    """A refused status POST is retried; after 4 failed attempts it is dropped and counted."""
    receiver.statuses = [500, 503]
    first = graph.send(text_body()).json()["messages"][0]["id"]
    statuses = wait_for(lambda: len(receiver.statuses_of(first)) >= 5 and receiver.statuses_of(first))
    assert [s["status"] for s in statuses] == ["sent", "sent", "sent", "delivered", "read"]
    receiver.statuses = [500] * 4
    graph.control("POST", "config", json={"delivered_delay": 0.01, "read_delay": 0.01})
    second = graph.send(text_body()).json()["messages"][0]["id"]
    wait_for(lambda: graph.control("GET", "stats").json()["webhooks"]["dropped"] == 1)
    wait_for(lambda: len(receiver.statuses_of(second)) == 6)
    assert [s["status"] for s in receiver.statuses_of(second)] == ["sent"] * 4 + ["delivered", "read"]
    final = {"delivered": 5, "dropped": 1, "pending": 0}
    wait_for(lambda: graph.control("GET", "stats").json()["webhooks"] == final)


def test_no_statuses_when_switched_off(graph, receiver):
    """With statuses off nothing is posted after a send."""
    graph.control("POST", "config", json={"statuses": False})
    graph.send(text_body())
    graph.control("POST", "config", json={"statuses": True})
    wamid = graph.send(text_body()).json()["messages"][0]["id"]
    wait_for(lambda: len(receiver.statuses_of(wamid)) == 3)
    assert len(receiver.deliveries) == 3


def test_inbound_text_is_a_signed_meta_shaped_webhook(graph, receiver):
    """/_mock/inbound posts Meta's text-message shape, signed, and answers Flowapp's status."""
    answer = graph.control(
        "POST", "inbound", json={"from": "+1 650 555 1234", "name": "Ana", "text": "Olá ✓"}
    )
    assert answer.status_code == 200
    assert answer.json()["webhook_status"] == 200
    delivery = receiver.deliveries[0]
    assert verify(delivery.body, delivery.headers["x-hub-signature-256"], APP_SECRET)
    assert b"\\u00e1" in delivery.body  # unicode escaped, as Meta signs it
    payload = delivery.json()
    assert keys_of(payload) == keys_of(load_sample("text.json"))
    value = payload["entry"][0]["changes"][0]["value"]
    assert value["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": "16505551234"}]
    message = value["messages"][0]
    assert message["id"] == answer.json()["wamid"] and message["text"] == {"body": "Olá ✓"}
    assert message["from"] == "16505551234" and message["timestamp"].isdigit()
    parsed = parse_webhook(payload).messages[0]
    assert (parsed.wa_id, parsed.text, parsed.profile_name) == ("16505551234", "Olá ✓", "Ana")


def test_inbound_replies_carry_their_content_and_context(graph, receiver):
    """Button, list, template-button, image, location and reaction messages take Meta's shapes."""
    kinds = {
        "button_reply": {"id": "yes", "title": "Yes"},
        "list_reply": {"id": "express", "title": "Express", "description": "Next day"},
        "button": {"payload": "CONFIRM", "text": "Confirm"},
        "image": {"id": "sandbox-image-1", "caption": "look"},
        "location": {"latitude": 52.52, "longitude": 13.40, "name": "Berlin"},
        "reaction": {"message_id": "wamid.OUT", "emoji": "\U0001f44d"},
    }
    for kind, content in kinds.items():
        spec = {"from": "16505551234", kind: content, "context_wamid": "wamid.OUT"}
        assert graph.control("POST", "inbound", json=spec).json()["webhook_status"] == 200
    messages = [d.json()["entry"][0]["changes"][0]["value"]["messages"][0] for d in receiver.deliveries]
    assert [m["type"] for m in messages] == [
        "interactive",
        "interactive",
        "button",
        "image",
        "location",
        "reaction",
    ]
    assert messages[0]["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "yes", "title": "Yes"},
    }
    assert messages[1]["interactive"]["list_reply"]["description"] == "Next day"
    assert messages[2]["button"] == {"payload": "CONFIRM", "text": "Confirm"}
    assert messages[3]["image"]["mime_type"] == "image/png" and messages[3]["image"]["caption"] == "look"
    assert messages[4]["location"]["name"] == "Berlin"
    assert all(m["context"] == {"from": "15550100000", "id": "wamid.OUT"} for m in messages)
    assert keys_of(receiver.deliveries[0].json())["item"] == keys_of(load_sample("button_reply.json"))["item"]


def test_inbound_reports_flowapps_answer_and_unreachable_webhooks(graph, receiver, mock):
    """webhook_status is what Flowapp answered; an unreachable webhook is 502 with an error."""
    receiver.statuses = [403]
    assert (
        graph.control("POST", "inbound", json={"from": "16505551234", "text": "x"}).json()["webhook_status"]
        == 403
    )
    mock.app.config.webhook_url = "http://127.0.0.1:9/nothing-listens-here"
    answer = graph.control("POST", "inbound", json={"from": "16505551234", "text": "x"})
    assert answer.status_code == 502
    assert answer.json()["error"] and answer.json()["wamid"].startswith("wamid.")


def test_inbound_needs_a_webhook_and_a_valid_description(graph, mock):
    """Bad descriptions (and a mock with no webhook configured) are answered 400."""
    for spec in (
        {"from": "16505551234"},
        {"text": "no sender"},
        {"from": "16505551234", "image": {"id": "nope"}},
    ):
        assert graph.control("POST", "inbound", json=spec).status_code == 400
    mock.app.config.webhook_url = None
    response = graph.control("POST", "inbound", json={"from": "16505551234", "text": "hi"})
    assert response.status_code == 400 and "webhook_url" in response.json()["error"]
