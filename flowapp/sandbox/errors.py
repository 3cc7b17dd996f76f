"""Meta's Graph API error envelope, as the mock answers it: {"error": {message, type, code, ...}}.

The messages, titles and details follow Meta's error-code table (CLOUD_API.md section 7) so that
Flowapp's client meets the same text it will meet in production.
"""

from __future__ import annotations

import secrets

# code -> (HTTP status, title, details). The message is "(#code) title", as Meta writes it.
CATALOGUE: dict[int, tuple[int, str, str]] = {
    1: (500, "An unknown error occurred", "An unknown error occurred."),
    2: (503, "Service temporarily unavailable", "Service temporarily unavailable. Please retry later."),
    4: (429, "Application request limit reached", "The app reached its Graph API call rate limit."),
    10: (403, "Permission denied", "The access token lacks the permission for this action."),
    100: (400, "Invalid parameter", "Invalid parameter."),
    190: (401, "Error validating access token", "Session has expired or the access token is invalid."),
    368: (403, "Temporarily blocked for policies violations", "The account is blocked for a while."),
    80007: (400, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    130472: (
        400,
        "User's number is part of an experiment",
        "Failed to send message because this user's phone number is part of an experiment.",
    ),
    131000: (500, "Something went wrong", "Something went wrong."),
    131005: (403, "Access denied", "Permission is either not granted or has been removed."),
    131008: (400, "Required parameter is missing", "A required parameter is missing."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131016: (500, "Service unavailable", "A service is temporarily unavailable."),
    131021: (400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: (
        400,
        "Message Undeliverable",
        "Message failed to send because the recipient is not a WhatsApp user or has not accepted "
        "the latest terms.",
    ),
    131031: (400, "Account has been locked", "The business account has been restricted or disabled."),
    131042: (400, "Business eligibility payment issue", "There was an error related to your payment method."),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed "
        "since the customer last replied to this number.",
    ),
    131048: (
        400,
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how "
        "many messages can be sent from this phone number.",
    ),
    131049: (
        400,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    131050: (400, "User has stopped marketing messages", "The user has opted out of marketing messages."),
    131051: (400, "Unsupported message type", "Message type is currently not supported."),
    131053: (400, "Media upload error", "Unable to upload the media used in the message."),
    131056: (
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to "
        "the same phone number in a short period of time.",
    ),
    131057: (500, "Account in maintenance mode", "Business Account is in maintenance mode."),
    132000: (
        400,
        "Number of parameters does not match the expected number of params",
        "The number of parameters does not match the number of placeholders in the template.",
    ),
    132001: (
        404,
        "Template name does not exist in the translation",
        "The template does not exist in this language or is not approved.",
    ),
    132005: (400, "Translated text too long", "Translated text is too long."),
    132012: (
        400,
        "Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    132015: (400, "Template is Paused", "Template is paused due to low quality."),
    132016: (400, "Template is Disabled", "Template has been paused too many times due to low quality."),
    133010: (400, "Account not registered", "The phone number is not registered with Cloud API."),
}

# Codes Meta writes without the "(#code) " prefix.
_BARE_MESSAGES = {190: "Error validating access token: Session has expired or the token is invalid."}
_TRANSIENT = frozenset({1, 2, 4, 130429, 131000, 131016, 131057})


def default_status(code: int) -> int:
    """The HTTP status Meta answers error `code` with (400 for codes the catalogue lacks)."""
    entry = CATALOGUE.get(code)
    return entry[0] if entry else 400


def envelope(code: int, details: str | None = None, message: str | None = None) -> dict:
    """Meta's error envelope for `code`; `details` replaces the catalogue's error_data.details."""
    _, title, default_details = CATALOGUE.get(code, (400, "Error", f"Error {code}."))
    error = {
        "message": message or _BARE_MESSAGES.get(code) or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or default_details},
        "error_user_title": title,
        "error_user_msg": details or default_details,
        "fbtrace_id": "A" + secrets.token_urlsafe(16)[:20],
    }
    if code in _TRANSIENT:
        error["is_transient"] = True
    if code == 190:
        error["error_subcode"] = 463
        del error["error_data"]
    return {"error": error}


def unknown_object(object_id: str, method: str) -> dict:
    """What Graph answers for an id it does not know (or that the token may not see)."""
    error = envelope(
        100,
        message=f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot "
        "be loaded due to missing permissions, or does not support this operation.",
    )
    error["error"].update(type="GraphMethodException", error_subcode=33)
    return error


def unsupported(method: str) -> dict:
    """What Graph answers for a path or method it does not serve."""
    error = envelope(100, message=f"Unsupported request - method type: {method.lower()}")
    error["error"]["type"] = "GraphMethodException"
    return error


class GraphError(Exception):
    """Raised by a handler to answer with Meta's envelope for `code`."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        body: dict | None = None,
    ):
        super().__init__(f"({code}) {details or ''}")
        self.code = code
        self.status = status or default_status(code)
        self.retry_after = retry_after
        self.body = body or envelope(code, details)
