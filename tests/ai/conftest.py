"""The fake model server on 127.0.0.1, with a key it insists on."""

from __future__ import annotations

import pytest
import requests

from flowapp.ai import ChatClient, ProviderConfig
from flowapp.sandbox.fake_llm import FakeLLM, FakeLLMServer

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def fake():
    """A running fake model server that requires KEY."""
    with FakeLLMServer(FakeLLM(api_key=KEY)) as server:
        yield server


def make_client(fake, **config) -> ChatClient:
    """A client of `fake` with quick backoff (the waits are not under test, the outcomes are)."""
    values = {"base_url": fake.base_url, "model": "fake-model", "api_key": KEY, "backoff_base": 0.01}
    return ChatClient(ProviderConfig(**{**values, **config}))


def queue_faults(fake, *rules: dict) -> None:
    """Make the next requests fail as `rules` say."""
    requests.post(f"{fake.url}/_fake/faults", json=list(rules), timeout=5).raise_for_status()


def received(fake) -> int:
    """How many completion requests the fake has seen."""
    return requests.get(f"{fake.url}/_fake/requests", timeout=5).json()["count"]
