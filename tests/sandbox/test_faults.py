"""POST /_mock/faults: injected failures with Meta's statuses, envelopes, filters and delays."""

from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.helpers import PHONE_NUMBER_ID, text_body


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        (190, 401, "Error validating access token"),
        (130429, 400, "(#130429) Rate limit hit"),
        (131056, 400, "(#131056) (Business Account, Consumer Account) pair rate limit hit"),
        (131047, 400, "(#131047) Re-engagement message"),
        (131026, 400, "(#131026) Message Undeliverable"),
        (100, 400, "(#100) Invalid parameter"),
        (132000, 400, "(#132000) Number of parameters does not match the expected number of params"),
        (132001, 404, "(#132001) Template name does not exist in the translation"),
        (131000, 500, "(#131000) Something went wrong"),
        (2, 503, "(#2) Service temporarily unavailable"),
        (4, 429, "(#4) Application request limit reached"),
    ],
)
def test_each_fault_code_has_metas_status_and_envelope(graph, code, status, message):
    """A queued fault answers the next send with Meta's HTTP status and error envelope for its code."""
    graph.control("POST", "faults", json={"code": code})
    response = graph.send(text_body())
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"].startswith(message)
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    if code != 190:
        assert error["error_data"]["messaging_product"] == "whatsapp" and error["error_data"]["details"]
        assert error["error_user_title"]
    assert ("Retry-After" in response.headers) == (code == 4)
    assert graph.send(text_body()).status_code == 200  # count defaults to 1


def test_http_status_and_retry_after_can_be_set(graph):
    """http_status overrides the default status; retry_after adds a Retry-After header."""
    graph.control("POST", "faults", json={"code": 131000, "http_status": 503, "retry_after": 2})
    response = graph.send(text_body())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == 131000


def test_count_and_recipient_filter(graph):
    """A rule fails `count` sends to its recipient only; other recipients go through meanwhile."""
    graph.control("POST", "faults", json={"code": 131056, "count": 2, "to": "+1 555 000 1111"})
    assert graph.send(text_body(to="+15550002222")).status_code == 200
    assert graph.send(text_body(to="+15550001111")).json()["error"]["code"] == 131056
    assert graph.send(text_body(to="+15550002222")).status_code == 200
    assert graph.send(text_body(to="+15550001111")).json()["error"]["code"] == 131056
    assert graph.send(text_body(to="+15550001111")).status_code == 200
    stats = graph.control("GET", "stats").json()
    assert (stats["accepted"], stats["rejected"], stats["by_code"]) == (3, 2, {"131056": 2})


def test_rules_queue_up_in_order_and_can_be_cleared(graph):
    """Several rules apply one after the other; DELETE /_mock/faults drops those still waiting."""
    answer = graph.control("POST", "faults", json=[{"code": 130429}, {"code": 131000, "count": 2}])
    assert answer.json()["queued"] == 2
    graph.control("POST", "faults", json={"code": 2})
    codes = [graph.send(text_body()).json()["error"]["code"] for _ in range(3)]
    assert codes == [130429, 131000, 131000]
    assert [f["code"] for f in graph.control("GET", "faults").json()["faults"]] == [2]
    graph.control("DELETE", "faults")
    assert graph.send(text_body()).status_code == 200


def test_latency_delays_the_failure(graph):
    """latency_ms makes the mock wait before answering with the fault."""
    graph.control("POST", "faults", json={"code": 131000, "latency_ms": 200})
    started = time.monotonic()
    assert graph.send(text_body()).status_code == 500
    assert time.monotonic() - started >= 0.2


def test_rule_without_code_only_slows_the_send(graph):
    """A rule with latency but no code delays the send, which then succeeds and is recorded."""
    graph.control("POST", "faults", json={"latency_ms": 150})
    started = time.monotonic()
    assert graph.send(text_body()).status_code == 200
    assert time.monotonic() - started >= 0.15
    assert graph.control("GET", "stats").json()["accepted"] == 1


def test_timeout_outlasts_the_clients_read_timeout_and_stop_is_quick(graph, mock):
    """timeout: the mock stalls, the client's read timeout fires; stopping the mock does not wait 30 s."""
    graph.control("POST", "faults", json={"code": 131000, "timeout": True})
    with pytest.raises(requests.ReadTimeout):
        graph.send(text_body(), timeout=(2, 0.5))
    started = time.monotonic()
    mock.stop()
    assert time.monotonic() - started < 2


def test_token_fault_also_reaches_the_phone_number_probe(graph):
    """A 190 fault fails the phone-number GET too (Flowapp's token probe), using up its count."""
    graph.control("POST", "faults", json={"code": 190, "count": 2})
    probe = graph.get(PHONE_NUMBER_ID)
    assert probe.status_code == 401 and probe.json()["error"]["code"] == 190
    assert graph.send(text_body()).status_code == 401
    assert graph.get(PHONE_NUMBER_ID).status_code == 200


def test_other_faults_leave_the_probe_and_mark_read_alone(graph):
    """Faults other than 190 only hit sends; a mark-read does not use them up either."""
    graph.control("POST", "faults", json={"code": 131000})
    assert graph.get(PHONE_NUMBER_ID).status_code == 200
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}
    assert graph.send(read).status_code == 200
    assert graph.send(text_body()).status_code == 500


@pytest.mark.parametrize(
    "rule",
    [{"code": "131000"}, {"count": 0}, {"code": 4, "colour": "red"}, {"timeout": "yes"}, [1], "x"],
)
def test_malformed_rules_are_refused(graph, rule):
    """A rule that cannot be understood is answered 400 and nothing is queued."""
    response = graph.control("POST", "faults", json=rule)
    assert response.status_code == 400 and response.json()["error"]
    assert graph.control("GET", "faults").json()["faults"] == []
