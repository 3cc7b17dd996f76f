"""Meta's Graph API errors and what a sender should do about each (CLOUD_API.md section 7).

A send fails in one of four ways, and each asks for a different reaction:
- RETRY: transient (throttling, Meta outage, network); retry with exponential backoff and jitter.
- RECIPIENT_BACKOFF: the pair rate limit (131056); retry this recipient later, the queue keeps going.
- PERMANENT: the request itself is wrong or refused; never retry it as is, surface it.
- PAUSE: the account cannot send at all (expired token); stop every send until an operator acts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum

# The customer stopped this business's marketing messages in WhatsApp: a marketing template to them
# fails with it, and Flowapp opts them out (services.consent.stopped_marketing).
STOPPED_MARKETING = 131050


class Disposition(StrEnum):
    """What the sender should do with a failed message."""

    RETRY = "retry"
    RECIPIENT_BACKOFF = "recipient_backoff"
    PERMANENT = "permanent"
    PAUSE = "pause"


RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131057})
RECIPIENT_BACKOFF_CODES = frozenset({131056})
PAUSE_CODES = frozenset({190})
PERMANENT_CODES = frozenset(
    {
        10,  # permission denied
        100,  # invalid parameter
        368,  # temporarily blocked for policy violations
        130472,  # recipient is part of an experiment
        131005,  # permission denied
        131008,  # required parameter missing
        131009,  # parameter value not valid
        131021,  # recipient equals sender
        131026,  # message undeliverable
        131031,  # account locked
        131042,  # payment issue
        131047,  # re-engagement: more than 24 h since the customer's last message
        131048,  # spam rate limit
        131049,  # per-user marketing cap: not before 24 h, so never an automatic retry
        131050,  # user stopped marketing messages
        131051,  # unsupported message type
        131052,  # media download error
        131053,  # media upload error
        131062,  # BSUID recipients not supported for this message
        131064,  # messaging limit reached due to template classification violations
        132000,  # template parameter count mismatch
        132001,  # template does not exist in that language / not approved
        132005,  # template hydrated text too long
        132007,  # template format character policy violated
        132012,  # template parameter format mismatch
        132015,  # template paused
        132016,  # template disabled
        133010,  # phone number not registered with Cloud API
        133016,  # too many register/deregister attempts
    }
)

DESCRIPTIONS = {
    1: "Meta's API hit an unknown error; it is usually temporary.",
    2: "Meta's service is temporarily unavailable.",
    4: "The app reached its Graph API request limit; sending resumes after a pause.",
    10: "The access token lacks the permission for this action.",
    100: "Meta rejected a parameter of the request (invalid, unsupported or misspelled), or the recipient.",
    190: "The access token expired or was revoked: sending is paused until a new token is configured.",
    368: "The WhatsApp account is temporarily blocked for policy violations: sending should stop.",
    80007: "The WhatsApp Business Account reached its rate limit; sending resumes after a pause.",
    130429: "The phone number's throughput limit was reached; the message waits and is retried.",
    130472: "The customer's number is part of a Meta experiment: the message was not sent.",
    131000: "Something went wrong at Meta; the message is retried.",
    131005: "The access token lacks the permission for this action.",
    131008: "A required parameter is missing from the request.",
    131009: "A parameter value is not valid (for a reaction: the message is too old, deleted or unknown).",
    131016: "WhatsApp's service is temporarily unavailable; the message is retried.",
    131021: "The recipient is the business's own number.",
    131026: "The message could not be delivered: the number may not use WhatsApp or may need an update.",
    131031: "The WhatsApp Business Account is locked: sending should stop until Meta lifts it.",
    131042: "There is a payment problem with the WhatsApp Business Account.",
    131047: "More than 24 hours since the customer's last message: only an approved template can be sent.",
    131048: "Meta limited sending because too many messages were flagged as spam.",
    131049: "Meta held back this marketing message to protect engagement; wait a day before trying again.",
    131050: "The customer stopped marketing messages from this business.",
    131051: "WhatsApp does not support this message type.",
    131052: "The customer's media could not be downloaded.",
    131053: "The media could not be uploaded: check its type and size.",
    131056: "Too many messages to this customer in a short time; this conversation waits a little.",
    131057: "The account is in maintenance (throughput upgrade); the message is retried in about a minute.",
    131062: "This message cannot be sent to a business-scoped user id.",
    131064: "The messaging limit was reached because of template classification violations.",
    132000: "The number of template parameters does not match the template's placeholders.",
    132001: "The template does not exist in that language or is not approved yet.",
    132005: "The template text is too long once the parameters are filled in.",
    132007: "The template content breaks WhatsApp's policy.",
    132012: "A template parameter has the wrong format.",
    132015: "The template is paused because of low quality.",
    132016: "The template is disabled because of low quality.",
    133010: "The phone number is not registered with the Cloud API.",
    133016: "Too many register/deregister attempts for this phone number.",
}


def classify(code: int | None, http_status: int | None = None) -> Disposition:
    """What to do about an error with Meta `code` (None: no Graph error code) and HTTP status."""
    if code in RECIPIENT_BACKOFF_CODES:
        return Disposition.RECIPIENT_BACKOFF
    if code in PAUSE_CODES:
        return Disposition.PAUSE
    if code in RETRYABLE_CODES:
        return Disposition.RETRY
    if code in PERMANENT_CODES:
        return Disposition.PERMANENT
    if http_status == 429:
        return Disposition.RETRY
    if http_status is not None and 400 <= http_status < 500:
        return Disposition.PERMANENT
    # 5xx, or no HTTP answer at all: Meta (or the path to it) failed, not the request.
    return Disposition.RETRY


def describe(code: int | None) -> str:
    """A sentence explaining Meta error `code` to an operator."""
    if code is None:
        return "Meta's API could not be reached (network error or timeout); the message is retried."
    return DESCRIPTIONS.get(code, f"Meta returned error code {code}.")


class GraphError(Exception):
    """An error answer from Meta's Graph API (or, as NetworkError, no answer at all)."""

    def __init__(
        self,
        code: int | None,
        message: str,
        *,
        http_status: int | None = None,
        subcode: int | None = None,
        title: str | None = None,
        details: str | None = None,
        retry_after: float | None = None,
        fbtrace_id: str | None = None,
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.subcode = subcode
        self.title = title
        self.details = details
        self.retry_after = retry_after
        self.fbtrace_id = fbtrace_id

    def __str__(self) -> str:
        code = "" if self.code is None else f"({self.code}) "
        status = "" if self.http_status is None else f" [HTTP {self.http_status}]"
        return f"{code}{self.message}{status}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r})"

    @property
    def disposition(self) -> Disposition:
        """What the sender should do: retry, back off this recipient, give up, or pause sending."""
        return classify(self.code, self.http_status)

    @property
    def reason(self) -> str:
        """A readable sentence for people (inbox, logs); Meta's details when the code is unknown."""
        if self.code in DESCRIPTIONS or self.code is None:
            return describe(self.code)
        return self.details or self.message or describe(self.code)

    @classmethod
    def from_response(
        cls, http_status: int, body: object, headers: Mapping[str, str] | None = None
    ) -> GraphError:
        """Build the error from an HTTP answer: Meta's {"error": {...}} envelope, or anything else."""
        error = _error_object(body)
        data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
        message = _text(error.get("message")) or _fallback_message(http_status, body)
        return cls(
            _int(error.get("code")),
            message,
            http_status=http_status,
            subcode=_int(error.get("error_subcode")),
            title=_text(error.get("error_user_title")) or _text(error.get("type")),
            details=_text(data.get("details")) or _text(error.get("error_user_msg")),
            retry_after=_retry_after(headers),
            fbtrace_id=_text(error.get("fbtrace_id")),
        )


class NetworkError(GraphError):
    """Meta could not be reached: connection refused, DNS failure, TLS error or timeout."""

    def __init__(self, message: str):
        super().__init__(None, message)


def _error_object(body: object) -> dict:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return {}


def _fallback_message(http_status: int, body: object) -> str:
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", "replace")
    # A short plain-text answer (a proxy's "upstream connect error") says more than the status alone.
    text = body.strip()[:200] if isinstance(body, str) else ""
    if text and text.isprintable() and "\ufffd" not in text and not text.startswith(("{", "<")):
        return text
    return f"HTTP {http_status} from the Graph API"


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by Graph and is ignored)."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None
