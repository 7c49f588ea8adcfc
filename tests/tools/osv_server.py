"""A loopback OSV service (``POST /v1/query``, the API pip-audit calls) serving the corpus advisory records.

Records are the fixtures' own files (PYSEC YAML, GHSA JSON), converted to JSON when served. A record answers a
query when the package (PEP 503 names for PyPI) and ecosystem match and the version is in its ``versions`` list
or, without one, inside an ECOSYSTEM range (compared with ``packaging``, not with the bot's own version code).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from tests.conftest import FIXTURES

OSV = FIXTURES / "osv"


def corpus_records() -> list[dict[str, Any]]:
    out = []
    for path in sorted((OSV / "pypa-advisory-database").rglob("*.yaml")):
        out.append(yaml.safe_load(path.read_text()))
    for path in sorted((OSV / "github-advisory-database").rglob("*.json")):
        out.append(json.loads(path.read_text()))
    return out


def _rfc3339(value: Any) -> str:
    """YAML timestamps (datetime) as the OSV API writes them: ``2019-04-07T00:29:00Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _in_range(version: str, events: list[dict[str, str]]) -> bool:
    try:
        v = Version(version)
    except InvalidVersion:
        return False
    affected = False
    for ev in sorted(
        events,
        key=lambda e: Version("0") if next(iter(e.values())) == "0" else Version(next(iter(e.values()))),
    ):
        ((kind, value),) = ev.items()
        if kind == "introduced" and (value == "0" or v >= Version(value)):
            affected = True
        elif kind == "fixed" and v >= Version(value):
            affected = False
    return affected


def affects(record: dict[str, Any], name: str, ecosystem: str, version: str) -> bool:
    for entry in record.get("affected", []):
        pkg = entry.get("package", {})
        if pkg.get("ecosystem") != ecosystem or _norm(pkg.get("name", "")) != _norm(name):
            continue
        if entry.get("versions"):
            if version in [str(v) for v in entry["versions"]]:
                return True
            continue
        for rng in entry.get("ranges", []):
            if rng.get("type") == "ECOSYSTEM" and _in_range(version, rng["events"]):
                return True
    return False


class OsvServer:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.queries: list[dict[str, Any]] = []

    @contextmanager
    def running(self) -> Iterator[str]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.queries.append(body)
                pkg = body.get("package", {})
                vulns = [
                    r
                    for r in server.records
                    if affects(r, pkg.get("name", ""), pkg.get("ecosystem", ""), body.get("version", ""))
                ]
                data = json.dumps({"vulns": vulns} if vulns else {}, default=_rfc3339).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}/v1/query"
        finally:
            httpd.shutdown()
            httpd.server_close()
