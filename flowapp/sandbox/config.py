"""The mock's settings: set at start-up, and changeable at run time through POST /_mock/config."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class MockConfig:
    """What the mock Graph API plays: whose number it is, who it calls back, and how fast.

    token / phone_number_id None mean "accept any" (sandbox mode has no real Meta credentials).
    Status webhooks are sent only when webhook_url and app_secret are both set and statuses is on.
    """

    token: str | None = None
    phone_number_id: str | None = None
    waba_id: str = "102290129340398"
    display_phone_number: str = "15550100000"
    webhook_url: str | None = None
    app_secret: str | None = None
    statuses: bool = True
    sent_delay: float = 0.05
    delivered_delay: float = 0.3
    read_delay: float = 1.0
    latency_ms: int = 0
    enforce_window: bool = False
    validate: bool = True
    record: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready data (GET /_mock/config)."""
        return asdict(self)

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply `values` (field name -> new value), all or nothing.

        Raises:
            ValueError: an unknown field or a value of the wrong type; nothing is changed then.
        """
        converted = {name: _convert(name, value) for name, value in values.items()}
        for name, value in converted.items():
            setattr(self, name, value)


_KINDS = {field.name: field.type for field in fields(MockConfig)}


def _convert(name: str, value: Any) -> Any:
    kind = _KINDS.get(name)
    if kind is None:
        raise ValueError(f"unknown setting {name!r} (known: {', '.join(sorted(_KINDS))})")
    if value is None and "None" in kind:
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
    elif kind in ("int", "float"):
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return int(value) if kind == "int" else float(value)
    elif isinstance(value, str):
        return value
    raise ValueError(f"{name} must be {kind.replace('|', 'or')}, got {value!r}")


def config_from_env(environ: Mapping[str, str] | None = None) -> MockConfig:
    """Settings from the variables Flowapp itself reads, so the mock plays the configured account.

    SANDBOX_WEBHOOK_URL, APP_SECRET, WHATSAPP_TOKEN, PHONE_NUMBER_ID, BUSINESS_ID; an empty variable
    counts as unset (WHATSAPP_TOKEN is usually empty in sandbox mode: any token is accepted then).
    """
    env = os.environ if environ is None else environ

    def value(name: str) -> str | None:
        return env.get(name, "").strip() or None

    return MockConfig(
        token=value("WHATSAPP_TOKEN"),
        phone_number_id=value("PHONE_NUMBER_ID"),
        waba_id=value("BUSINESS_ID") or MockConfig.waba_id,
        webhook_url=value("SANDBOX_WEBHOOK_URL"),
        app_secret=value("APP_SECRET"),
    )
