"""GraphClient against a real local HTTP server playing Meta's Graph API."""

from __future__ import annotations

import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from flowapp.whatsapp import payloads
from flowapp.whatsapp.client import GraphClient, MediaTooLarge, SendResult
from flowapp.whatsapp.errors import Disposition, GraphError, NetworkError
from tests.whatsapp.fake_meta import FakeMeta, Reply, graph_error

TOKEN = "TEST-TOKEN"
PN = "106540352242922"
WABA = "102290129340398"
MESSAGES = f"/v25.0/{PN}/messages"
SENT = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
    "messages": [{"id": "wamid.HBgLSENT", "message_status": "accepted"}],
}


@pytest.fixture
def meta():
    server = FakeMeta(TOKEN)
    yield server
    server.close()


@pytest.fixture
def client(meta):
    graph = GraphClient(TOKEN, PN, business_id=WABA, base_url=meta.url, timeout=(1.0, 2.0))
    yield graph
    graph.close()


def refused_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_send_posts_the_body_with_the_bearer_token(meta, client):
    """send() POSTs the JSON body to /{version}/{phone-number-id}/messages and returns Meta's ids."""
    meta.route("POST", MESSAGES, Reply(200, SENT))
    body = payloads.text("+16505551234", "Hello there", reply_to="wamid.IN")
    assert client.send(body) == SendResult("wamid.HBgLSENT", "16505551234", "accepted")
    [request] = meta.requests
    assert (request.method, request.path) == ("POST", MESSAGES)
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == body


def test_send_without_contacts_or_status():
    """A minimal success answer still gives the wamid (contacts and message_status are optional)."""
    server = FakeMeta(TOKEN)
    try:
        server.route("POST", MESSAGES, Reply(200, {"messages": [{"id": "wamid.MIN"}]}))
        with_client = GraphClient(TOKEN, PN, base_url=server.url)
        assert with_client.send(payloads.text("+16505551234", "x")) == SendResult("wamid.MIN", None, None)
        with_client.close()
    finally:
        server.close()


def test_send_error_envelope_becomes_graph_error(meta, client):
    """Meta's 400 envelope raises GraphError with its code, details, disposition and reason."""
    meta.route("POST", MESSAGES, graph_error(131047, "(#131047) Re-engagement message", details="24h passed"))
    with pytest.raises(GraphError) as caught:
        client.send(payloads.text("+16505551234", "late"))
    error = caught.value
    assert (error.code, error.http_status, error.details, error.fbtrace_id) == (
        131047,
        400,
        "24h passed",
        "AbCdEf123",
    )
    assert error.disposition is Disposition.PERMANENT
    assert error.reason.startswith("More than 24 hours since the customer's last message")


def test_throttling_reads_retry_after(meta, client):
    """HTTP 429 with code 4 and Retry-After is a retry after that many seconds."""
    meta.route(
        "POST",
        MESSAGES,
        graph_error(4, "(#4) Application request limit reached", status=429, **{"Retry-After": "30"}),
    )
    with pytest.raises(GraphError) as caught:
        client.send(payloads.text("+16505551234", "x"))
    assert (caught.value.code, caught.value.retry_after, caught.value.disposition) == (
        4,
        30.0,
        Disposition.RETRY,
    )


def test_server_error_page_is_retried(meta, client):
    """A 502 HTML page (no envelope) raises a retryable GraphError."""
    meta.route("POST", MESSAGES, Reply(502, "<html>Bad Gateway</html>"))
    with pytest.raises(GraphError) as caught:
        client.send(payloads.text("+16505551234", "x"))
    assert (caught.value.code, caught.value.http_status, caught.value.disposition) == (
        None,
        502,
        Disposition.RETRY,
    )


def test_wrong_token_pauses(meta):
    """Meta's 401 / code 190 for a bad token raises a GraphError that pauses sending."""
    wrong = GraphClient("EXPIRED", PN, base_url=meta.url)
    try:
        with pytest.raises(GraphError) as caught:
            wrong.send(payloads.text("+16505551234", "x"))
    finally:
        wrong.close()
    assert (caught.value.code, caught.value.http_status) == (190, 401)
    assert caught.value.disposition is Disposition.PAUSE
    assert meta.requests[0].headers["authorization"] == "Bearer EXPIRED"


def test_success_without_message_id_is_an_error(meta, client):
    """A 200 that carries no wamid (or no JSON) raises instead of pretending the send worked."""
    meta.route("POST", MESSAGES, Reply(200, {"messages": []}))
    with pytest.raises(GraphError, match="without a message id"):
        client.send(payloads.text("+16505551234", "x"))
    meta.route("POST", MESSAGES, Reply(200, "not json"))
    with pytest.raises(GraphError, match="invalid JSON"):
        client.send(payloads.text("+16505551234", "x"))


def test_connection_refused_is_a_network_error():
    """Nothing listening: NetworkError (code None, retryable), no exception from requests leaks."""
    graph = GraphClient(TOKEN, PN, base_url=f"http://127.0.0.1:{refused_port()}", timeout=(0.5, 0.5))
    try:
        with pytest.raises(NetworkError) as caught:
            graph.send(payloads.text("+16505551234", "x"))
    finally:
        graph.close()
    assert (caught.value.code, caught.value.disposition) == (None, Disposition.RETRY)


def test_read_timeout_is_a_network_error(meta):
    """A Meta that answers too slowly raises NetworkError after the read timeout."""
    meta.route("POST", MESSAGES, Reply(200, SENT, delay=1.0))
    graph = GraphClient(TOKEN, PN, base_url=meta.url, timeout=(1.0, 0.2))
    try:
        with pytest.raises(NetworkError, match="ReadTimeout"):
            graph.send(payloads.text("+16505551234", "x"))
    finally:
        graph.close()


def test_mark_read_with_typing_indicator(meta, client):
    """mark_read() POSTs the read receipt (and typing indicator) and reports Meta's success."""
    meta.route("POST", MESSAGES, Reply(200, {"success": True}))
    assert client.mark_read("wamid.IN", typing_indicator=True) is True
    assert meta.requests[0].json() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
        "typing_indicator": {"type": "text"},
    }
    meta.route("POST", MESSAGES, Reply(200, {"success": False}))
    assert client.mark_read("wamid.IN") is False
    assert "typing_indicator" not in meta.requests[1].json()


def test_media_info(meta, client):
    """media_info() GETs /{version}/{media-id}."""
    info = {"url": "https://x", "mime_type": "image/jpeg", "sha256": "abc", "file_size": 3, "id": "MID"}
    meta.route("GET", "/v25.0/MID", Reply(200, info))
    assert client.media_info("MID") == info
    assert meta.paths() == ["GET /v25.0/MID"]


def test_download_refetches_an_expired_url(meta, client):
    """download_media() follows info -> url with the Bearer token, and refetches the url once on 404."""
    urls = iter(["/files/expired", "/files/fresh"])
    meta.route(
        "GET", "/v25.0/MID", lambda _r: Reply(200, {"url": meta.url + next(urls), "mime_type": "image/png"})
    )
    meta.route("GET", "/files/expired", graph_error(100, "not found", status=404))
    meta.route("GET", "/files/fresh", Reply(200, b"\x89PNG-bytes", {"Content-Type": "image/png"}))
    assert client.download_media("MID") == (b"\x89PNG-bytes", "image/png")
    assert meta.paths() == ["GET /v25.0/MID", "GET /files/expired", "GET /v25.0/MID", "GET /files/fresh"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in meta.requests)


def test_download_gives_up_after_a_second_404(meta, client):
    """Two expired URLs in a row raise the 404 GraphError (no endless loop)."""
    meta.route("GET", "/v25.0/MID", Reply(200, {"url": meta.url + "/files/gone", "mime_type": "image/png"}))
    meta.route("GET", "/files/gone", graph_error(100, "not found", status=404))
    with pytest.raises(GraphError) as caught:
        client.download_media("MID")
    assert caught.value.http_status == 404
    assert len(meta.requests) == 4


def test_download_refuses_oversize_media(meta, client):
    """Media over max_bytes is refused: from Meta's file_size before downloading, or from the answer."""
    meta.route("GET", "/v25.0/BIG", Reply(200, {"url": meta.url + "/files/big", "file_size": 5000}))
    with pytest.raises(MediaTooLarge) as caught:
        client.download_media("BIG", max_bytes=1000)
    assert caught.value.disposition is Disposition.PERMANENT
    assert meta.paths() == ["GET /v25.0/BIG"]
    meta.route("GET", "/v25.0/SNEAKY", Reply(200, {"url": meta.url + "/files/big", "mime_type": "video/mp4"}))
    meta.route("GET", "/files/big", Reply(200, b"x" * 2000, {"Content-Type": "video/mp4"}))
    with pytest.raises(MediaTooLarge):
        client.download_media("SNEAKY", max_bytes=1000)


def test_download_without_mime_in_info_uses_content_type(meta, client):
    """When Meta's info lacks mime_type, the download's Content-Type is returned."""
    meta.route("GET", "/v25.0/MID", Reply(200, {"url": meta.url + "/files/a"}))
    meta.route("GET", "/files/a", Reply(200, b"%PDF", {"Content-Type": "application/pdf"}))
    assert client.download_media("MID") == (b"%PDF", "application/pdf")


def test_upload_media_is_multipart(meta, client):
    """upload_media() POSTs messaging_product, type and the file as multipart and returns the id."""
    meta.route("POST", f"/v25.0/{PN}/media", Reply(200, {"id": "1037543291543636"}))
    assert client.upload_media(b"%PDF-1.7 data", "application/pdf", "invoice.pdf") == "1037543291543636"
    [request] = meta.requests
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert request.form() == {
        "messaging_product": (None, b"whatsapp"),
        "type": (None, b"application/pdf"),
        "file": ("invoice.pdf", b"%PDF-1.7 data"),
    }


def test_templates_follow_cursor_pagination(meta, client):
    """templates() yields every page, asking for the next with paging.cursors.after until no next."""
    pages = {
        None: {
            "data": [{"name": "a"}, {"name": "b"}],
            "paging": {"cursors": {"after": "C1"}, "next": "https://n/1"},
        },
        "C1": {
            "data": [{"name": "c"}],
            "paging": {"cursors": {"before": "C1", "after": "C2"}, "next": "https://n/2"},
        },
        "C2": {"data": [{"name": "d"}], "paging": {"cursors": {"before": "C2", "after": "C3"}}},
    }
    meta.route("GET", f"/v25.0/{WABA}/message_templates", lambda r: Reply(200, pages[r.query.get("after")]))
    assert [t["name"] for t in client.templates(page_size=2)] == ["a", "b", "c", "d"]
    assert [r.query for r in meta.requests] == [
        {"limit": "2"},
        {"limit": "2", "after": "C1"},
        {"limit": "2", "after": "C2"},
    ]


def test_templates_follow_next_url_without_cursors(meta, client):
    """A page with paging.next but no cursor is followed by its URL."""
    second = f"{meta.url}/v25.0/{WABA}/message_templates?limit=100&page=2"
    meta.route(
        "GET",
        f"/v25.0/{WABA}/message_templates",
        lambda r: (
            Reply(200, {"data": [{"name": "2"}]})
            if r.query.get("page") == "2"
            else Reply(200, {"data": [{"name": "1"}], "paging": {"next": second}})
        ),
    )
    assert [t["name"] for t in client.templates()] == ["1", "2"]
    assert [r.query for r in meta.requests] == [{"limit": "100"}, {"limit": "100", "page": "2"}]


def test_templates_stop_on_a_repeated_cursor(meta, client):
    """If Meta hands back the same cursor again, the listing ends instead of looping forever."""
    page = {"data": [{"name": "a"}], "paging": {"cursors": {"after": "C1"}, "next": "https://n/1"}}
    meta.route("GET", f"/v25.0/{WABA}/message_templates", Reply(200, page))
    assert [t["name"] for t in client.templates()] == ["a", "a"]
    assert [r.query.get("after") for r in meta.requests] == [None, "C1"]


def test_templates_need_a_business_id(meta):
    """Without business_id, templates() explains what is missing."""
    graph = GraphClient(TOKEN, PN, base_url=meta.url)
    with pytest.raises(ValueError, match="business_id"):
        next(graph.templates())
    graph.close()


def test_phone_number_asks_for_its_fields(meta, client):
    """phone_number() GETs the number with the documented fields."""
    info = {"display_phone_number": "15550783881", "verified_name": "Lucky Shrub", "quality_rating": "GREEN"}
    meta.route("GET", f"/v25.0/{PN}", Reply(200, info))
    assert client.phone_number() == info
    assert meta.requests[0].query == {
        "fields": "display_phone_number,verified_name,quality_rating,throughput"
    }


def test_one_log_line_per_call_without_secrets(meta, client, caplog):
    """Each call logs method, path, status, time and wamid or error code (successes at DEBUG, errors at
    WARNING); never the token or the text."""
    meta.route("POST", MESSAGES, Reply(200, SENT))
    caplog.set_level(logging.DEBUG, logger="flowapp.whatsapp.client")
    client.send(payloads.text("+16505551234", "my secret diagnosis"))
    meta.route("POST", MESSAGES, graph_error(131026, "Message undeliverable"))
    with pytest.raises(GraphError):
        client.send(payloads.text("+16505551234", "my secret diagnosis"))
    meta.route("GET", f"/v25.0/{PN}", Reply(200, {}))
    client.phone_number()
    lines = [r.getMessage() for r in caplog.records if r.name == "flowapp.whatsapp.client"]
    levels = [r.levelno for r in caplog.records if r.name == "flowapp.whatsapp.client"]
    assert levels == [logging.DEBUG, logging.WARNING, logging.DEBUG]
    assert len(lines) == 3
    assert lines[0].startswith(f"POST {MESSAGES} 200 ") and lines[0].endswith("ms wamid=wamid.HBgLSENT")
    assert lines[1].startswith(f"POST {MESSAGES} 400 ") and lines[1].endswith("ms error code=131026")
    assert lines[2].startswith(f"GET /v25.0/{PN} 200 ") and "fields" not in lines[2]
    assert all(TOKEN not in line and "diagnosis" not in line for line in lines)
    assert TOKEN not in repr(client)


def test_connections_are_kept_alive(meta, client):
    """Sequential calls from one thread reuse one pooled connection."""
    meta.route("POST", MESSAGES, Reply(200, SENT))
    for _ in range(5):
        client.send(payloads.text("+16505551234", "x"))
    assert len({r.client_port for r in meta.requests}) == 1


def test_one_session_per_thread(meta, client):
    """A client shared by a thread pool gives each thread its own Session, and close() closes them all."""
    meta.route("POST", MESSAGES, Reply(200, SENT, delay=0.05))
    barrier = threading.Barrier(4)

    def send(_):
        barrier.wait()
        return client.send(payloads.text("+16505551234", "x")).wamid

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(send, range(4))) == ["wamid.HBgLSENT"] * 4
    assert len(client._sessions) == 4
    assert len({id(s) for s in client._sessions}) == 4
    client.close()
    assert client._sessions == []
    assert client.send(payloads.text("+16505551234", "x")).wamid == "wamid.HBgLSENT"  # usable after close
