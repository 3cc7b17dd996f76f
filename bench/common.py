"""Shared pieces of the benchmarks: fresh databases, Redis, child processes, percentiles.

Every benchmark measures its baseline in the same run, on the same machine, and prints ratios:
machines here are noisy, a ratio survives that.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
APP_SECRET = "bench-app-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def fresh_database(kind: str):
    """Yield a DATABASE_URL for an empty database, migrated to head."""
    workdir = Path(tempfile.mkdtemp(prefix="flowapp-bench-"))
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    else:
        base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        name = f"flowapp_bench_{os.getpid()}"
        _psql(base, f"DROP DATABASE IF EXISTS {name}")
        _psql(base, f"CREATE DATABASE {name}")
        url = base.rsplit("/", 1)[0] + f"/{name}"
    env = bench_env(url, "redis://127.0.0.1:1/0", workdir)
    subprocess.run(
        [PYTHON, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    try:
        yield url, workdir
    finally:
        if kind != "sqlite":
            _psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)


def _psql(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as connection:
        connection.execute(sql)


@contextmanager
def redis_url(database: int = 14):
    """REDIS_URL's server (database `database`, flushed) when set, else an embedded redis-server."""
    from redis import Redis

    from flowapp.redis_server import EmbeddedRedis

    url = os.environ.get("REDIS_URL")
    if url:
        url = url.rsplit("/", 1)[0] + f"/{database}" if url.startswith("redis") else url
        Redis.from_url(url).flushdb()
        yield url
        return
    server = EmbeddedRedis(tempfile.mkdtemp(prefix="flowapp-bench-redis-"), persist=False).start()
    try:
        yield server.url
    finally:
        server.stop()


def bench_env(database_url: str, redis: str, workdir: Path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis,
        INSTANCE_PATH=str(workdir / "instance"),
        LOG_DIR=str(workdir / "logs"),
        LOG_CONSOLE="false",
        LOG_LEVEL="WARNING",
        APP_SECRET=APP_SECRET,
        SECRET_KEY="bench-secret-key",
        WEBHOOK_VERIFY_TOKEN="bench-verify",
        PHONE_NUMBER_ID="106540352242922",
        BUSINESS_ID="102290129340398",
        FLOWAPP_ENV="production",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Child:
    """A background process, stopped (with its group) on exit."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, log: Path | None = None):
        self.log = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def gunicorn(
    app: str, port: int, workers: int, threads: int = 1, env: dict | None = None, log: Path | None = None
) -> Child:
    """gunicorn with `workers` processes; `threads` > 1 uses the gthread worker (keep-alive, overlap)."""
    worker_class = ["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []
    return Child(
        [
            PYTHON,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *worker_class,
            "--keep-alive",
            "5",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        log=log,
    )
