"""Logging as the original design asks: a coloured console, and rotating files per concern.

Files under LOG_DIR (10 MB, 5 backups each; safe with several processes writing):
- app.log: everything from Flowapp at LOG_LEVEL and above;
- errors.log: errors only, from every component;
- whatsapp.log: Meta in and out (`flowapp.whatsapp.*`);
- database.log: migrations, slow queries, pool trouble (`flowapp.database`);
- api.log: one line per HTTP request with its request id and duration (`flowapp.http`).

Every handler passes records through `RedactingFilter`, which masks the configured secrets and any
bearer token or password that slipped into a message, so secrets never reach a log.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from pathlib import Path

import colorlog
from concurrent_log_handler import ConcurrentRotatingFileHandler
from pythonjsonlogger.json import JsonFormatter

from flowapp.config import SECRET_SETTINGS

MAX_BYTES = 10 * 1024 * 1024
BACKUP_COUNT = 5
FORMAT = "%(asctime)s %(levelname)-7s [%(name)s] [%(request_id)s] %(message)s"
MASK = "[REDACTED]"

# The id of the request or job being handled, shown on every line it produces.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_FILES = {
    "app.log": ("flowapp", logging.NOTSET),
    "errors.log": ("", logging.ERROR),
    "whatsapp.log": ("flowapp.whatsapp", logging.NOTSET),
    "database.log": ("flowapp.database", logging.NOTSET),
    "api.log": ("flowapp.http", logging.NOTSET),
}

# Secrets recognisable by their shape, whatever their value.
_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    (re.compile(r"(?i)(access_token=)[^&\s\"']+"), r"\1" + MASK),
    (
        re.compile(r"(?i)([\"']?(?:password|passwd|secret|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"),
        r"\1" + MASK,
    ),
    (re.compile(r"(sha256=)[0-9a-f]{64}"), r"\1" + MASK),
]


class ContextFilter(logging.Filter):
    """Adds `request_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RedactingFilter(logging.Filter):
    """Replaces secret values in the final message (and traceback) with a mask."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _formatter(json_lines: bool) -> logging.Formatter:
    if json_lines:
        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s")
    return logging.Formatter(FORMAT)


def setup_logging(config: dict) -> None:
    """Install Flowapp's handlers. Safe to call again: it replaces the handlers it installed before."""
    level = getattr(logging, config.get("LOG_LEVEL", "INFO"), logging.INFO)
    secrets = [config.get(name) or "" for name in SECRET_SETTINGS]
    redact = RedactingFilter(secrets)
    context = ContextFilter()
    json_lines = bool(config.get("LOG_JSON"))
    log_dir = Path(config["LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)

    for name in ("", "flowapp", "flowapp.whatsapp", "flowapp.database", "flowapp.http", "rq"):
        _remove_ours(logging.getLogger(name))

    logging.getLogger("flowapp").setLevel(level)
    logging.getLogger("rq").setLevel(level)
    for filename, (logger_name, handler_level) in _FILES.items():
        handler = ConcurrentRotatingFileHandler(
            str(log_dir / filename), maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
        _install(
            logging.getLogger(logger_name), handler, handler_level, _formatter(json_lines), context, redact
        )
    # RQ's own worker lines (job started, finished, failed) belong in app.log too.
    rq_file = ConcurrentRotatingFileHandler(
        str(log_dir / "app.log"), maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    _install(logging.getLogger("rq"), rq_file, logging.NOTSET, _formatter(json_lines), context, redact)

    if config.get("LOG_CONSOLE", True):
        console = logging.StreamHandler(sys.stderr)
        formatter = _formatter(True) if json_lines else _colour_formatter()
        for logger_name in ("flowapp", "rq"):
            _install(logging.getLogger(logger_name), console, logging.NOTSET, formatter, context, redact)


def _colour_formatter() -> logging.Formatter:
    return colorlog.ColoredFormatter(
        "%(log_color)s" + FORMAT,
        log_colors={
            "DEBUG": "cyan",
            "INFO": "green",
            "WARNING": "yellow",
            "ERROR": "red",
            "CRITICAL": "bold_red",
        },
    )


def _install(logger, handler, level, formatter, *filters) -> None:
    handler.setLevel(level)
    handler.setFormatter(formatter)
    for log_filter in filters:
        handler.addFilter(log_filter)
    handler._flowapp = True  # marks handlers this module owns
    logger.addHandler(handler)


def _remove_ours(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if getattr(handler, "_flowapp", False):
            logger.removeHandler(handler)
            handler.close()
