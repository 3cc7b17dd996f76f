"""The app factory, configuration and the absence of import-time side effects."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flowapp import ConfigError, create_app
from tests import live


def test_importing_the_package_builds_nothing():
    """Importing flowapp and every module under it creates no app and opens no connection."""
    code = (
        "import pkgutil, importlib, sys, flowapp, socket\n"
        "opened = []\n"
        "orig = socket.socket.connect\n"
        "socket.socket.connect = lambda self, *a: opened.append(a) or orig(self, *a)\n"
        "for m in pkgutil.walk_packages(flowapp.__path__, 'flowapp.'):\n"
        "    if not m.name.endswith('__main__'):  # a __main__ module runs its program by design\n"
        "        importlib.import_module(m.name)\n"
        "import flask\n"
        "assert not flask.current_app, 'an app context was pushed'\n"
        "assert not opened, opened\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "APP_SECRET", "WEBHOOK_VERIFY_TOKEN"])
def test_production_refuses_to_start_without_a_secret(base_config, missing):
    """In production a missing secret stops start-up with one line naming it."""
    config = {**base_config, "FLOWAPP_ENV": "production", missing: None}
    with pytest.raises(ConfigError) as excinfo:
        create_app(config)
    message = str(excinfo.value)
    assert missing in message and "\n" not in message


def test_production_start_fails_with_one_clear_line_from_the_command_line(tmp_path):
    """`flask --app wsgi` in production without SECRET_KEY prints the variable's name and exits."""
    env = {
        "PATH": "/usr/bin:/bin",
        "FLOWAPP_ENV": "production",
        "APP_SECRET": "x" * 10,
        "WEBHOOK_VERIFY_TOKEN": "y" * 10,
        "INSTANCE_PATH": str(tmp_path),
        "LOG_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "routes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_start_under_gunicorn_stops_instead_of_restarting_workers(tmp_path):
    """`gunicorn wsgi:app` in production without SECRET_KEY exits non-zero with the one line,
    rather than rebooting its workers in a loop."""
    env = {
        "PATH": "/usr/bin:/bin",
        "FLOWAPP_ENV": "production",
        "APP_SECRET": "x" * 10,
        "WEBHOOK_VERIFY_TOKEN": "y" * 10,
        "INSTANCE_PATH": str(tmp_path),
        "LOG_DIR": str(tmp_path),
    }
    port = live.free_port()
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=live.ROOT,
    )
    assert result.returncode != 0
    assert "Flowapp cannot start: SECRET_KEY is not set" in result.stderr
    assert result.stderr.count("Booting worker") <= 2  # each worker booted once, none again


def test_development_generates_and_keeps_secrets(make_app, tmp_path):
    """Outside production, missing secrets are generated once and reused by the next process."""
    first = make_app(INSTANCE_PATH=str(tmp_path), SECRET_KEY=None, APP_SECRET=None, FLOWAPP_ENV="development")
    second = make_app(
        INSTANCE_PATH=str(tmp_path), SECRET_KEY=None, APP_SECRET=None, FLOWAPP_ENV="development"
    )
    assert first.config["SECRET_KEY"] and first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["APP_SECRET"] == second.config["APP_SECRET"]


def test_defaults(make_app, tmp_path):
    """DATABASE_URL defaults to SQLite under instance/, and plain postgresql:// uses psycopg 3."""
    app = make_app(INSTANCE_PATH=str(tmp_path), DATABASE_URL=None)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'flowapp.db'}"
    app = make_app(DATABASE_URL="postgresql://u@h/d")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/d"
    assert app.config["GRAPH_API_VERSION"] >= "v23.0"


def test_old_graph_version_is_refused(base_config):
    """A Graph API version older than v23.0 is a configuration error."""
    with pytest.raises(ConfigError, match="GRAPH_API_VERSION"):
        create_app({**base_config, "GRAPH_API_VERSION": "v19.0"})


def test_redis_unset_means_the_embedded_socket(make_app, tmp_path):
    """With REDIS_URL unset the app points at the embedded Redis socket under instance/."""
    app = make_app(INSTANCE_PATH=str(tmp_path), REDIS_URL=None)
    assert app.config["REDIS_URL"] == f"unix://{tmp_path / 'redis.sock'}"


def test_every_setting_read_from_the_environment_is_documented():
    """Each variable flowapp/config.py reads appears in env.example and in the README's table."""
    root = Path(__file__).resolve().parents[1]
    source = (root / "flowapp" / "config.py").read_text()
    names = set(re.findall(r'_env\w*\("([A-Z][A-Z0-9_]+)"', source))
    assert {"DATABASE_URL", "SECRET_KEY", "WHATSAPP_TOKEN"} <= names  # the pattern finds them
    example = (root / "env.example").read_text()
    readme = (root / "README.md").read_text()
    assert sorted(n for n in names if not re.search(rf"^#?\s*{n}=", example, re.M)) == []
    assert sorted(n for n in names if f"| `{n}` |" not in readme) == []
