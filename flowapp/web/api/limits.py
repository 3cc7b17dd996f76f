"""The API's rate limit per token (a fixed one-minute window in Redis) and its CORS headers."""

from __future__ import annotations

import logging
import time

from flask import current_app, g, request
from redis.exceptions import RedisError

from flowapp.extensions import redis_failed, redis_quick, redis_usable
from flowapp.web.api.common import api_error

log = logging.getLogger("flowapp.http")

WINDOW = 60
ALLOWED_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
EXPOSED_HEADERS = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-ID"


def check(key: str):
    """None while `key` has requests left this minute; else a 429 with Retry-After.

    Fixed window: at most API_RATE_LIMIT per calendar minute (a burst of twice that is possible
    across a minute's edge, which is acceptable for this purpose and costs one INCR per request).
    If Redis is down or hung the request goes through: the API must not fail, or wait, because its
    limiter does.
    """
    limit = int(current_app.config.get("API_RATE_LIMIT") or 0)
    if limit <= 0 or not redis_usable():
        return None
    now = time.time()
    window = int(now // WINDOW)
    redis_key = f"flowapp:api:rate:{key}:{window}"
    try:
        pipe = redis_quick().pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, WINDOW + 5)
        used = int(pipe.execute()[0])
    except (RedisError, OSError):
        redis_failed()  # the next requests skip the limiter for a few seconds instead of waiting too
        log.warning("API rate limit not checked: Redis does not answer")
        return None
    g.rate_limit = (limit, max(0, limit - used))
    if used <= limit:
        return None
    retry_after = max(1, int((window + 1) * WINDOW - now + 0.999))
    response = api_error(
        429, "rate_limited", f"More than {limit} requests in a minute; try again in {retry_after} s."
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def parse_origins(raw: str | None) -> tuple[str, ...]:
    """The origins of API_CORS_ORIGINS (comma-separated), without trailing slashes."""
    return tuple(o.strip().rstrip("/") for o in (raw or "").split(",") if o.strip())


def _allowed_origin() -> str | None:
    origin = request.headers.get("Origin", "").rstrip("/")
    origins = parse_origins(current_app.config.get("API_CORS_ORIGINS"))
    if not origin or not origins:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def preflight():
    """Answer a CORS preflight (204 with the allowed methods and headers, or 204 without them)."""
    response = current_app.response_class(status=204)
    allowed = _allowed_origin()
    if allowed:
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def add_headers(response) -> None:
    """X-RateLimit-* for the token's window; Access-Control-Allow-Origin for an allowed origin."""
    rate = g.get("rate_limit")
    if rate:
        response.headers["X-RateLimit-Limit"] = str(rate[0])
        response.headers["X-RateLimit-Remaining"] = str(rate[1])
    allowed = _allowed_origin()
    if allowed:
        # Bearer tokens, not cookies: no Allow-Credentials, so a session never rides along.
        response.headers["Access-Control-Allow-Origin"] = allowed
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers.add("Vary", "Origin")
