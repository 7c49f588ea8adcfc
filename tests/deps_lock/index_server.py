"""A loopback Python package index (PEP 503 "simple" pages, port 0) serving tiny wheels the tests describe.

pip-compile and ``uv pip compile`` resolve against it exactly as against PyPI: they read the project pages, pick a
version, download the wheel and read its ``METADATA`` (``Requires-Dist``). The wheels are built in memory from
:class:`Dist` rows (name, version, requirements) and hold one module each; nothing is fetched from anywhere.
``requests`` records each path asked for, so a test can tell the tool really used this index.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Dist:
    """One release: ``requires`` are PEP 508 requirement strings (its ``Requires-Dist`` lines)."""

    name: str
    version: str
    requires: tuple[str, ...] = ()

    @property
    def filename(self) -> str:
        return f"{re.sub(r'[-.]+', '_', self.name)}-{self.version}-py3-none-any.whl"


def project(name: str) -> str:
    """The PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def build_wheel(dist: Dist) -> bytes:
    """A valid, deterministic wheel of ``dist`` (fixed timestamps, sorted members, a RECORD with hashes)."""
    stem = re.sub(r"[-.]+", "_", dist.name)
    info = f"{stem}-{dist.version}.dist-info"
    metadata = "".join(
        [
            "Metadata-Version: 2.1\n",
            f"Name: {dist.name}\n",
            f"Version: {dist.version}\n",
            "Summary: a test release served by the loopback index\n",
            *(f"Requires-Dist: {r}\n" for r in dist.requires),
        ]
    )
    files = {
        f"{stem.lower()}/__init__.py": f'__version__ = "{dist.version}"\n',
        f"{info}/METADATA": metadata,
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:  # stored: the same bytes (and hash) everywhere
        for path in sorted(files):
            zf.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), files[path])
    return out.getvalue()


class PackageIndex:
    """``with PackageIndex(dists).running() as url:`` serves ``url`` (``…/simple``) for pip and uv."""

    def __init__(self, dists: Iterable[Dist]) -> None:
        self.wheels: dict[str, bytes] = {}
        self.projects: dict[str, list[str]] = {}
        for d in dists:
            self.wheels[d.filename] = build_wheel(d)
            self.projects.setdefault(project(d.name), []).append(d.filename)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def _page(self, name: str) -> bytes | None:
        files = self.projects.get(project(name))
        if files is None:
            return None
        links = "".join(
            f'<a href="../../files/{html.escape(f)}#sha256={hashlib.sha256(self.wheels[f]).hexdigest()}">'
            f"{html.escape(f)}</a>\n"
            for f in sorted(files)
        )
        return f"<!DOCTYPE html><html><body>\n{links}</body></html>\n".encode()

    def route(self, path: str) -> tuple[int, str, bytes]:
        with self.lock:
            self.requests.append(path)
        m = re.fullmatch(r"/simple/([^/]+)/?", path)
        if m:
            page = self._page(m.group(1))
            return (200, "text/html", page) if page is not None else (404, "text/plain", b"not found")
        if path.rstrip("/") == "/simple":
            links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(self.projects))
            return 200, "text/html", f"<html><body>\n{links}</body></html>\n".encode()
        m = re.fullmatch(r"/files/([^/]+)", path)
        if m and m.group(1) in self.wheels:
            return 200, "application/octet-stream", self.wheels[m.group(1)]
        return 404, "text/plain", b"not found"

    @contextmanager
    def running(self) -> Iterator[str]:
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                self._answer(with_body=True)

            def do_HEAD(self) -> None:  # uv asks before it downloads a wheel
                self._answer(with_body=False)

            def _answer(self, *, with_body: bool) -> None:
                status, kind, body = index.route(self.path.split("?", 1)[0])
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/simple"
        finally:
            httpd.shutdown()
            httpd.server_close()
