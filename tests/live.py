"""Helpers for tests that start real processes: free ports, waiting for conditions, clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "condition"):
    """Poll `condition` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as exc:  # the process may not be listening yet
            last_error = exc
            result = None
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


def flask_env(**overrides) -> dict[str, str]:
    """The environment for a Flowapp child process (nothing inherited from a developer's .env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWAPP_", "DATABASE_URL", "REDIS_URL"))}
    env.update({k: str(v) for k, v in overrides.items() if v is not None})
    env.setdefault("LOG_CONSOLE", "false")
    # A network call made while a database transaction is open fails (a logged error is looked for
    # by the e2e tests' log checks, and the job or request fails).
    env.setdefault("TRANSACTION_GUARD", "strict")
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a child in its own session, output to `log`."""
    handle = open(log, "ab")  # noqa: SIM115 (closed by stop())
    process = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    process._log_handle = handle
    return process


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
    """Stop a child and wait for it; kill its whole group if it does not go."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    handle = getattr(process, "_log_handle", None)
    if handle:
        handle.close()
    return process.returncode


def python() -> str:
    return sys.executable
