"""A real PostgreSQL server for the tests: Debian's binaries, a tmp data dir, a free port, a unix socket dir.

The server refuses to run as root, so as root it runs as the ``postgres`` user (Debian's package creates it).
One server per test session; each test gets its own database (``fresh_database``). Tests skip, with the
reason, only when the server truly cannot start (no binaries: ``apt-get install -y postgresql``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def _bin_dir() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = (
        sorted((p for p in root.glob("*/bin") if (p / "initdb").exists()), reverse=True)
        if root.exists()
        else []
    )
    if versions:
        return versions[0]
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    bin: Path
    root: Path
    port: int
    user: str | None  # run as this user (None: the current one)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        kw = {}
        if self.user is not None:
            kw = {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid}
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, cwd=self.root, **kw
        )

    def start(self) -> None:
        done = self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
        opts = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        done = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            opts,
            "-w",
            "start",
        )
        if done.returncode:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()[-300:]} {log[-500:]}")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        with self._lock:
            self._count += 1
            name = f"t{os.getpid()}_{self._count}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def start_server() -> tuple[PostgresServer | None, str]:
    """A running server, or None and why not."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        return None, "PostgreSQL server binaries not found (apt-get install -y postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return None, "psycopg is not installed (pip install -e '.[dev]')"
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no postgres user to run the server as"
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="secops-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin=bin_dir, root=root, port=_free_port(), user=user)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        with contextlib.suppress(Exception):
            server.stop()
        return None, f"PostgreSQL could not start: {exc}"
    return server, ""


@contextlib.contextmanager
def running_server() -> Iterator[tuple[PostgresServer | None, str]]:
    server, why = start_server()
    try:
        yield server, why
    finally:
        if server is not None:
            server.stop()
