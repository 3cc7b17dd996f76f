"""Injected failures: queued rules make the next matching sends fail (or stall) the way Meta's do."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from flowapp.sandbox.errors import default_status

TIMEOUT_SECONDS = 30.0
# Code 4 comes with Retry-After at Meta; a short default keeps tests and benchmarks quick.
DEFAULT_RETRY_AFTER = {4: 1.0}


@dataclass
class FaultRule:
    """One queued failure.

    A rule without `code` only slows the request down (latency_ms, timeout) and lets it succeed
    afterwards, the way a send can time out at the client and still go out at Meta.
    """

    code: int | None = None
    count: int = 1
    to: str | None = None
    http_status: int | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    timeout: bool = False

    @property
    def status(self) -> int:
        """The HTTP status to answer with."""
        return self.http_status or default_status(self.code or 100)

    @property
    def delay(self) -> float:
        """Seconds to wait before answering."""
        return TIMEOUT_SECONDS if self.timeout else self.latency_ms / 1000.0


def parse_rule(data: Any) -> FaultRule:
    """A FaultRule from the JSON of POST /_mock/faults.

    Raises:
        ValueError: the data does not describe a rule.
    """
    if not isinstance(data, Mapping):
        raise ValueError("a fault rule must be a JSON object")
    unknown = set(data) - set(FaultRule.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    rule = FaultRule(**data)
    _check_int(rule.code, "code", allow_none=True)
    _check_int(rule.count, "count", minimum=1)
    _check_int(rule.http_status, "http_status", allow_none=True, minimum=100)
    _check_int(rule.latency_ms, "latency_ms")
    if rule.to is not None:
        rule.to = "".join(ch for ch in str(rule.to) if ch.isdigit())
    if rule.retry_after is None and rule.code in DEFAULT_RETRY_AFTER:
        rule.retry_after = DEFAULT_RETRY_AFTER[rule.code]
    if rule.retry_after is not None and not isinstance(rule.retry_after, int | float):
        raise ValueError("retry_after must be a number of seconds")
    if not isinstance(rule.timeout, bool):
        raise ValueError("timeout must be true or false")
    return rule


def _check_int(value: Any, name: str, allow_none: bool = False, minimum: int = 0) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}")


class FaultQueue:
    """Rules in the order they were queued; each matching request uses up one count of the first match."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rules: list[FaultRule]) -> None:
        """Queue `rules` behind the ones already waiting."""
        with self._lock:
            self.rules.extend(rules)

    def clear(self) -> None:
        """Forget every queued rule."""
        with self._lock:
            self.rules.clear()

    def pending(self) -> list[dict]:
        """The queued rules as JSON-ready data."""
        with self._lock:
            return [asdict(rule) for rule in self.rules]

    def take(self, to: str | None, token_probe: bool = False) -> FaultRule | None:
        """Use up one count of the first rule matching a send to `to` (digits), or None.

        token_probe: the request is the phone-number GET, which only access-token faults (190) reach,
        so that Flowapp's "is the token working again" probe sees the same failure as its sends.
        """
        if not self.rules:  # the hot path: no lock when nothing is queued
            return None
        with self._lock:
            for index, rule in enumerate(self.rules):
                if token_probe and (rule.code != 190 or rule.to is not None):
                    continue
                if rule.to is not None and rule.to != to:
                    continue
                rule.count -= 1
                if rule.count <= 0:
                    del self.rules[index]
                return rule
        return None
