"""Flowapp: a self-hosted WhatsApp automation platform.

`create_app(config=None)` is the only way to build the Flask app. Importing this package does
nothing else: no app, no connection, no file.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from flask import Flask

from flowapp.config import PROJECT_ROOT, Config, ConfigError, finalize

__all__ = ["ConfigError", "create_app"]


def create_app(config: Any = None) -> Flask:
    """Build the app.

    Args:
        config: None to read the environment (and `.env`); a mapping or a class whose upper-case
            attributes override the environment, as tests do.
    """
    settings = _load_settings(config)
    app = Flask(
        "flowapp",
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)
    app.config.setdefault("MIGRATIONS_DIR", PROJECT_ROOT / "migrations")

    from flowapp import extensions, logs, transactions
    from flowapp.web import register_guards, register_web

    logs.setup_logging(app.config)
    # A request is a reader or a writer before its first query (the login check loads the user).
    transactions.init_app(app)
    # Request ids and the login check run before any extension's hook (an anonymous POST gets 401,
    # not a CSRF error), so they are registered first.
    register_guards(app)
    extensions.init_app(app)
    register_web(app)

    from flowapp import jobs

    # Services describe follow-up work (flowapp.work); the jobs layer enqueues it after each commit.
    app.extensions["flowapp_dispatch"] = jobs.dispatch

    from flowapp.cli import register_cli

    register_cli(app)
    return app


def _load_settings(config: Any) -> dict:
    if config is None or isinstance(config, dict) and config.get("LOAD_DOTENV", True):
        # `.env` fills what the real environment leaves unset (it never overrides it).
        load_dotenv(PROJECT_ROOT / ".env", override=False)
    settings = Config.from_env()
    if isinstance(config, dict):
        settings.update(config)
    elif config is not None:
        settings.update({k: getattr(config, k) for k in dir(config) if k.isupper()})
    for key, value in Config.defaults().items():
        settings.setdefault(key, value)
    settings = finalize(settings)
    if settings["FLOWAPP_ENV"] != "production":
        _fill_development_secrets(settings)
    return settings


def _fill_development_secrets(settings: dict) -> None:
    """Outside production, missing secrets are generated once and kept under `instance/`.

    They must be stable across restarts and shared by every process of one installation (the
    sandbox signs its webhooks with the same APP_SECRET the web app checks), hence the file.
    """
    missing = [k for k in ("SECRET_KEY", "APP_SECRET", "WEBHOOK_VERIFY_TOKEN") if not settings.get(k)]
    if not missing:
        return
    path = Path(settings["INSTANCE_PATH"]) / "dev-secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for key in missing:
        if key not in stored:
            stored[key] = secrets.token_urlsafe(32)
            changed = True
        settings[key] = stored[key]
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)
