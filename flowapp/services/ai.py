"""Calling the language model for an automation step: budgets first, then the call, then its record.

The nodes (issue 14, items 4-8) call `complete()`. It refuses with BudgetExceeded when today's
tokens (the account's, or the automation's) are spent, calls the provider configured in Settings >
AI provider, and records every outcome as an AICall row (flushed, not committed: the caller commits,
also after catching an AIFailure, so that failed and refused calls are counted). Keys never reach a
log; prompts and answers do only when the caller passes debug=True (the automation's debug switch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time

from flask import current_app
from sqlalchemy import func, select

from flowapp import transactions
from flowapp.ai import AIError, ChatClient, ProviderConfig, cost_micros
from flowapp.extensions import db
from flowapp.models import AICall
from flowapp.services import ai_settings, settings, triggers

log = logging.getLogger("flowapp.ai")
debug_log = logging.getLogger("flowapp.ai.debug")

OVERRIDES = ("model", "temperature", "max_tokens")
MAX_ERROR = 500


class AIFailure(Exception):
    """A step's model call did not produce an answer: the node takes its `failure` port."""


class BudgetExceeded(AIFailure):
    """Today's token budget is spent. `scope` is "account" or "automation"."""

    def __init__(self, scope: str, limit: int, used: int) -> None:
        who = "the account" if scope == "account" else "this automation"
        super().__init__(f"today's AI token budget for {who} is spent ({used:,} of {limit:,} tokens)")
        self.scope, self.limit, self.used = scope, limit, used


class CallFailed(AIFailure):
    """The provider failed after the client's retries; `error` is the flowapp.ai error (typed)."""

    def __init__(self, error: AIError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class Completion:
    """The answer and its accounting. cost_micros is None when the model has no price in Settings."""

    content: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_micros: int | None
    latency_ms: int
    attempts: int
    finish_reason: str | None
    call_id: int


def complete(
    messages: list[dict],
    *,
    automation_id: int | None = None,
    run_id: int | None = None,
    node_id: str = "",
    overrides: dict | None = None,
    response_format: dict | None = None,
    automation_budget: int | None = None,
    debug: bool = False,
) -> Completion:
    """Ask the configured model; record the call (flushed). Raises BudgetExceeded or CallFailed.

    messages: Chat Completions messages; customer text belongs in a "user" message, never inside the
    system prompt. overrides: a node's {"model", "temperature", "max_tokens"}. automation_budget:
    this automation's tokens per day, instead of Settings' default. No writes may be pending: the
    call ends the (read-only) transaction first, as any network call must (flowapp/transactions.py).
    """
    overrides = _checked(overrides)
    config = ai_settings.provider_config(model=overrides.get("model"))
    calling = {"automation_id": automation_id, "run_id": run_id, "node_id": node_id}
    check_budgets(automation_id, automation_budget, record={**calling, "model": config.model})
    return _call(config, messages, overrides, response_format, calling, debug)


def check_connection() -> Completion:
    """A tiny call with the current settings, for Settings' "Test connection" (recorded, not
    budget-checked: an admin checking the key must see whether it works). Raises CallFailed."""
    config = ai_settings.provider_config()
    messages = [{"role": "user", "content": "Reply with OK."}]
    calling = {"automation_id": None, "run_id": None, "node_id": "settings-test"}
    return _call(config, messages, {"max_tokens": 5}, None, calling, False)


def _call(config, messages, overrides, response_format, calling: dict, debug: bool) -> Completion:
    transactions.before_network("a call to the language model")
    where = f"automation {calling['automation_id']}, node {calling['node_id']!r}"
    if debug:
        debug_log.info("ai prompt (%s): %s", where, messages)
    try:
        result = _client(config).complete(
            messages,
            temperature=overrides.get("temperature"),
            max_tokens=overrides.get("max_tokens"),
            response_format=response_format,
        )
    except AIError as error:
        log.warning("ai call failed (%s): %s", where, error.message)
        _record(calling, model=config.model, status="error", attempts=error.attempts,
                error=f"{error.kind}: {error.message}"[:MAX_ERROR])  # fmt: skip
        raise CallFailed(error) from None
    if debug:
        debug_log.info("ai answer (%s): %s", where, result.content)
    prices = ai_settings.prices()
    # Priced by the name configured (providers answer with a dated name: gpt-4o-mini-2024-07-18).
    priced = config.model if config.model in prices else result.model
    cost = cost_micros(priced, result.tokens_in, result.tokens_out, prices)
    call = _record(
        calling, model=result.model, status="ok", tokens_in=result.tokens_in, tokens_out=result.tokens_out,
        cost_micros=cost, latency_ms=result.latency_ms, attempts=result.attempts,
    )  # fmt: skip
    return Completion(
        content=result.content, model=result.model, tokens_in=result.tokens_in,
        tokens_out=result.tokens_out, cost_micros=cost, latency_ms=result.latency_ms,
        attempts=result.attempts, finish_reason=result.finish_reason, call_id=call.id,
    )  # fmt: skip


def _record(calling: dict, **fields) -> AICall:
    """Add the call's row (flushed): `calling` names who called, `fields` the outcome."""
    call = AICall(**{**calling, **fields})
    call.model = call.model[:200]
    db.session.add(call)
    db.session.flush()
    return call


def _checked(overrides: dict | None) -> dict:
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(OVERRIDES)
    if unknown:
        raise ValueError(f"unknown AI overrides: {', '.join(sorted(unknown))}")
    return {k: v for k, v in overrides.items() if v is not None}


def _client(config: ProviderConfig) -> ChatClient:
    """The app's client for `config` (kept while the settings stay the same, for keep-alive)."""
    cached = current_app.extensions.get("flowapp_ai_client")
    if cached is None or cached.config != config:
        cached = ChatClient(config, before_request=transactions.check_outbound)
        current_app.extensions["flowapp_ai_client"] = cached
    return cached


def day_start() -> datetime:
    """The start of today in the account's time zone (Settings > Sending), in UTC."""
    zone = triggers.zone(settings.cached("timezone"))
    local = datetime.now(zone).date()
    return datetime.combine(local, time.min, tzinfo=zone).astimezone(UTC)


def tokens_today(automation_id: int | None = None) -> int:
    """Tokens (in + out) used since the start of today, by the account or by one automation."""
    query = select(func.coalesce(func.sum(AICall.tokens_in + AICall.tokens_out), 0)).where(
        AICall.created_at >= day_start()
    )
    if automation_id is not None:
        query = query.where(AICall.automation_id == automation_id)
    return int(db.session.scalar(query))


def check_budgets(
    automation_id: int | None, automation_budget: int | None, record: dict | None = None
) -> None:
    """Raise BudgetExceeded when today's account or automation budget is spent (recording the
    refusal as a "budget" AICall when `record` gives automation_id, run_id, node_id and model, and
    alerting)."""
    values = ai_settings.current()
    limits = [("account", values["daily_tokens"], None)]
    if automation_id is not None:
        limits.append(("automation", automation_budget or values["automation_daily_tokens"], automation_id))
    for scope, limit, owner in limits:
        if limit is None:
            continue
        used = tokens_today(owner)
        if used >= limit:
            exceeded = BudgetExceeded(scope, limit, used)
            _alert(exceeded, automation_id)
            if record is not None:
                _record(record, status="budget", error=str(exceeded))
            raise exceeded


def _alert(exceeded: BudgetExceeded, automation_id: int | None) -> None:
    """The alert: a WARNING with a structured event (no alerting system exists yet; docs/ai.md)."""
    log.warning(
        "ai budget exceeded: %s", exceeded,
        extra={"event": "ai.budget_exceeded", "scope": exceeded.scope, "limit": exceeded.limit,
               "used": exceeded.used, "automation_id": automation_id},
    )  # fmt: skip
