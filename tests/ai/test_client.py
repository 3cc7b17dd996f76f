"""ChatClient against the real fake model server over HTTP: answers, retries, typed errors, no key leaks."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from flowapp.ai import errors
from flowapp.ai.retry import backoff, retry_after_seconds
from tests.ai.conftest import KEY, make_client, queue_faults, received

HELLO = [{"role": "user", "content": "hello there friend"}]


def test_success_returns_content_tokens_and_attempts(fake):
    """A plain call returns the answer, the usage counts and one attempt."""
    result = make_client(fake).complete(
        [{"role": "system", "content": "Be brief."}, *HELLO], temperature=0, max_tokens=50
    )
    assert result.content == "Echo: hello there friend"
    # per message words * 4/3 rounded up: 2 -> 3, 3 -> 4; the answer's 4 words -> 6
    assert (result.tokens_in, result.tokens_out) == (7, 6)
    assert result.model == "fake-model" and result.attempts == 1 and result.finish_reason == "stop"
    assert result.latency_ms >= 0


def test_request_body_carries_the_parameters(fake):
    """model, messages, temperature, max_tokens and response_format go out as OpenAI names them."""
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": {"type": "object", "properties": {}}},
    }
    make_client(fake, temperature=0.7, max_tokens=99).complete(HELLO, model="other", response_format=fmt)
    body = requests.get(f"{fake.url}/_fake/requests", timeout=5).json()["last_body"]
    assert body == {
        "model": "other",
        "messages": HELLO,
        "temperature": 0.7,
        "max_tokens": 99,
        "response_format": fmt,
    }


def test_constrained_json_output(fake):
    """With a json_schema response_format the answer is JSON holding the schema's properties."""
    schema = {
        "type": "object",
        "properties": {"email": {"type": "string"}, "order_number": {"type": "string"}},
        "required": ["email", "order_number"],
    }
    result = make_client(fake).complete(
        [{"role": "user", "content": "I am ana@example.com, order AB-12345 never came"}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "fields", "schema": schema, "strict": True},
        },
    )
    assert json.loads(result.content) == {"email": "ana@example.com", "order_number": "AB-12345"}


def test_429_with_retry_after_then_success(fake):
    """A 429 is retried after its Retry-After, and the second attempt's answer is returned."""
    queue_faults(fake, {"status": 429, "retry_after": 0.05})
    result = make_client(fake).complete(HELLO)
    assert result.attempts == 2 and result.content.startswith("Echo:")
    assert received(fake) == 2


def test_500_is_retried_until_the_attempts_run_out(fake):
    """5xx answers are retried; after max_attempts the error is a ServerError saying so."""
    queue_faults(fake, {"status": 500, "count": 3})
    with pytest.raises(errors.ServerError) as caught:
        make_client(fake, max_attempts=3).complete(HELLO)
    assert caught.value.attempts == 3 and caught.value.retryable and caught.value.status == 500
    assert received(fake) == 3


def test_500_then_success(fake):
    """One 500 then an answer: the caller sees the answer after two attempts."""
    queue_faults(fake, {"status": 502})
    assert make_client(fake).complete(HELLO).attempts == 2


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(400, errors.BadRequest), (404, errors.BadRequest), (401, errors.AuthError), (403, errors.AuthError)],
)
def test_client_errors_are_not_retried(fake, status, error_class):
    """4xx other than 429 fails at once with its type."""
    queue_faults(fake, {"status": status})
    with pytest.raises(error_class) as caught:
        make_client(fake).complete(HELLO)
    assert caught.value.attempts == 1 and not caught.value.retryable and caught.value.status == status
    assert received(fake) == 1


def test_wrong_key_is_an_auth_error_without_the_key(fake, caplog):
    """The fake echoes the key it was given; the error and the log lines mask it."""
    wrong = "sk-wrong-key-abcdef123456"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(errors.AuthError) as caught:
        make_client(fake, api_key=wrong).complete(HELLO)
    assert "Incorrect API key provided: ***" in str(caught.value)
    assert wrong not in str(caught.value) and wrong not in repr(caught.value.__dict__)
    assert wrong not in caplog.text and caplog.text


def test_timeout_is_not_retried(fake):
    """A read timeout raises Timeout after one attempt (the model may still be generating)."""
    queue_faults(fake, {"timeout": True})
    with pytest.raises(errors.Timeout) as caught:
        make_client(fake, read_timeout=0.3).complete(HELLO)
    assert caught.value.attempts == 1 and caught.value.status is None
    assert "did not answer within 0.3 s" in str(caught.value)


def test_connection_refused_is_retried_then_fails(fake):
    """Nobody listening: ConnectionFailed after every attempt, the URL named, the key absent."""
    url = fake.base_url
    fake.stop()
    with pytest.raises(errors.ConnectionFailed) as caught:
        make_client(fake, base_url=url, max_attempts=2).complete(HELLO)
    assert caught.value.attempts == 2 and url in str(caught.value) and KEY not in str(caught.value)


def test_retry_after_beyond_the_total_time_gives_up(fake):
    """A Retry-After longer than the time left is not waited for: RateLimited at once."""
    queue_faults(fake, {"status": 429, "retry_after": 60})
    with pytest.raises(errors.RateLimited) as caught:
        make_client(fake, max_total_seconds=5).complete(HELLO)
    assert caught.value.attempts == 1 and caught.value.retry_after == 60


def test_key_never_in_any_log_line_or_error(fake, caplog):
    """Across success, retries and failures, no log record and no error holds the key."""
    caplog.set_level(logging.DEBUG)
    client = make_client(fake, max_attempts=2)
    queue_faults(fake, {"status": 429, "retry_after": 0}, {"status": 500, "count": 2}, {"status": 400})
    messages = []
    for _ in range(3):
        try:
            client.complete(HELLO)
        except errors.AIError as error:
            messages.append(str(error))
    assert len(messages) >= 2 and caplog.records
    assert all(KEY not in m for m in messages) and KEY not in caplog.text
    assert KEY not in repr(client.config)


def test_azure_uses_api_key_header_and_api_version(fake):
    """With api_version set the key goes in `api-key` and ?api-version= is added (the fake accepts both)."""
    result = make_client(fake, api_version="2024-06-01").complete(HELLO)
    assert result.content.startswith("Echo:")


def test_not_a_completion_is_a_bad_response(fake):
    """A 2xx that is not a Chat Completions answer raises BadResponse, not retried."""
    queue_faults(fake, {"garbage": True})
    with pytest.raises(errors.BadResponse) as caught:
        make_client(fake).complete(HELLO)
    assert "no choices" in str(caught.value) and caught.value.attempts == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), (None, None), ("", None)],
)
def test_retry_after_seconds(header, seconds):
    """Retry-After as seconds; unreadable or absent: None."""
    assert retry_after_seconds(header) == seconds


def test_retry_after_http_date():
    """Retry-After as an HTTP date counts from now; a past date means 0."""
    now = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, now=now.timestamp()) == 30
    assert retry_after_seconds(earlier, now=now.timestamp()) == 0


def test_backoff_doubles_and_honours_retry_after():
    """0.5, 1, 2 ... capped; a longer Retry-After wins."""
    assert [backoff(n, None) for n in (1, 2, 3, 10)] == [0.5, 1.0, 2.0, 8.0]
    assert backoff(1, 5.0) == 5.0 and backoff(3, 0.1) == 2.0
