"""Settings > AI provider: where the model is, its key (encrypted, write-only), defaults, prices, budgets.

Stored in the settings table: `ai.provider` holds the plain values, `ai.api_key` the key encrypted
like the WhatsApp token (credentials.encrypt: Fernet under a key derived from SECRET_KEY). Unset
values fall back to the environment (AI_BASE_URL, AI_MODEL, AI_API_KEY; docs/ai.md).
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import current_app

from flowapp.ai import ProviderConfig
from flowapp.services import credentials, settings

PROVIDER_KEY = "ai.provider"
API_KEY_KEY = "ai.api_key"
DEFAULTS = {
    "base_url": None,  # None: the environment's AI_BASE_URL (the fake model when unset)
    "model": None,  # None: AI_MODEL
    "api_version": "",  # set only for Azure OpenAI
    "temperature": 0.2,
    "max_tokens": 500,
    "timeout": 60,  # seconds to wait for an answer (per attempt)
    "prices": {},  # model -> [input, output] per 1M tokens
    "daily_tokens": None,  # the whole account, per day; None: no limit
    "automation_daily_tokens": None,  # each automation, per day, unless the caller gives its own
}
MAX_TOKENS_LIMIT = 128_000
MAX_BUDGET = 10**12
MAX_PRICES = 50


class SettingsError(ValueError):
    """Refused values: `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def stored() -> dict:
    """The values as stored in Settings over DEFAULTS (None: the environment's applies)."""
    saved = settings.get(PROVIDER_KEY) or {}
    return {**DEFAULTS, **{k: v for k, v in saved.items() if k in DEFAULTS}}


def current() -> dict:
    """The values in force: stored() with base_url and model resolved from the environment."""
    values = stored()
    values["base_url"] = values["base_url"] or current_app.config["AI_BASE_URL"]
    values["model"] = values["model"] or current_app.config["AI_MODEL"]
    return values


def sandbox_url() -> str:
    """The built-in fake model's address (the default when no base URL is set anywhere)."""
    return current_app.config["SANDBOX_AI_URL"]


def prices() -> dict[str, tuple[float, float]]:
    """Per-model prices per 1M tokens (input, output)."""
    return {model: (float(p[0]), float(p[1])) for model, p in current()["prices"].items()}


def key_state() -> str:
    """ "settings", "environment", "unset" or "unreadable" (stored under another SECRET_KEY)."""
    stored = settings.get(API_KEY_KEY)
    if stored is not None:
        return "settings" if _decrypted(stored) is not None else "unreadable"
    return "environment" if current_app.config.get("AI_API_KEY") else "unset"


def api_key() -> str | None:
    """The key to send: Settings' own, else the environment's; None when neither is set."""
    stored = settings.get(API_KEY_KEY)
    key = _decrypted(stored) if stored is not None else None
    key = key or current_app.config.get("AI_API_KEY")
    if key:
        credentials.redact([key])
    return key or None


def _decrypted(stored) -> str | None:
    if not isinstance(stored, dict):
        return None
    return credentials.decrypt(str(stored.get("encrypted", "")), current_app.config["SECRET_KEY"])


def provider_config(**overrides) -> ProviderConfig:
    """The client's configuration from Settings (key included), with a node's overrides."""
    values = current()
    return ProviderConfig(
        base_url=values["base_url"],
        model=overrides.get("model") or values["model"],
        api_key=api_key(),
        api_version=values["api_version"] or None,
        temperature=values["temperature"],
        max_tokens=values["max_tokens"],
        read_timeout=float(values["timeout"]),
    )


def save(form: dict) -> None:
    """Validate and store the submitted values (flushed). Raises SettingsError, storing nothing.

    form: base_url, model, api_version, temperature, max_tokens, timeout, prices (lines "model input output"),
    daily_tokens, automation_daily_tokens; api_key (empty: keep), clear_api_key.
    """
    values, errors = parse(form)
    key = (form.get("api_key") or "").strip()
    if key and (len(key) > credentials.MAX_LENGTH or any(ch.isspace() for ch in key)):
        errors["api_key"] = f"The key is one word of at most {credentials.MAX_LENGTH} characters."
    if errors:
        raise SettingsError(errors)
    settings.put(PROVIDER_KEY, values)
    if form.get("clear_api_key"):
        settings.delete(API_KEY_KEY)
    elif key:
        settings.put(API_KEY_KEY, {"encrypted": credentials.encrypt(key, current_app.config["SECRET_KEY"])})
        credentials.redact([key])


def parse(form: dict) -> tuple[dict, dict[str, str]]:
    """(values to store, {field: error}) from the form's strings."""
    values, errors = {}, {}
    for name, parser in FIELD_PARSERS.items():
        try:
            values[name] = parser((form.get(name) or "").strip())
        except ValueError as exc:
            errors[name] = str(exc)
    return values, errors


def _base_url(raw: str) -> str | None:
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(raw) > 500:
        raise ValueError("Give the provider's address, like https://api.openai.com/v1.")
    if parts.query or parts.fragment:
        raise ValueError("The address takes no ?query or #fragment (Azure's version has its own box).")
    return raw.rstrip("/")


def _word(label: str, limit: int):
    def parse_word(raw: str) -> str | None:
        if len(raw) > limit or any(ch.isspace() for ch in raw):
            raise ValueError(f"{label} is one word of at most {limit} characters.")
        return raw or None

    return parse_word


def _temperature(raw: str) -> float:
    value = _number(raw or "0.2", "The temperature")
    if not 0 <= value <= 2:
        raise ValueError("The temperature is a number from 0 to 2.")
    return value


def _whole(label: str, low: int, high: int, optional: bool):
    def parse_whole(raw: str) -> int | None:
        if not raw and optional:
            return None
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValueError(f"{label} is a whole number from {low:,} to {high:,}.")
        return int(raw)

    return parse_whole


def _number(raw: str, label: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{label} must be a number.") from None
    if not math.isfinite(value):
        raise ValueError(f"{label} must be a number.")
    return value


def _prices(raw: str) -> dict[str, list[float]]:
    table = {}
    lines = [line.split() for line in raw.splitlines() if line.strip()]
    if len(lines) > MAX_PRICES:
        raise ValueError(f"At most {MAX_PRICES} prices.")
    for number, words in enumerate(lines, start=1):
        if len(words) != 3 or len(words[0]) > 200:
            raise ValueError(
                f"Line {number}: write 'model input-price output-price', like gpt-4o-mini 0.15 0.60."
            )
        prices = [_number(w, f"Line {number}: a price") for w in words[1:]]
        if any(p < 0 or p > 10_000 for p in prices):
            raise ValueError(f"Line {number}: a price per million tokens is from 0 to 10,000.")
        table[words[0]] = prices
    return table


FIELD_PARSERS = {
    "base_url": _base_url,
    "model": _word("The model", 200),
    "api_version": lambda raw: _word("The API version", 40)(raw) or "",
    "temperature": _temperature,
    "max_tokens": lambda raw: _whole("Max tokens", 1, MAX_TOKENS_LIMIT, False)(raw or "500"),
    "timeout": lambda raw: _whole("The timeout", 1, 600, False)(raw or "60"),
    "prices": _prices,
    "daily_tokens": _whole("The daily token budget", 1, MAX_BUDGET, True),
    "automation_daily_tokens": _whole("The per-automation daily budget", 1, MAX_BUDGET, True),
}
