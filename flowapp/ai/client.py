"""ChatClient: one Chat Completions call with timeouts, retries and typed errors.

Speaks what every OpenAI-compatible server accepts: POST {base_url}/chat/completions with
`Authorization: Bearer <key>`; for Azure OpenAI (an `api_version` is set) the `api-key` header and
`?api-version=` instead. Retries 429, 5xx and failed connections with exponential backoff that
honours Retry-After, within `max_total_seconds`. One log line per call, without key or content.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from flowapp.ai import errors
from flowapp.ai.response import parse_completion, provider_message
from flowapp.ai.retry import backoff, retry_after_seconds

log = logging.getLogger("flowapp.ai.client")

STATUS_ERRORS = {401: errors.AuthError, 403: errors.AuthError, 429: errors.RateLimited}


@dataclass(frozen=True)
class ProviderConfig:
    """Where and how to call the model. `api_version` set: Azure OpenAI's conventions."""

    base_url: str
    model: str
    api_key: str | None = None
    api_version: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 3
    max_total_seconds: float = 90.0
    backoff_base: float = 0.5  # seconds before the second attempt, doubled after each failure

    def __repr__(self) -> str:  # the key must not leak through a repr in a traceback or log
        return f"ProviderConfig(base_url={self.base_url!r}, model={self.model!r})"


@dataclass(frozen=True)
class Result:
    """A model's answer and what it cost to get it."""

    content: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int
    attempts: int
    finish_reason: str | None = None


class ChatClient:
    """Chat Completions against one provider; share it between threads (a Session per thread)."""

    def __init__(
        self, config: ProviderConfig, *, before_request: Callable[[str], None] | None = None
    ) -> None:
        self.config = config
        self.before_request = before_request
        self._local = threading.local()

    def complete(
        self,
        messages: list[dict],
        *,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        response_format: dict | None = None,
    ) -> Result:
        """Ask the model; returns a Result or raises an errors.AIError subclass.

        response_format: e.g. {"type": "json_schema", "json_schema": {"name": ..., "schema": ...,
        "strict": true}} for constrained output (providers that ignore it answer free text).
        """
        body = self._body(messages, model, temperature, max_tokens, response_format)
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                result = self._attempt(body, attempt, started)
            except errors.AIError as error:
                error.attempts = attempt
                wait = self._wait_before_retry(error, attempt, started)
                if wait is None:
                    log.warning("ai call failed: %s (%s attempts)", error.kind, attempt)
                    raise
                log.info("ai call: %s, attempt %s, retrying in %.2fs", error.kind, attempt, wait)
                time.sleep(wait)
                continue
            log.info(
                "ai call ok: model=%s tokens=%s/%s latency=%sms attempts=%s",
                result.model, result.tokens_in, result.tokens_out, result.latency_ms, attempt,
            )  # fmt: skip
            return result

    def _body(self, messages, model, temperature, max_tokens, response_format) -> dict:
        config = self.config
        body: dict = {"model": model or config.model, "messages": messages}
        temperature = config.temperature if temperature is None else temperature
        if temperature is not None:
            body["temperature"] = temperature
        max_tokens = config.max_tokens if max_tokens is None else max_tokens
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if response_format is not None:
            body["response_format"] = response_format
        return body

    def _attempt(self, body: dict, attempt: int, started: float) -> Result:
        url, headers, params = self._target()
        if self.before_request is not None:
            self.before_request(url)
        try:
            response = self._session().post(
                url,
                json=body,
                headers=headers,
                params=params,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
            )
        except requests.ConnectTimeout as exc:
            raise errors.ConnectionFailed(self._mask(f"could not connect to {url}: {exc}")) from None
        except requests.Timeout:
            raise errors.Timeout(
                f"the model did not answer within {self.config.read_timeout:g} s ({url})"
            ) from None
        except requests.RequestException as exc:
            raise errors.ConnectionFailed(self._mask(f"could not reach {url}: {exc}")) from None
        if response.status_code >= 300:
            raise self._status_error(response)
        try:
            parsed = parse_completion(response)
        except ValueError as exc:
            raise errors.BadResponse(self._mask(f"not a Chat Completions answer: {exc}")) from None
        parsed["model"] = parsed["model"] or body["model"]
        latency = round((time.monotonic() - started) * 1000)
        return Result(**parsed, latency_ms=latency, attempts=attempt)

    def _target(self) -> tuple[str, dict, dict]:
        config = self.config
        url = config.base_url.rstrip("/") + "/chat/completions"
        headers, params = {}, {}
        if config.api_version:
            params["api-version"] = config.api_version
            if config.api_key:
                headers["api-key"] = config.api_key
        elif config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        return url, headers, params

    def _status_error(self, response: requests.Response) -> errors.AIError:
        status = response.status_code
        detail = self._mask(provider_message(response))
        message = f"the provider answered {status}: {detail}" if detail else f"the provider answered {status}"
        if status in STATUS_ERRORS:
            error = STATUS_ERRORS[status](message, status=status)
        elif status >= 500:
            error = errors.ServerError(message, status=status)
        else:
            error = errors.BadRequest(message, status=status)
        error.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return error

    def _wait_before_retry(self, error: errors.AIError, attempt: int, started: float) -> float | None:
        """Seconds to wait before trying again, or None to give up."""
        retried = isinstance(error, errors.RateLimited | errors.ServerError | errors.ConnectionFailed)
        if not retried or attempt >= self.config.max_attempts:
            return None
        wait = backoff(attempt, error.retry_after, self.config.backoff_base)
        left = self.config.max_total_seconds - (time.monotonic() - started)
        return wait if wait < left else None

    def _mask(self, text: str) -> str:
        key = self.config.api_key
        return text.replace(key, "***") if key else text

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session
