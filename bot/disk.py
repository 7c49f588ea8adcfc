"""The few file-system calls behind the audit log and the state store, in one replaceable object.

Production code uses :class:`Disk` (plain ``os`` and ``sqlite3``). Tests pass a subclass that fails at chosen
points (``OSError(ENOSPC)`` after so many bytes, a SQLite database that is full), so a full disk can be
tested on any machine, without a small file system.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class Disk:
    """Writes, syncs and database connections of the bot's own storage under the data directory."""

    def write(self, fd: int, data: bytes) -> int:
        """One ``os.write``; returns how many bytes were written (possibly fewer than asked)."""
        return os.write(fd, data)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def write_file(self, path: Path, data: bytes) -> None:
        """Create ``path`` (it must not exist) with ``data``, synced."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[self.write(fd, view.tobytes()) :]
            self.fsync(fd)
        finally:
            os.close(fd)

    def connect(self, path: Path) -> sqlite3.Connection:
        """The state store's SQLite connection (autocommit; the store opens its own transactions)."""
        return sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
