"""Configuration: one Config class read from the environment (and an optional `.env`).

Every variable is documented in `env.example` and the README. Nothing here touches the disk or the
network at import time; `Config.from_env()` is called by `create_app`.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"

# Variables without which a production instance must refuse to start: a missing SECRET_KEY forges
# sessions, a missing APP_SECRET accepts unsigned webhooks, a missing verify token breaks Meta's check.
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "APP_SECRET", "WEBHOOK_VERIFY_TOKEN")

# Values that must never reach a log line; the log filter masks each one that is set.
SECRET_SETTINGS = ("SECRET_KEY", "APP_SECRET", "WHATSAPP_TOKEN", "WEBHOOK_VERIFY_TOKEN", "AI_API_KEY")

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_API_VERSION = "v25.0"
# Where the sandbox's mock Graph API listens (sandbox mode only). `make run` sets
# SANDBOX_GRAPH_API_URL beside its web port instead, so that two copies do not share one mock.
DEFAULT_SANDBOX_URL = "http://127.0.0.1:5001"
# The fake model server's default address (`make run` puts it beside the mock instead).
DEFAULT_SANDBOX_AI_URL = "http://127.0.0.1:5002/v1"


class ConfigError(RuntimeError):
    """Raised when the configuration cannot work; the message is one line naming the variable."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.lower() in ("1", "true", "yes", "on")


def normalize_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at psycopg 3, the driver Flowapp ships with."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings with their defaults. `from_env()` returns the values as a plain dict."""

    FLOWAPP_ENV = "development"
    INSTANCE_PATH = str(DEFAULT_INSTANCE)
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None
    REDIS_URL: str | None = None
    WHATSAPP_TOKEN: str | None = None
    PHONE_NUMBER_ID: str | None = None
    BUSINESS_ID: str | None = None
    WEBHOOK_VERIFY_TOKEN: str | None = None
    APP_SECRET: str | None = None
    GRAPH_API_URL: str | None = None
    SANDBOX_GRAPH_API_URL = DEFAULT_SANDBOX_URL
    GRAPH_API_VERSION = DEFAULT_GRAPH_API_VERSION
    # The language model (docs/ai.md). Unset AI_BASE_URL: the built-in fake model at SANDBOX_AI_URL,
    # which `make run` starts. Settings > AI provider wins over all three.
    AI_BASE_URL: str | None = None
    AI_API_KEY: str | None = None
    AI_MODEL = "gpt-4o-mini"
    SANDBOX_AI_URL = DEFAULT_SANDBOX_AI_URL
    LOG_DIR: str | None = None
    LOG_LEVEL = "INFO"
    LOG_JSON = False
    LOG_CONSOLE = True
    TIMEZONE = "UTC"
    # Messages per second per phone number (Meta's default tier is 80; up to 1,000).
    SEND_RATE = 80
    # How many send loops may run at once (each in its own worker).
    SEND_PARALLEL = 2
    LOG_RETENTION_DAYS = 30
    # A run older than this expires (its waits included).
    MAX_RUN_AGE_DAYS = 30
    # The HTTP request node refuses private, loopback and link-local addresses unless this is on.
    HTTP_ALLOW_PRIVATE = False
    # Webhook bodies arriving together are stored in one transaction (see pipeline/writer.py).
    INTAKE_GROUP_COMMIT = True
    # How many inbound processing jobs ("pumps") may run at once; more workers than this add no
    # inbound parallelism (docs/pipeline.md).
    INBOUND_PARALLEL = 8
    # How long a worker holds a contact without renewing it; a worker killed mid-event leaves its
    # contact to another worker after this.
    INBOUND_LEASE_SECONDS = 30
    # Workers `make run` starts for the AI steps' queue ("ai"): how many model calls run at once.
    AI_WORKERS = 1
    # Seconds a request may spend before its log line is marked slow.
    SLOW_REQUEST_MS = 500
    # Requests per minute per API token (a fixed window in Redis); 0 turns the limit off.
    API_RATE_LIMIT = 120
    # Comma-separated origins allowed to call the JSON API from a browser (CORS); empty: none.
    API_CORS_ORIGINS = ""
    # A bearer token that may read /metrics without a session (for Prometheus); unset: admins only.
    METRICS_TOKEN: str | None = None
    # A network call made while a database transaction is open (flowapp/transactions.py): "log" an
    # error, or "strict": refuse it (the tests run strict, to find every such call).
    TRANSACTION_GUARD = "log"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # "Keep me logged in" sets Flask-Login's remember cookie: the same flags as the session's.
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    MAX_CONTENT_LENGTH = 3 * 1024 * 1024  # Meta's webhook bodies are at most 3 MB
    RQ_QUEUES = ("webhooks", "sends", "default")

    @classmethod
    def from_env(cls) -> dict:
        """Read every setting from the environment, falling back to the class defaults."""
        env = _env("FLOWAPP_ENV", cls.FLOWAPP_ENV)
        instance = _env("INSTANCE_PATH", cls.INSTANCE_PATH)
        values = {
            "FLOWAPP_ENV": env,
            "INSTANCE_PATH": instance,
            "SECRET_KEY": _env("SECRET_KEY"),
            "DATABASE_URL": _env("DATABASE_URL"),
            "REDIS_URL": _env("REDIS_URL"),
            "WHATSAPP_TOKEN": _env("WHATSAPP_TOKEN"),
            "PHONE_NUMBER_ID": _env("PHONE_NUMBER_ID"),
            "BUSINESS_ID": _env("BUSINESS_ID"),
            "WEBHOOK_VERIFY_TOKEN": _env("WEBHOOK_VERIFY_TOKEN"),
            "APP_SECRET": _env("APP_SECRET"),
            "GRAPH_API_URL": _env("GRAPH_API_URL"),
            "SANDBOX_GRAPH_API_URL": _env("SANDBOX_GRAPH_API_URL", cls.SANDBOX_GRAPH_API_URL),
            "GRAPH_API_VERSION": _env("GRAPH_API_VERSION", cls.GRAPH_API_VERSION),
            "AI_BASE_URL": _env("AI_BASE_URL"),
            "AI_API_KEY": _env("AI_API_KEY"),
            "AI_MODEL": _env("AI_MODEL", cls.AI_MODEL),
            "SANDBOX_AI_URL": _env("SANDBOX_AI_URL", cls.SANDBOX_AI_URL),
            "LOG_DIR": _env("LOG_DIR"),
            "LOG_LEVEL": (_env("LOG_LEVEL", cls.LOG_LEVEL) or "INFO").upper(),
            "LOG_JSON": _env_bool("LOG_JSON", cls.LOG_JSON),
            "LOG_CONSOLE": _env_bool("LOG_CONSOLE", cls.LOG_CONSOLE),
            "TIMEZONE": _env("TIMEZONE", cls.TIMEZONE),
            "SLOW_REQUEST_MS": _env_int("SLOW_REQUEST_MS", cls.SLOW_REQUEST_MS),
            "SEND_RATE": _env_int("SEND_RATE", cls.SEND_RATE),
            "SEND_PARALLEL": _env_int("SEND_PARALLEL", cls.SEND_PARALLEL),
            "LOG_RETENTION_DAYS": _env_int("LOG_RETENTION_DAYS", cls.LOG_RETENTION_DAYS),
            "INTAKE_GROUP_COMMIT": _env_bool("INTAKE_GROUP_COMMIT", cls.INTAKE_GROUP_COMMIT),
            "INBOUND_PARALLEL": _env_int("INBOUND_PARALLEL", cls.INBOUND_PARALLEL),
            "INBOUND_LEASE_SECONDS": _env_int("INBOUND_LEASE_SECONDS", cls.INBOUND_LEASE_SECONDS),
            "AI_WORKERS": _env_int("AI_WORKERS", cls.AI_WORKERS),
            "MAX_RUN_AGE_DAYS": _env_int("MAX_RUN_AGE_DAYS", cls.MAX_RUN_AGE_DAYS),
            "HTTP_ALLOW_PRIVATE": _env_bool("HTTP_ALLOW_PRIVATE", cls.HTTP_ALLOW_PRIVATE),
            "API_RATE_LIMIT": _env_int("API_RATE_LIMIT", cls.API_RATE_LIMIT),
            "API_CORS_ORIGINS": _env("API_CORS_ORIGINS", cls.API_CORS_ORIGINS),
            "METRICS_TOKEN": _env("METRICS_TOKEN"),
            "TRANSACTION_GUARD": _env("TRANSACTION_GUARD", cls.TRANSACTION_GUARD),
        }
        return values

    @classmethod
    def defaults(cls) -> dict:
        """The class attributes that are settings (upper-case names)."""
        return {k: getattr(cls, k) for k in dir(cls) if k.isupper()}


def finalize(config: dict) -> dict:
    """Fill derived values and check what production needs. Raises ConfigError with one line."""
    instance = Path(config["INSTANCE_PATH"])
    production = config["FLOWAPP_ENV"] == "production"
    if production:
        for name in REQUIRED_IN_PRODUCTION:
            if not config.get(name):
                raise ConfigError(f"{name} is not set; it is required when FLOWAPP_ENV=production")
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = f"sqlite:///{instance / 'flowapp.db'}"
    config["DATABASE_URL"] = normalize_database_url(config["DATABASE_URL"])
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(config["DATABASE_URL"])
    if not config.get("REDIS_URL"):
        # Unset means the embedded Redis that `make run` (flowapp.redis_server) starts here.
        config["REDIS_URL"] = f"unix://{instance / 'redis.sock'}"
        config["REDIS_EMBEDDED"] = True
    if not config.get("LOG_DIR"):
        config["LOG_DIR"] = str(PROJECT_ROOT / "logs")
    config["SANDBOX"] = not config.get("WHATSAPP_TOKEN")
    # Remembered so that an access token stored later in Settings can switch the default host too.
    config["GRAPH_API_URL_DEFAULTED"] = not config.get("GRAPH_API_URL")
    if not config.get("GRAPH_API_URL"):
        # Sandbox mode talks to the built-in mock; a real token talks to Meta.
        config["GRAPH_API_URL"] = (
            config["SANDBOX_GRAPH_API_URL"] if config["SANDBOX"] else DEFAULT_GRAPH_API_URL
        )
    config["GRAPH_API_URL"] = config["GRAPH_API_URL"].rstrip("/")
    # Remembered so that `make run` knows to start the fake model server.
    config["AI_BASE_URL_DEFAULTED"] = not config.get("AI_BASE_URL")
    config["AI_BASE_URL"] = (config.get("AI_BASE_URL") or config["SANDBOX_AI_URL"]).rstrip("/")
    if not 1 <= int(config["SEND_RATE"]) <= 1000:
        raise ConfigError(
            f"SEND_RATE must be between 1 and 1000 messages per second, got {config['SEND_RATE']}"
        )
    config["GRAPH_API_VERSION"] = _check_version(config["GRAPH_API_VERSION"])
    for name, low, high in (
        ("INBOUND_PARALLEL", 1, 256),
        ("INBOUND_LEASE_SECONDS", 2, 3600),
        ("AI_WORKERS", 0, 64),
    ):
        if not low <= int(config[name]) <= high:
            raise ConfigError(f"{name} must be between {low} and {high}, got {config[name]}")
    if int(config["API_RATE_LIMIT"]) < 0:
        raise ConfigError(f"API_RATE_LIMIT must be 0 (off) or more, got {config['API_RATE_LIMIT']}")
    return config


def engine_options(url: str) -> dict:
    """Pool settings: pre-ping everywhere, a bounded pool on PostgreSQL, a busy timeout on SQLite."""
    if url.startswith("sqlite"):
        # Several processes (web, worker, scheduler) share one SQLite file: wait for locks instead
        # of failing at once with "database is locked".
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": False, "pool_size": 10, "max_overflow": 10, "pool_recycle": 1800}


def _check_version(version: str) -> str:
    if not version.startswith("v"):
        version = "v" + version
    try:
        major = float(version[1:])
    except ValueError:
        raise ConfigError(f"GRAPH_API_VERSION must look like v25.0, got {version!r}") from None
    if major < 23:
        raise ConfigError(f"GRAPH_API_VERSION {version} is too old; use v23.0 or newer")
    return version
