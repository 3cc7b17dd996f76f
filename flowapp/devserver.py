"""`make run`: the whole of Flowapp on one machine, in one terminal, stopped by one Ctrl-C.

Starts the embedded Redis when REDIS_URL is unset, upgrades the database, makes sure someone can
log in, then runs web (gunicorn), worker and scheduler as child processes that all point at the
same database and Redis. Ctrl-C (or SIGTERM) stops web, workers, scheduler and then Redis, and
removes the pid file; nothing is left behind. Children also die with the launcher if it is killed outright.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app

from flowapp import create_app
from flowapp.config import PROJECT_ROOT
from flowapp.extensions import db
from flowapp.redis_server import EmbeddedRedis, die_with_parent

DEMO_EMAIL = "admin@flowapp.local"
STOP_TIMEOUT = 15.0
# Web first, so no new work arrives; then the workers finish their jobs and the scheduler stops, all
# while Redis still answers (the launcher stops it last); the mock Meta and the fake model go once
# nothing sends or calls a model.
STOP_ORDER = (("web",), ("worker", "worker-2"), ("scheduler",), ("sandbox", "fake-llm"))


def _stage_name(child: str) -> str:
    """The STOP_ORDER name a child stops with: AI workers ("ai-worker-1", ...) with the workers,
    before the fake model they call."""
    return "worker" if child.startswith("ai-worker-") else child


def ensure_demo_login() -> str:
    """Create the demo admin when no user exists; return a line telling how to log in."""
    from flowapp.services import users

    path = Path(current_app.instance_path) / "demo-login.txt"
    if users.count_users() == 0:
        password = secrets.token_urlsafe(12)
        users.create_user(DEMO_EMAIL, password, role="admin", name="Demo admin")
        db.session.commit()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{DEMO_EMAIL}\n{password}\n")
        path.chmod(0o600)
        return f"Created a demo admin. Log in as {DEMO_EMAIL} with password {password}"
    if path.exists():
        email, password = path.read_text().split("\n")[:2]
        return f"Log in as {email} with password {password} (from {path})"
    return "Log in with an existing user (flask --app wsgi create-user adds one)."


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) != 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Stack:
    """The launcher's children, started and stopped together."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.children: dict[str, subprocess.Popen] = {}

    def spawn(self, name: str, args: list[str], **env: str) -> None:
        self.children[name] = subprocess.Popen(
            args,
            env={**self.env, **env},
            cwd=PROJECT_ROOT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def wait_any(self) -> tuple[str, int] | None:
        """Block until a child exits; return its name and code (None if interrupted)."""
        while True:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    return name, code
            try:
                time.sleep(0.5)
            except KeyboardInterrupt:
                return None

    def stop(self) -> None:
        """Stop the children in STOP_ORDER, each stage gone before the next is asked to stop."""
        deadline = time.monotonic() + STOP_TIMEOUT
        unlisted = tuple(n for n in self.children if not any(_stage_name(n) in stage for stage in STOP_ORDER))
        for stage in (*STOP_ORDER, unlisted):
            running = [c for n, c in self.children.items() if _stage_name(n) in stage and c.poll() is None]
            for child in running:
                child.send_signal(signal.SIGTERM)
            for child in running:
                try:
                    child.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


def run_stack(host: str = "127.0.0.1", port: int = 5000) -> int:
    """Run Flowapp until Ctrl-C. Returns the exit code."""
    app = create_app()
    instance = Path(app.instance_path)
    pid_file = instance / "flowapp.pid"
    if pid_file.exists() and _pid_alive(int(pid_file.read_text().strip() or 0)):
        print(f"Flowapp is already running (pid {pid_file.read_text().strip()}); stop it with Ctrl-C first.")
        return 1
    if not _port_free(host, port):
        print(f"Port {port} on {host} is taken by another program; free it or use PORT=... make run")
        return 1

    env = dict(os.environ)
    mock_url = _mock_url(app, env, port) if app.config["SANDBOX"] else None
    fake_llm_url = _fake_llm_url(app, env, port) if app.config["AI_BASE_URL_DEFAULTED"] else None
    redis_server = None
    if app.config.get("REDIS_EMBEDDED"):
        redis_server = EmbeddedRedis(instance).start()
        env["REDIS_URL"] = redis_server.url
        print(f"Embedded Redis on {redis_server.socket}")
    instance.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, _interrupt)

    stack = Stack(env)
    try:
        _prepare_database(app)
        python = sys.executable
        stack.spawn(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "10",
                "wsgi:app",
            ],
        )
        # Two workers: one can send while the other processes what customers wrote.
        stack.spawn("worker", [python, "-m", "flask", "--app", "wsgi", "worker"])
        stack.spawn("worker-2", [python, "-m", "flask", "--app", "wsgi", "worker"])
        # AI steps' model calls on workers of their own: a slow model never holds the two above.
        for number in range(1, int(app.config["AI_WORKERS"]) + 1):
            stack.spawn(f"ai-worker-{number}", [python, "-m", "flask", "--app", "wsgi", "worker", "-q", "ai"])
        stack.spawn("scheduler", [python, "-m", "flask", "--app", "wsgi", "scheduler"])
        if mock_url:
            _spawn_mock(stack, mock_url, app.config["APP_SECRET"], host, port)
        if fake_llm_url:
            _spawn_fake_llm(stack, fake_llm_url)
        print(f"\nFlowapp is running on http://{host}:{port}  (Ctrl-C stops everything)\n")
        ended = stack.wait_any()
        if ended is not None:
            name, code = ended
            print(f"\n{name} exited with code {code}; stopping the rest.")
            return code or 1
        print("\nStopping Flowapp...")
        return 0
    except KeyboardInterrupt:
        print("\nStopping Flowapp...")
        return 0
    finally:
        # A second Ctrl-C while stopping would break the order and print a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()
        if redis_server is not None:
            redis_server.stop()
        pid_file.unlink(missing_ok=True)


def _mock_url(app, env: dict[str, str], port: int) -> str:
    """Where sandbox mode's mock listens: as configured, else on the port after the web's.

    The children are told through SANDBOX_GRAPH_API_URL, so web, workers and mock agree, and two
    copies started with different PORTs each get their own mock.
    """
    if not app.config["GRAPH_API_URL_DEFAULTED"] or env.get("SANDBOX_GRAPH_API_URL", "").strip():
        return app.config["GRAPH_API_URL"]
    mock_port = port + 1 if port < 65535 and _port_free("127.0.0.1", port + 1) else _free_port()
    env["SANDBOX_GRAPH_API_URL"] = f"http://127.0.0.1:{mock_port}"
    return env["SANDBOX_GRAPH_API_URL"]


def _fake_llm_url(app, env: dict[str, str], port: int) -> str:
    """Where the fake model listens (AI_BASE_URL unset): SANDBOX_AI_URL if given, else two ports
    after the web's (or a free one), told to the children through SANDBOX_AI_URL."""
    if env.get("SANDBOX_AI_URL", "").strip():
        return app.config["SANDBOX_AI_URL"]
    fake_port = port + 2 if port < 65534 and _port_free("127.0.0.1", port + 2) else _free_port()
    env["SANDBOX_AI_URL"] = f"http://127.0.0.1:{fake_port}/v1"
    return env["SANDBOX_AI_URL"]


def _spawn_fake_llm(stack: Stack, url: str) -> None:
    """No model configured: AI steps talk to the built-in fake model (docs/ai.md), at `url`."""
    fake = urlsplit(url)
    if fake.hostname not in ("127.0.0.1", "localhost") or not fake.port:
        print(f"SANDBOX_AI_URL ({url}) is not a local port: not starting the fake model.")
        return
    if not _port_free(fake.hostname, fake.port):
        print(f"Port {fake.port} (the fake model) is taken; set SANDBOX_AI_URL to another port.")
        raise SystemExit(1)  # after the `finally` of run_stack has stopped what already started
    command = [
        sys.executable,
        "-m",
        "flowapp.sandbox.fake_llm",
        "--host",
        fake.hostname,
        "--port",
        str(fake.port),
    ]
    stack.spawn("fake-llm", command)
    print(f"No AI provider configured: the fake model answers on {url} (Settings > AI provider)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spawn_mock(stack: Stack, url: str, app_secret: str, host: str, port: int) -> None:
    """Sandbox mode: Meta is played by the built-in mock, at `url`, calling our webhook."""
    mock = urlsplit(url)
    if mock.hostname not in ("127.0.0.1", "localhost") or not mock.port:
        print(f"Sandbox mode, but the Graph API ({url}) is not a local port: not starting the mock.")
        return
    if not _port_free(mock.hostname, mock.port):
        print(
            f"Port {mock.port} (the sandbox's mock Graph API) is taken; "
            "set SANDBOX_GRAPH_API_URL to another port."
        )
        raise SystemExit(1)  # after the `finally` of run_stack has stopped what already started
    webhook = f"http://{host}:{port}/webhooks/whatsapp"
    # The secret goes through the environment, not the command line, where `ps` would show it.
    stack.spawn(
        "sandbox",
        [
            sys.executable,
            "-m",
            "flowapp.sandbox",
            "--host",
            mock.hostname,
            "--port",
            str(mock.port),
            "--webhook-url",
            webhook,
        ],
        APP_SECRET=app_secret,
    )
    print(
        f"Sandbox mode: the mock Graph API listens on {url}; "
        f"the phone simulator is at http://{host}:{port}/sandbox/phone"
    )


def _prepare_database(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        print(ensure_demo_login())
