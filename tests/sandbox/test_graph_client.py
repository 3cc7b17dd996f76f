"""Flowapp's own Graph client against the mock: the two sides of the contract agree."""

from __future__ import annotations

import pytest

from flowapp.whatsapp.client import GraphClient
from flowapp.whatsapp.errors import Disposition, GraphError, NetworkError
from tests.sandbox.helpers import PHONE_NUMBER_ID, TOKEN, text_body


@pytest.fixture
def client(mock):
    graph_client = GraphClient(
        TOKEN, PHONE_NUMBER_ID, business_id="102290129340398", base_url=mock.url, timeout=(2, 2)
    )
    yield graph_client
    graph_client.close()


def test_client_sends_marks_read_and_reads_the_profile(client, graph):
    """send, mark_read and phone_number work as they will against Meta."""
    result = client.send(text_body())
    assert result.wamid.startswith("wamid.") and result.wa_id == "16505551234"
    assert client.mark_read(result.wamid, typing_indicator=True) is True
    assert client.phone_number()["verified_name"] == "Flowapp Sandbox"
    assert graph.control("GET", "messages").json()["messages"][0]["wamid"] == result.wamid


def test_client_media_round_trip_and_template_listing(client):
    """Uploads come back as downloads; the template listing is walked to its end."""
    content, mime_type = client.download_media("sandbox-image-1")
    assert content.startswith(b"\x89PNG") and mime_type == "image/png"
    media_id = client.upload_media(b"%PDF-1.4 tiny", "application/pdf", "tiny.pdf")
    assert client.download_media(media_id) == (b"%PDF-1.4 tiny", "application/pdf")
    names = [t["name"] for t in client.templates(page_size=2)]
    assert len(names) == 7 and names[0] == "hello_world"


@pytest.mark.parametrize(
    ("fault", "disposition", "retry_after"),
    [
        ({"code": 131056}, Disposition.RECIPIENT_BACKOFF, None),
        ({"code": 4}, Disposition.RETRY, 1.0),
        ({"code": 131000, "http_status": 503, "retry_after": 3}, Disposition.RETRY, 3.0),
        ({"code": 190}, Disposition.PAUSE, None),
        ({"code": 131047}, Disposition.PERMANENT, None),
    ],
)
def test_client_classifies_the_mocks_faults(client, graph, fault, disposition, retry_after):
    """The client reads the mock's envelopes into the right code, disposition and Retry-After."""
    graph.control("POST", "faults", json=fault)
    with pytest.raises(GraphError) as raised:
        client.send(text_body())
    assert raised.value.code == fault["code"]
    assert raised.value.disposition is disposition
    assert raised.value.retry_after == retry_after
    assert raised.value.details and raised.value.fbtrace_id


def test_client_times_out_on_a_stalled_send(mock, graph):
    """A timeout fault surfaces as the client's NetworkError once its read timeout fires."""
    client = GraphClient(TOKEN, PHONE_NUMBER_ID, base_url=mock.url, timeout=(2, 0.3))
    try:
        graph.control("POST", "faults", json={"timeout": True})
        with pytest.raises(NetworkError):
            client.send(text_body())
    finally:
        client.close()
