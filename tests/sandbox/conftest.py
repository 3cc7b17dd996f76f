"""Fixtures: a mock Graph API on a free port, a webhook receiver playing Flowapp, an HTTP session."""

from __future__ import annotations

import pytest
import requests

from flowapp.sandbox import MockConfig, MockServer
from tests.sandbox.helpers import APP_SECRET, AUTH, PHONE_NUMBER_ID, TOKEN, WebhookReceiver


@pytest.fixture
def receiver():
    hook = WebhookReceiver()
    yield hook
    hook.close()


@pytest.fixture
def config(receiver) -> MockConfig:
    # Short status delays keep the suite fast; their order is what the tests check.
    return MockConfig(
        token=TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        webhook_url=receiver.url,
        app_secret=APP_SECRET,
        sent_delay=0.01,
        delivered_delay=0.03,
        read_delay=0.06,
    )


@pytest.fixture
def mock(config):
    with MockServer(config) as server:
        yield server


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def graph(mock, http):
    """Calls to the mock's Graph side: graph.send(body), graph.get(path), graph.url(path)."""
    return Graph(mock, http)


class Graph:
    def __init__(self, mock: MockServer, http: requests.Session) -> None:
        self.mock, self.http = mock, http

    def url(self, path: str) -> str:
        return f"{self.mock.url}/v25.0/{path}"

    def send(self, body: dict, headers: dict | None = AUTH, **kwargs) -> requests.Response:
        return self.http.post(self.url(f"{PHONE_NUMBER_ID}/messages"), json=body, headers=headers, **kwargs)

    def get(self, path: str, headers: dict | None = AUTH, **kwargs) -> requests.Response:
        return self.http.get(self.url(path), headers=headers, **kwargs)

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, f"{self.mock.url}/_mock/{path}", **kwargs)
