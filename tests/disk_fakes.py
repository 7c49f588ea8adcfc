"""A disk that runs out of room: the audit log's writes get ``room`` more bytes, then fail with ENOSPC."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from bot.disk import Disk


class FullDisk(Disk):
    """Writes ``room`` more bytes, then fails with ENOSPC (``room=None``: unlimited)."""

    def __init__(self, room: int | None = None) -> None:
        self.room = room

    def write(self, fd: int, data: bytes) -> int:
        if self.room is None:
            return super().write(fd, data)
        if self.room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = super().write(fd, data[: self.room])
        self.room -= n
        return n


class ReadOnlyLater(Disk):
    """A disk whose state store turns read-only on request (a volume remounted read-only)."""

    def __init__(self) -> None:
        self.connections: list[sqlite3.Connection] = []

    def connect(self, path: Path) -> sqlite3.Connection:
        db = super().connect(path)
        self.connections.append(db)
        return db

    def make_read_only(self) -> None:
        # SQLite then refuses every write with "attempt to write a readonly database", as on a read-only mount
        for db in self.connections:
            db.execute("PRAGMA query_only = ON")
