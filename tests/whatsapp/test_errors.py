"""Meta error codes -> retry / recipient backoff / permanent / pause, and parsing Meta's error envelope."""

from __future__ import annotations

import pytest

from flowapp.whatsapp.errors import (
    PAUSE_CODES,
    PERMANENT_CODES,
    RECIPIENT_BACKOFF_CODES,
    RETRYABLE_CODES,
    Disposition,
    GraphError,
    NetworkError,
    classify,
    describe,
)

PAIR_RATE_LIMIT = {
    "error": {
        "message": "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "type": "OAuthException",
        "code": 131056,
        "error_subcode": 2494071,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": "Message failed to send because there were too many messages sent from this phone "
            "number to the same phone number in a short period of time.",
        },
        "fbtrace_id": "A4O5a8RAgePwbcGSu",
    }
}


@pytest.mark.parametrize("code", [1, 2, 4, 80007, 130429, 131000, 131016, 131057])
def test_transient_codes_retry(code):
    """Throttling, Meta outages and maintenance are retried, whatever the HTTP status."""
    assert classify(code) is Disposition.RETRY
    assert classify(code, 400) is Disposition.RETRY
    assert GraphError(code, "x", http_status=400).disposition is Disposition.RETRY


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_server_errors_and_429_retry(status):
    """HTTP 5xx and 429 without a known permanent code are retried."""
    assert classify(None, status) is Disposition.RETRY
    assert classify(999999, status) is Disposition.RETRY


def test_network_error_retries():
    """No answer at all (connection refused, timeout) is retried."""
    error = NetworkError("ConnectTimeout calling /v25.0/1/messages")
    assert isinstance(error, GraphError)
    assert (error.code, error.http_status) == (None, None)
    assert error.disposition is Disposition.RETRY
    assert "could not be reached" in error.reason


def test_pair_rate_limit_backs_off_the_recipient():
    """131056 backs off this recipient only."""
    assert classify(131056, 400) is Disposition.RECIPIENT_BACKOFF


@pytest.mark.parametrize("code", [131047, 131026, 131051, 132000, 132001, 100, 368, 131031])
def test_permanent_codes_never_retry(code):
    """Refusals of the request itself are permanent, even when Meta answers 5xx."""
    assert classify(code, 400) is Disposition.PERMANENT
    assert classify(code, 500) is Disposition.PERMANENT
    assert classify(code) is Disposition.PERMANENT


def test_expired_token_pauses_sending():
    """190 (token expired) pauses all sending."""
    assert classify(190, 401) is Disposition.PAUSE
    assert GraphError(190, "expired", http_status=401).disposition is Disposition.PAUSE


def test_unknown_codes_follow_the_http_status():
    """An unknown code is permanent with 4xx and retried with 5xx or no status."""
    assert classify(424242, 400) is Disposition.PERMANENT
    assert classify(None, 404) is Disposition.PERMANENT
    assert classify(424242, 503) is Disposition.RETRY
    assert classify(424242) is Disposition.RETRY


def test_code_sets_do_not_overlap():
    """No code belongs to two dispositions."""
    sets = [RETRYABLE_CODES, RECIPIENT_BACKOFF_CODES, PAUSE_CODES, PERMANENT_CODES]
    assert sum(len(s) for s in sets) == len(frozenset().union(*sets))


def test_disposition_is_a_string():
    """Dispositions compare and serialise as their plain values (for storing on rows)."""
    assert Disposition.RECIPIENT_BACKOFF == "recipient_backoff"
    assert str(Disposition.PAUSE) == "pause"


def test_reason_for_the_24_hour_window():
    """131047 explains the customer-service window to people."""
    error = GraphError(131047, "(#131047) Re-engagement message", http_status=400)
    assert error.reason == (
        "More than 24 hours since the customer's last message: only an approved template can be sent."
    )


def test_every_classified_code_has_a_description():
    """Each code in the four sets has its own sentence."""
    for code in RETRYABLE_CODES | RECIPIENT_BACKOFF_CODES | PAUSE_CODES | PERMANENT_CODES:
        assert describe(code) != f"Meta returned error code {code}.", code


def test_reason_for_unknown_code_uses_metas_details():
    """An unknown code's reason is Meta's own details (or message)."""
    assert GraphError(555, "Boom", details="Meta says why").reason == "Meta says why"
    assert GraphError(555, "Boom").reason == "Boom"
    assert describe(555) == "Meta returned error code 555."


def test_from_response_parses_metas_envelope():
    """code, subcode, details, fbtrace_id, title and Retry-After come out of the answer."""
    error = GraphError.from_response(400, PAIR_RATE_LIMIT, {"retry-after": "12"})
    assert (error.code, error.subcode, error.http_status) == (131056, 2494071, 400)
    assert error.message == "(#131056) (Business Account, Consumer Account) pair rate limit hit"
    assert error.details.startswith("Message failed to send because there were too many messages")
    assert (error.fbtrace_id, error.title, error.retry_after) == ("A4O5a8RAgePwbcGSu", "OAuthException", 12.0)
    assert error.disposition is Disposition.RECIPIENT_BACKOFF
    assert (
        str(error) == "(131056) (#131056) (Business Account, Consumer Account) pair rate limit hit [HTTP 400]"
    )


def test_from_response_reads_json_text_and_bytes():
    """A body still in text or bytes form is decoded as JSON."""
    body = '{"error": {"message": "Invalid OAuth access token.", "code": 190, "error_user_title": "Token"}}'
    for raw in (body, body.encode()):
        error = GraphError.from_response(401, raw)
        assert (error.code, error.title, error.disposition) == (190, "Token", Disposition.PAUSE)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>Bad Gateway</html>", "HTTP 502 from the Graph API"),
        ("upstream connect error", "upstream connect error"),
        (b"\xff\xfe", "HTTP 502 from the Graph API"),
        (None, "HTTP 502 from the Graph API"),
        ({"error": "a string"}, "HTTP 502 from the Graph API"),
        ([1, 2], "HTTP 502 from the Graph API"),
    ],
)
def test_from_response_tolerates_odd_bodies(body, message):
    """Non-JSON or non-envelope bodies still give a GraphError, classified by HTTP status."""
    error = GraphError.from_response(502, body)
    assert (error.code, error.message, error.disposition) == (None, message, Disposition.RETRY)


def test_from_response_ignores_unusable_retry_after():
    """An HTTP-date or negative Retry-After is ignored rather than misread."""
    assert (
        GraphError.from_response(429, {}, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}).retry_after
        is None
    )
    assert GraphError.from_response(429, {}, {"Retry-After": "-3"}).retry_after is None
    assert GraphError.from_response(429, {}, {"Retry-After": "1.5"}).retry_after == 1.5


def test_string_codes_are_read_as_numbers():
    """A code sent as a digit string is still recognised."""
    error = GraphError.from_response(400, {"error": {"code": "131047", "message": "x"}})
    assert error.code == 131047
    assert error.disposition is Disposition.PERMANENT
