"""The /_mock control API (config, stats, reset, listings) and the rest of the Graph surface."""

from __future__ import annotations

import time

import pytest

from flowapp.sandbox.ledger import max_in_window
from tests.sandbox.helpers import PHONE_NUMBER_ID, text_body


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], 0),
        ([5.0], 1),
        ([0.0, 0.5, 0.99, 1.0, 1.5, 1.98, 2.2], 4),  # [0.99, 1.99) holds 0.99, 1.0, 1.5, 1.98
        ([0.0, 1.0, 2.0, 3.0], 1),  # a window is half-open: 1.0 s apart never share one
        ([0.0, 0.1, 0.2, 5.0, 5.1, 5.2, 5.3], 4),
    ],
)
def test_max_in_window_counts_the_densest_second(times, expected):
    """The two-pointer pass finds the most arrivals inside any [t, t + 1 s) window."""
    assert max_in_window(times, 1.0) == expected


def test_stats_report_the_densest_second_of_a_known_pattern(graph):
    """Six sends in a burst, a pause over a second, three more: max_in_any_second is 6."""
    for _ in range(6):
        graph.send(text_body())
    burst_end = time.time()
    time.sleep(max(0.0, burst_end + 1.1 - time.time()))  # the pattern itself needs the gap
    for _ in range(3):
        graph.send(text_body())
    graph.control("POST", "faults", json={"code": 131026})
    graph.send(text_body())
    stats = graph.control("GET", "stats").json()
    assert stats["max_in_any_second"] == 6
    assert (stats["accepted"], stats["rejected"], stats["by_code"]) == (9, 1, {"131026": 1})
    assert stats["last_at"] - stats["first_at"] >= 1.0
    assert stats["duplicates_to_same_body"] == 8  # every send repeated the first body


def test_reset_clears_messages_faults_and_stats_but_keeps_config(graph):
    """POST /_mock/reset forgets messages, reads, faults and counters; the configuration stays."""
    graph.control("POST", "config", json={"latency_ms": 1})
    graph.send(text_body())
    graph.control("POST", "faults", json={"code": 131000, "count": 5})
    graph.control("POST", "reset")
    assert graph.control("GET", "messages").json() == {"messages": [], "last_seq": 0}
    assert graph.control("GET", "faults").json()["faults"] == []
    stats = graph.control("GET", "stats").json()
    assert (stats["accepted"], stats["rejected"], stats["max_in_any_second"]) == (0, 0, 0)
    assert graph.control("GET", "config").json()["latency_ms"] == 1
    assert graph.send(text_body()).status_code == 200


def test_config_changes_at_run_time_and_refuses_bad_values(graph):
    """POST /_mock/config changes known settings with the right types, all or nothing."""
    config = graph.control("POST", "config", json={"sent_delay": 0.2, "statuses": False}).json()
    assert (config["sent_delay"], config["statuses"], config["token"]) == (0.2, False, "sandbox-test-token")
    for bad in ({"statuses": "no"}, {"latency_ms": -1}, {"colour": 1}, {"sent_delay": 1, "validate": 3}):
        response = graph.control("POST", "config", json=bad)
        assert response.status_code == 400 and response.json()["error"]
    assert graph.control("GET", "config").json()["sent_delay"] == 0.2


def test_listings_page_with_since_and_limit(graph):
    """/_mock/messages honours since and limit; a bad number is 400; unknown endpoints are 404."""
    for n in range(4):
        graph.send(text_body(text=f"m{n}"))
    page = graph.control("GET", "messages", params={"since": 1, "limit": 2}).json()
    assert [m["body"]["text"]["body"] for m in page["messages"]] == ["m1", "m2"]
    assert page["last_seq"] == 4
    assert graph.control("GET", "messages", params={"since": "x"}).status_code == 400
    assert graph.control("GET", "nothing").status_code == 404


def test_phone_number_profile(graph):
    """GET /{phone-number-id} answers the sandbox number's profile and honours the token."""
    profile = graph.get(PHONE_NUMBER_ID).json()
    assert profile == {
        "id": PHONE_NUMBER_ID,
        "display_phone_number": "+1 555-010-0000",
        "verified_name": "Flowapp Sandbox",
        "quality_rating": "GREEN",
        "throughput": {"level": "STANDARD"},
    }
    assert graph.get(PHONE_NUMBER_ID, headers=None).status_code == 401
    assert graph.get("1111111111").json()["error"]["code"] == 100


def test_any_graph_version_and_unsupported_requests(graph, mock):
    """Any vX.Y version is served; other paths and methods get Meta's "Unsupported request" (100)."""
    for version in ("v17.0", "v25.0", "v100.1"):
        url = f"{mock.url}/{version}/{PHONE_NUMBER_ID}/messages"
        assert graph.http.post(
            url, json=text_body(), headers={"Authorization": "Bearer sandbox-test-token"}
        ).ok
    for method, path in (("GET", "/v25.0"), ("GET", "/latest/123/messages"), ("PUT", "/v25.0/123/messages")):
        response = graph.http.request(method, mock.url + path, headers={"Authorization": "Bearer x"})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == 100 and error["message"].startswith("Unsupported request")


def test_sandbox_mode_accepts_any_phone_number_id(graph, mock, receiver):
    """With no configured number (Flowapp's sandbox mode uses "sandbox") every id is the number."""
    mock.app.config.phone_number_id = None
    auth = {"Authorization": "Bearer sandbox-test-token"}
    assert graph.http.post(graph.url("sandbox/messages"), json=text_body(), headers=auth).status_code == 200
    assert graph.get("sandbox").json()["id"] == "sandbox"
    assert graph.get("sandbox-media-99").json()["error"]["code"] == 100
    graph.control("POST", "inbound", json={"from": "16505551234", "text": "hi"})
    inbound = [d.json() for d in receiver.deliveries if b'"contacts"' in d.body][0]  # not a status
    assert inbound["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] == "sandbox"
