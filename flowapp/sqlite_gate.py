"""SQLite: webhook intake goes ahead of every other writer.

SQLite lets one connection write at a time, and a connection that finds the database locked
sleeps in growing steps (1, 2, 5, 10 ... 100 ms) before it looks again. Workers that commit one
event and begin the next a moment later win every race against such a sleeper, so while they
process, webhook intake waited hundreds of milliseconds per commit (Meta retries webhooks that are
slow to answer).

The gate is a file lock in front of the database's own. Every writer passes through it (a shared
lock, taken and dropped at once) before it begins; the intake writer holds it exclusively while it
waits for the database, so no new transaction starts meanwhile, and the intake gets the database as
soon as the transaction in progress ends. File locks work across processes, and the kernel wakes a
waiter the moment the lock is free. Each thread opens its own descriptor: flock() locks belong to
an open file, and threads sharing one would share the lock instead of waiting for each other.
"""

from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager


class WriterGate:
    """A cross-process priority gate for one SQLite database file."""

    def __init__(self, database_path: str):
        self.path = f"{database_path}-writers"
        self._local = threading.local()

    def _fd(self) -> int:
        fd = getattr(self._local, "fd", None)
        if fd is None or getattr(self._local, "pid", None) != os.getpid():
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._local.fd, self._local.pid = fd, os.getpid()
        return fd

    def pass_through(self) -> None:
        """Wait while the intake holds the gate; take nothing."""
        fd = self._fd()
        fcntl.flock(fd, fcntl.LOCK_SH)
        fcntl.flock(fd, fcntl.LOCK_UN)

    @contextmanager
    def first(self):
        """Hold the gate: writers that have not begun yet wait until this block ends."""
        fd = self._fd()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
