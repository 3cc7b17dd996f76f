"""WhatsApp credentials entered in Settings: stored encrypted, and used over the environment's.

Each value lives in the `settings` table under `credential.<NAME>`, encrypted with Fernet (AES-128-CBC
plus HMAC-SHA256) under a key derived from SECRET_KEY with HKDF-SHA256. Changing SECRET_KEY therefore
makes stored credentials unreadable: they are then ignored (the environment's values apply again)
and Settings asks for them once more.

Precedence: a value stored in Settings wins over the environment variable of the same name; clearing
it in Settings brings the environment's value back. Every process reads them into its app config
(`apply`), at most every REFRESH_SECONDS, so the web processes check webhooks with the new app secret
and the workers send with the new token within seconds of a change, without a restart.
"""

from __future__ import annotations

import base64
import logging
import time
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from sqlalchemy import Engine, select

from flowapp.config import DEFAULT_GRAPH_API_URL
from flowapp.extensions import db
from flowapp.models import Setting
from flowapp.services import settings

log = logging.getLogger("flowapp.settings")

# Name -> whether it is a secret (write-only: never shown again once stored).
FIELDS = {
    "WHATSAPP_TOKEN": True,
    "PHONE_NUMBER_ID": False,
    "BUSINESS_ID": False,
    "APP_SECRET": True,
    # Not secret from the people who configure Meta: they paste it into Meta's dashboard.
    "WEBHOOK_VERIFY_TOKEN": False,
}
KEY_PREFIX = "credential."
REFRESH_SECONDS = 10.0
MAX_LENGTH = 1024
_HKDF_INFO = b"flowapp settings credentials v1"


class CredentialError(ValueError):
    """A value that cannot be stored; the message says why."""


@cache
def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str, secret_key: str) -> str:
    """`value` encrypted under a key derived from `secret_key` (text, safe to store)."""
    return _fernet(secret_key).encrypt(value.encode()).decode()


def decrypt(token: str, secret_key: str) -> str | None:
    """The plain value, or None when it was encrypted under another SECRET_KEY (or was altered)."""
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def store(name: str, value: str) -> None:
    """Store one credential, encrypted (flushed). An empty value is refused: use `clear`."""
    if name not in FIELDS:
        raise CredentialError(f"Unknown credential {name}.")
    value = (value or "").strip()
    if not value:
        raise CredentialError("Enter a value, or use Clear to go back to the environment's.")
    if len(value) > MAX_LENGTH or any(ch.isspace() for ch in value):
        raise CredentialError(f"{name} must be one word of at most {MAX_LENGTH} characters.")
    if name in ("PHONE_NUMBER_ID", "BUSINESS_ID") and not value.isdigit():
        raise CredentialError(f"{name} is a number (digits only), as Meta's dashboard shows it.")
    settings.put(KEY_PREFIX + name, {"encrypted": encrypt(value, current_app.config["SECRET_KEY"])})


def clear(name: str) -> None:
    """Forget a stored credential (flushed): the environment's value applies again."""
    settings.delete(KEY_PREFIX + name)


def stored_values(app: Flask | None = None) -> dict[str, str | None]:
    """{name: plain value} of every stored credential; None for one that cannot be decrypted."""
    app = app or current_app._get_current_object()
    query = select(Setting.key, Setting.value).where(Setting.key.startswith(KEY_PREFIX))
    bind = db.session.get_bind()
    if isinstance(bind, Engine) and not db.session().in_transaction():
        # A connection of its own, closed at once: reading here must not open the request's
        # transaction (on SQLite that would hold the write lock the webhook intake writer needs).
        with bind.connect() as connection:
            rows = connection.execute(query).all()
    else:
        # Inside a transaction already (a job, a test): read in it. A second connection would wait
        # on SQLite for the write lock this very transaction holds.
        rows = db.session.execute(query).all()
    values = {}
    for key, value in rows:
        name = key[len(KEY_PREFIX) :]
        if name in FIELDS and isinstance(value, dict):
            values[name] = decrypt(str(value.get("encrypted", "")), app.config["SECRET_KEY"])
    return values


def describe(app: Flask | None = None) -> dict[str, dict]:
    """For the Settings page, per credential: where its value comes from, and the value itself only
    when it is not a secret. {"source": "settings"|"environment"|"unset"|"unreadable", "value"}."""
    app = app or current_app._get_current_object()
    stored = stored_values(app)
    environment = _state(app)["environment"]
    result = {}
    for name, secret in FIELDS.items():
        if name in stored:
            source = "settings" if stored[name] is not None else "unreadable"
            value = stored[name]
        else:
            value = environment.get(name, app.config.get(name))
            source = "environment" if value else "unset"
        result[name] = {"source": source, "secret": secret, "value": None if secret else value}
    return result


def refresh_due(app: Flask) -> bool:
    """Whether `apply` would read the stored credentials now (it does every REFRESH_SECONDS)."""
    return time.monotonic() >= _state(app)["checked"] + REFRESH_SECONDS


def apply(app: Flask | None = None, *, force: bool = False) -> bool:
    """Overlay stored credentials onto `app.config` (at most every REFRESH_SECONDS unless `force`).

    Returns True when the config changed. The environment's values are remembered the first time, so
    that clearing a stored credential restores them.
    """
    app = app or current_app._get_current_object()
    state = _state(app)
    now = time.monotonic()
    if not force and now < state["checked"] + REFRESH_SECONDS:
        return False
    state["checked"] = now
    try:
        stored = {k: v for k, v in stored_values(app).items() if v}
    except Exception:  # a database not migrated yet, or down: keep what the config has
        log.warning("could not read stored credentials; keeping the current ones", exc_info=True)
        return False
    # Only names stored now, or overlaid before (to restore them): a value set some other way stays.
    wanted = {name: stored[name] for name in stored}
    wanted.update({n: state["environment"].get(n) for n in state["applied"] if n not in stored})
    state["applied"] = set(stored)
    changed = {name: value for name, value in wanted.items() if app.config.get(name) != value}
    if not changed:
        return False
    app.config.update(changed)
    _derive(app)
    _redact([value for name, value in stored.items() if FIELDS[name] or name == "WEBHOOK_VERIFY_TOKEN"])
    log.info("WhatsApp credentials from Settings applied: %s", ", ".join(sorted(stored)) or "none")
    return True


def reset(app: Flask) -> None:
    """Put the environment's values back and forget the overlay (for tests and shutdown)."""
    state = app.extensions.pop("flowapp_credentials", None)
    if state is not None:
        app.config.update({name: state["environment"].get(name) for name in state["applied"]})
        _derive(app)


def _derive(app: Flask) -> None:
    """What follows from the credentials: sandbox mode, the default Graph host, the cached client."""
    app.config["SANDBOX"] = not app.config.get("WHATSAPP_TOKEN")
    if app.config.get("GRAPH_API_URL_DEFAULTED"):
        sandbox = app.config["SANDBOX_GRAPH_API_URL"]
        app.config["GRAPH_API_URL"] = sandbox if app.config["SANDBOX"] else DEFAULT_GRAPH_API_URL
    previous = app.extensions.pop("flowapp_graph", None)
    if previous is not None:
        previous.close()


def _state(app: Flask) -> dict:
    state = app.extensions.get("flowapp_credentials")
    if state is None:
        state = {
            "checked": float("-inf"),
            "environment": {name: app.config.get(name) for name in FIELDS},
            "applied": set(),
        }
        app.extensions["flowapp_credentials"] = state
    return state


def redact(values: list[str]) -> None:
    """Mask these secrets in every log line from now on (a key stored in Settings, for example)."""
    _redact(values)


def _redact(values: list[str]) -> None:
    """Teach the log filters the new secrets, so they are masked like the environment's."""
    from flowapp.logs import RedactingFilter

    loggers = [logging.getLogger(), *[logging.getLogger(name) for name in ("flowapp", "rq")]]
    for logger in loggers:
        for handler in logger.handlers:
            for log_filter in handler.filters:
                if isinstance(log_filter, RedactingFilter):
                    known = set(log_filter.secrets) | {v for v in values if v and len(v) >= 4}
                    log_filter.secrets = sorted(known, key=len, reverse=True)
