"""services/ai.complete against the real fake model server and the real database: records, cost,
budgets per day (account and automation, in the account's time zone), failures and logging."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from flowapp.extensions import db
from flowapp.models import AICall, Setting
from flowapp.sandbox.fake_llm import FakeLLM, FakeLLMServer
from flowapp.services import ai, ai_settings, automations, settings

HELLO = [{"role": "user", "content": "one two three"}]  # 4 tokens in; "Echo: one two three" 6 out


def configure(**values) -> None:
    settings.put(ai_settings.PROVIDER_KEY, {**(settings.get(ai_settings.PROVIDER_KEY) or {}), **values})


def calls() -> list[AICall]:
    return list(db.session.scalars(select(AICall).order_by(AICall.id)))


def make_automation(name: str) -> int:
    automation = automations.create(name, trigger={"type": "any_message"})
    db.session.commit()
    return automation.id


def test_complete_records_the_call_with_its_cost(session, fake_llm):
    """An answered call returns the content and is recorded with tokens, latency and its price."""
    automation_id = make_automation("Triage")
    configure(prices={"fake-model": [2.0, 8.0]})
    db.session.commit()
    result = ai.complete(HELLO, automation_id=automation_id, node_id="n1", overrides={"model": "fake-model"})
    assert (result.content, result.tokens_in, result.tokens_out) == ("Echo: one two three", 4, 6)
    assert result.cost_micros == 4 * 2 + 6 * 8  # micro-units: tokens * price per 1M tokens
    [call] = calls()
    assert (call.automation_id, call.node_id, call.model, call.status) == (
        automation_id,
        "n1",
        "fake-model",
        "ok",
    )
    assert (call.tokens_in, call.tokens_out, call.cost_micros, call.attempts) == (4, 6, 56, 1)
    assert call.id == result.call_id and call.error is None


def test_unknown_price_means_no_cost(session, fake_llm):
    """A model without a price in Settings costs None (unknown), not 0."""
    configure(prices={"another-model": [1.0, 1.0]})
    db.session.commit()
    result = ai.complete(HELLO, overrides={"model": "unpriced"})
    assert result.cost_micros is None and calls()[0].cost_micros is None


def test_account_budget_refuses_once_spent(session, fake_llm, caplog):
    """Past the account's daily tokens the next call raises BudgetExceeded, is recorded and alerts."""
    configure(daily_tokens=10)
    db.session.commit()
    ai.complete(HELLO)  # 10 tokens: the budget is now spent
    db.session.commit()
    with pytest.raises(ai.BudgetExceeded) as caught:
        ai.complete(HELLO, node_id="n2")
    assert (caught.value.scope, caught.value.limit, caught.value.used) == ("account", 10, 10)
    assert [c.status for c in calls()] == ["ok", "budget"]
    assert "budget" in calls()[1].error
    [alert] = [r for r in caplog.records if getattr(r, "event", None) == "ai.budget_exceeded"]
    assert alert.levelno == logging.WARNING and alert.scope == "account"
    assert requests.get(f"{fake_llm.url}/_fake/requests", timeout=5).json()["count"] == 1


def test_automation_budget_is_per_automation(session, fake_llm):
    """One automation over its daily budget is refused; another still runs; a caller's own budget wins."""
    first, second = make_automation("First"), make_automation("Second")
    configure(automation_daily_tokens=10)
    db.session.commit()
    ai.complete(HELLO, automation_id=first)
    db.session.commit()
    with pytest.raises(ai.BudgetExceeded) as caught:
        ai.complete(HELLO, automation_id=first)
    assert caught.value.scope == "automation"
    db.session.commit()
    assert ai.complete(HELLO, automation_id=second).content
    db.session.commit()
    assert ai.complete(HELLO, automation_id=first, automation_budget=100).content


def test_budget_day_starts_in_the_account_time_zone(session, fake_llm):
    """Calls before today's midnight in the account's zone do not count against today."""
    settings.put("timezone", "Pacific/Kiritimati")  # UTC+14: its day starts well before UTC's
    start = ai.day_start()
    db.session.add_all([
        AICall(model="m", status="ok", tokens_in=50, tokens_out=50, created_at=start - timedelta(minutes=1)),
        AICall(model="m", status="ok", tokens_in=3, tokens_out=4, created_at=start + timedelta(minutes=1)),
    ])  # fmt: skip
    db.session.flush()
    assert start.utcoffset() == timedelta(0) and ai.tokens_today() == 7


def test_provider_failure_is_recorded_and_raised(session, fake_llm):
    """500 on every attempt: CallFailed carrying the typed error, and an error row with attempts."""
    requests.post(f"{fake_llm.url}/_fake/faults", json={"status": 500, "count": 3}, timeout=5)
    with pytest.raises(ai.CallFailed) as caught:
        ai.complete(HELLO, node_id="n3")
    assert caught.value.error.kind == "server" and isinstance(caught.value, ai.AIFailure)
    [call] = calls()
    assert (call.status, call.attempts, call.tokens_in) == ("error", 3, 0)
    assert call.error.startswith("server: the provider answered 500")


def test_prompts_are_logged_only_with_debug(session, fake_llm, caplog):
    """The customer's text is in the logs only when the caller passes debug=True."""
    caplog.set_level(logging.DEBUG)
    secret_text = [{"role": "user", "content": "my card is 4111 1111"}]
    ai.complete(secret_text)
    db.session.commit()
    assert "4111" not in caplog.text
    ai.complete(secret_text, debug=True)
    assert "4111" in caplog.text


def test_unknown_override_is_refused(session, fake_llm):
    """Overrides are model, temperature and max_tokens only; anything else is a programming error."""
    with pytest.raises(ValueError, match="unknown AI overrides: top_p"):
        ai.complete(HELLO, overrides={"top_p": 1})
    assert calls() == []


def test_key_is_encrypted_at_rest_and_sent(session, app):
    """A key saved in Settings is stored encrypted, sent to the provider and masked in errors."""
    key = "sk-live-ABCDEFGH12345678"
    with FakeLLMServer(FakeLLM(api_key=key)) as server:
        ai_settings.save({"base_url": server.base_url, "model": "fake-model", "api_key": key})
        db.session.commit()
        stored = db.session.get(Setting, ai_settings.API_KEY_KEY).value
        assert key not in str(stored) and stored["encrypted"]
        assert ai_settings.key_state() == "settings" and ai_settings.api_key() == key
        assert ai.complete(HELLO).content.startswith("Echo:")
        db.session.commit()
        ai_settings.save({"base_url": server.base_url, "api_key": "sk-wrong-99999999"})
        db.session.commit()
        with pytest.raises(ai.CallFailed) as caught:
            ai.complete(HELLO)
        assert caught.value.error.kind == "auth" and "sk-wrong-99999999" not in str(caught.value)
        assert "sk-wrong" not in calls()[-1].error
