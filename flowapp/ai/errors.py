"""Typed errors of a model call: each says whether trying again can help, and never holds the key."""

from __future__ import annotations


class AIError(Exception):
    """A model call that failed. `retryable`: the same request may succeed later.

    `status` is the HTTP status (None when no answer came), `attempts` how many requests were made,
    `retry_after` the wait the provider asked for.
    The message is for people and logs: it never contains the API key (the client masks it).
    """

    retryable = False
    kind = "error"

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.attempts = attempts
        self.retry_after: float | None = None  # seconds the provider asked to wait (429, 503)


class AuthError(AIError):
    """401/403: the key is missing, wrong or lacks access to the model."""

    kind = "auth"


class BadRequest(AIError):
    """400/404/413/422: the provider refused the request itself (unknown model, bad parameter)."""

    kind = "bad_request"


class RateLimited(AIError):
    """429 on every attempt (or a Retry-After beyond the time left)."""

    retryable = True
    kind = "rate_limited"


class ServerError(AIError):
    """5xx on every attempt."""

    retryable = True
    kind = "server"


class ConnectionFailed(AIError):
    """No connection could be made (refused, DNS, TLS, connect timeout) on every attempt."""

    retryable = True
    kind = "connection"


class Timeout(AIError):
    """The model did not answer within the read timeout.

    Not retried by the client: the provider may still be generating (and billing) the first answer,
    and a model that was too slow once is likely to be too slow again.
    """

    retryable = True
    kind = "timeout"


class BadResponse(AIError):
    """A 2xx answer that is not a Chat Completions response (no choices, no message)."""

    kind = "bad_response"
