"""A disk that runs out of room: the audit log's writes get ``room`` more bytes, then fail with ENOSPC."""

from __future__ import annotations

import errno
import os

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
