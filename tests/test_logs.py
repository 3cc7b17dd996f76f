"""Logging: the files of the original design, request ids and durations, and no secret in any log."""

import logging
import re
from pathlib import Path

import pytest

from flowapp.logs import RedactingFilter
from tests import factories

SECRETS = {
    "WHATSAPP_TOKEN": "EAAGm0PX4ZCpsBAKZBnOtTokenValue123",
    "APP_SECRET": "app-secret-5f2b9c0e71",
    "SECRET_KEY": "session-signing-key-8d1f",
    "WEBHOOK_VERIFY_TOKEN": "verify-me-4711",
}


@pytest.fixture
def logging_app(make_app, tmp_path, redis):
    app = make_app(LOG_DIR=str(tmp_path / "logs"), LOG_CONSOLE=False, **SECRETS)
    yield app
    for handler in logging.getLogger("flowapp").handlers + logging.getLogger().handlers:
        handler.flush()


def _all_logs(app) -> str:
    for logger in (logging.getLogger(n) for n in ("", "flowapp", "flowapp.whatsapp", "flowapp.http", "rq")):
        for handler in logger.handlers:
            handler.flush()
    return "\n".join(p.read_text() for p in Path(app.config["LOG_DIR"]).glob("*.log"))


def test_log_files_exist(logging_app):
    """app, errors, whatsapp, database and api logs are written under LOG_DIR."""
    logging.getLogger("flowapp.whatsapp.client").info("sent a message")
    logging.getLogger("flowapp.database").info("slow query")
    logging.getLogger("flowapp.jobs").error("a job failed")
    logging_app.test_client().get("/healthz")
    _all_logs(logging_app)
    names = {p.name for p in Path(logging_app.config["LOG_DIR"]).glob("*.log")}
    assert {"app.log", "errors.log", "whatsapp.log", "database.log", "api.log"} <= names
    log_dir = Path(logging_app.config["LOG_DIR"])
    assert "sent a message" in (log_dir / "whatsapp.log").read_text()
    assert "slow query" in (log_dir / "database.log").read_text()
    assert "a job failed" in (log_dir / "errors.log").read_text()
    assert "sent a message" not in (log_dir / "errors.log").read_text()


def test_request_line_has_id_and_duration(logging_app):
    """Every request line carries the request id (also returned in X-Request-ID) and its duration."""
    response = logging_app.test_client().get("/healthz", headers={"X-Request-ID": "req-abc-123"})
    assert response.headers["X-Request-ID"] == "req-abc-123"
    api_log = Path(logging_app.config["LOG_DIR"]) / "api.log"
    _all_logs(logging_app)
    line = [entry for entry in api_log.read_text().splitlines() if "/healthz" in entry][-1]
    assert "[req-abc-123]" in line
    assert re.search(r"GET /healthz 200 \d+\.\dms", line)


def test_unsafe_request_ids_are_replaced(logging_app):
    """A request id that could forge log lines is replaced with a generated one."""
    response = logging_app.test_client().get(
        "/healthz", headers={"X-Request-ID": 'evil id; DROP "quoted" <b>'}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_secrets_never_reach_a_log(logging_app):
    """Configured secrets, bearer tokens and passwords are masked in every log file."""
    log = logging.getLogger("flowapp.whatsapp.client")
    log.info("calling Graph with token %s", SECRETS["WHATSAPP_TOKEN"])
    log.warning("headers: {'Authorization': 'Bearer %s'}", "ABCDEFGHIJKLMNOP12345")
    logging.getLogger("flowapp.webhooks").info("checking signature with %s", SECRETS["APP_SECRET"])
    logging.getLogger("flowapp").info("login form password=hunter2hunter2 for a@b.c")
    logging.getLogger("flowapp").info('payload {"password": "s3cr3t-pw-99"}')
    try:
        raise ValueError(f"token {SECRETS['WHATSAPP_TOKEN']} rejected")
    except ValueError:
        logging.getLogger("flowapp.jobs").exception("send failed")
    client = logging_app.test_client()
    client.get(f"/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={SECRETS['WEBHOOK_VERIFY_TOKEN']}")
    client.post("/login", data={"email": "x@y.z", "password": "typed-password-123"})
    text = _all_logs(logging_app)
    for value in [
        *SECRETS.values(),
        "ABCDEFGHIJKLMNOP12345",
        "hunter2hunter2",
        "s3cr3t-pw-99",
        "typed-password-123",
    ]:
        assert value not in text, f"{value!r} leaked into a log"
    assert "[REDACTED]" in text
    assert "send failed" in text


def test_redacting_filter_masks_longest_first():
    """A secret that contains another is masked whole."""
    redact = RedactingFilter(["abcd", "abcdefgh"]).redact
    assert redact("x abcdefgh y") == "x [REDACTED] y"


def test_login_failure_is_logged_without_password(logging_app):
    """A failed login is logged (for the operator) without the password typed."""
    client = logging_app.test_client()
    token = factories.csrf_token(client)
    client.post("/login", data={"email": "who@example.com", "password": "guess-guess-1", "csrf_token": token})
    text = _all_logs(logging_app)
    assert "failed login for who@example.com" in text
    assert "guess-guess-1" not in text
