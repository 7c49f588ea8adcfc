"""A loopback OpenSearch (stdlib ``http.server`` in a thread, port 0) with the endpoints the indexer reader
uses and their documented semantics, for the real ``opensearch-py`` client.

- ``POST /{pattern}/_search/point_in_time?keep_alive=…``: a point in time over the indices matching the
  pattern (comma-separated, ``*`` wildcards), as a frozen snapshot: documents added later are not in it,
  only in a new PIT. No match: 404 ``index_not_found_exception``. Body shaped like the corpus's
  ``pit-create-response.json``.
- ``DELETE /_search/point_in_time``: ``{"pits": [{"successful", "pit_id"}]}`` (``pit-delete-response.json``).
- ``POST /_search`` with ``pit``, ``size``, ``sort`` (time field, tiebreaker), ``search_after`` and a
  ``match_all`` or ``range`` (``gte``, ``epoch_millis``) query: hits with ``_index``, ``_id``,
  ``_score: null``, ``_source`` and ``sort`` (epoch ms, tiebreaker), as in
  ``search-sort-response-with-sort-values.json``. An expired PIT: 404 ``search_context_missing_exception``.
- ``GET /_cluster/health``.
- Basic auth or an API key when users/keys are set: 401 without valid credentials, 403 for a user without
  read permission (security plugin bodies). ``fail_next`` injects a status (500...) or a slow answer.

Where the corpus has no sample (a PIT search response, the expired-PIT and security error bodies) the
shapes follow OpenSearch's documented error format (``{"error": {"root_cause": [...], "type", "reason"},
"status"}``); docs/verification.md lists what is inferred.
"""

from __future__ import annotations

import base64
import bisect
import fnmatch
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson


def _ms(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    when = datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _stream(index: str) -> str:
    """A data stream's name for its backing index (``.ds-<stream>-000001``), which patterns match."""
    return index[4:].rsplit("-", 1)[0] if index.startswith(".ds-") else index


def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


@dataclass
class _Entry:
    key: tuple[int, str]
    doc_id: str
    index: str
    hit: bytes  # the whole hit, encoded once
    filtered: dict[tuple[str, ...], bytes] = field(default_factory=dict)  # the hit per `_source` includes

    def with_source(self, includes: tuple[str, ...]) -> bytes:
        """The hit with only ``includes`` (dotted paths) kept in ``_source``, as OpenSearch filters it."""
        if not includes:
            return self.hit
        cached = self.filtered.get(includes)
        if cached is None:
            hit = orjson.loads(self.hit)
            hit["_source"] = _include(hit["_source"], includes)
            cached = self.filtered[includes] = orjson.dumps(hit)
        return cached


def _include(source: Mapping[str, Any], includes: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in includes:
        value = _get(source, path)
        if value is None and not _has(source, path):
            continue
        *parents, leaf = path.split(".")
        cur = out
        for part in parents:
            cur = cur.setdefault(part, {})
        cur[leaf] = value
    return out


def _has(doc: Mapping[str, Any], dotted: str) -> bool:
    cur: Any = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False
        cur = cur[part]
    return True


@dataclass
class _Pit:
    entries: list[_Entry]
    keys: list[tuple[int, str]]
    expires: float
    shards: int


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, kind: str, reason: str, *, wrap: str | None = None) -> dict[str, Any]:
    root = {"type": kind, "reason": reason}
    outer = {
        "root_cause": [root],
        "type": wrap or kind,
        "reason": reason if wrap is None else "all shards failed",
    }
    if wrap is not None:
        outer.update({"phase": "query", "grouped": True, "failed_shards": [{"shard": -1, "reason": root}]})
    return {"error": outer, "status": status}


class FakeOpenSearch:
    """The server. ``add(index, docs)`` indexes documents (``_id`` from ``id_of``); ``url`` to connect."""

    def __init__(
        self,
        *,
        time_field: str = "timestamp",
        tiebreaker: str = "id",
        users: Mapping[str, str] | None = None,
        readers: Iterable[str] | None = None,
        api_keys: Iterable[str] = (),
    ) -> None:
        self.time_field = time_field
        self.tiebreaker = tiebreaker
        self.users = dict(users or {})
        self.readers = set(readers) if readers is not None else set(self.users)
        self.api_keys = set(api_keys)
        self.indices: dict[str, list[_Entry]] = {}
        self.pits: dict[str, _Pit] = {}
        self.requests: list[Recorded] = []
        self.fail_next: list[tuple[str, int | float]] = []  # (path part, status) or (path part, -seconds)
        self.slow_s = 0.0
        self._lock = threading.Lock()
        self._pit_seq = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle -------------------------------------------------------------------------------------

    def __enter__(self) -> FakeOpenSearch:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- data ------------------------------------------------------------------------------------------

    def add(self, index: str, docs: Iterable[tuple[str, Mapping[str, Any]]]) -> int:
        """Index ``(doc_id, source)`` pairs; each must carry the time field. Returns how many."""
        entries = []
        for doc_id, source in docs:
            entries.append(self.entry(index, doc_id, orjson.dumps(source), source))
        with self._lock:
            self.indices.setdefault(index, []).extend(entries)
        return len(entries)

    def add_raw(self, index: str, entries: list[_Entry]) -> None:
        with self._lock:
            self.indices.setdefault(index, []).extend(entries)

    def entry(self, index: str, doc_id: str, raw: bytes, source: Mapping[str, Any] | None = None) -> _Entry:
        """One document as the server keeps it (the benchmark builds these from a file's lines)."""
        source = source if source is not None else orjson.loads(raw)
        ms = _ms(_get(source, self.time_field))
        tie = _get(source, self.tiebreaker)
        tie = "" if tie is None else str(tie)
        sort = orjson.dumps([ms, tie])
        hit = (
            b'{"_index":' + orjson.dumps(index) + b',"_id":' + orjson.dumps(doc_id) + b',"_score":null,'
            b'"_source":' + raw + b',"sort":' + sort + b"}"
        )
        return _Entry((ms, tie), doc_id, index, hit)

    def delete_index(self, index: str) -> None:
        with self._lock:
            self.indices.pop(index, None)
            for pit in self.pits.values():
                pit.entries = [e for e in pit.entries if e.index != index]
                pit.keys = [e.key for e in pit.entries]

    def expire_pits(self) -> None:
        """Every open PIT expires now (as after its keep_alive)."""
        with self._lock:
            for pit in self.pits.values():
                pit.expires = 0.0

    # --- endpoints -------------------------------------------------------------------------------------

    def _create_pit(self, pattern: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        keep = query.get("keep_alive", ["5m"])[0]
        seconds = float(keep[:-1]) * {"s": 1, "m": 60, "h": 3600}[keep[-1]]
        with self._lock:
            names = [
                n for n in self.indices if any(fnmatch.fnmatch(_stream(n), p) for p in pattern.split(","))
            ]
            if not names:
                return 404, _error(404, "index_not_found_exception", f"no such index [{pattern}]")
            entries = sorted((e for n in names for e in self.indices[n]), key=lambda e: e.key)
            self._pit_seq += 1
            pit_id = base64.b64encode(f"pit-{self._pit_seq}-{pattern}".encode()).decode()
            self.pits[pit_id] = _Pit(
                entries, [e.key for e in entries], time.monotonic() + seconds, len(names)
            )
        body = {
            "pit_id": pit_id,
            "_shards": {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
            "creation_time": int(time.time() * 1000),
        }
        return 200, body

    def _delete_pit(self, body: Any) -> tuple[int, Any]:
        out = []
        with self._lock:
            for pit_id in (body or {}).get("pit_id", []):
                out.append({"successful": self.pits.pop(pit_id, None) is not None, "pit_id": pit_id})
        return 200, {"pits": out}

    def _search(self, body: dict[str, Any]) -> tuple[int, Any] | tuple[int, bytes]:
        pit_ref = body.get("pit") or {}
        pit_id = pit_ref.get("id")
        with self._lock:
            pit = self.pits.get(pit_id)
            if pit is None or pit.expires < time.monotonic():
                self.pits.pop(pit_id, None)
                return 404, _error(
                    404,
                    "search_context_missing_exception",
                    f"No search context found for id [{pit_id}]",
                    wrap="search_phase_execution_exception",
                )
            fields = [next(iter(s)) for s in body.get("sort", [])]
            if fields != [self.time_field, self.tiebreaker]:
                return 400, _error(400, "illegal_argument_exception", f"fake sorts only on {self.time_field}")
            entries, keys = pit.entries, pit.keys
        start = 0
        rng = ((body.get("query") or {}).get("range") or {}).get(self.time_field)
        if rng is not None:
            start = bisect.bisect_left(keys, (int(rng["gte"]), ""))
        after = body.get("search_after")
        if after:
            start = max(start, bisect.bisect_right(keys, (int(after[0]), str(after[1]))))
        size = int(body.get("size", 10))
        page = entries[start : start + size]
        shards = pit.shards
        head = (
            b'{"took":1,"timed_out":false,"pit_id":' + orjson.dumps(pit_id) + b',"_shards":{"total":'
            + str(shards).encode() + b',"successful":' + str(shards).encode()
            + b',"skipped":0,"failed":0},"hits":{"max_score":null,"hits":['
        )  # fmt: skip
        source = body.get("_source")
        includes = tuple(source.get("includes") or ()) if isinstance(source, dict) else ()
        return 200, head + b",".join(e.with_source(includes) for e in page) + b"]}}"

    def _count(self, pattern: str, body: dict[str, Any]) -> tuple[int, Any]:
        """``_count`` with a ``bool.filter`` of ``range`` (epoch ms) and ``terms`` clauses."""
        with self._lock:
            names = [
                n for n in self.indices if any(fnmatch.fnmatch(_stream(n), p) for p in pattern.split(","))
            ]
            if not names:
                return 404, _error(404, "index_not_found_exception", f"no such index [{pattern}]")
            entries = [e for n in names for e in self.indices[n]]
        filters = ((body.get("query") or {}).get("bool") or {}).get("filter") or []
        n = 0
        for e in entries:
            source = orjson.loads(e.hit)["_source"]
            if all(self._matches(source, f) for f in filters):
                n += 1
        return 200, {
            "count": n,
            "_shards": {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0},
        }

    def _matches(self, source: Mapping[str, Any], clause: Mapping[str, Any]) -> bool:
        if "range" in clause:
            ((name, bounds),) = clause["range"].items()
            value = _get(source, name)
            if value is None:
                return False
            ms = _ms(value)
            return ms >= int(bounds.get("gte", ms)) and ms < int(bounds.get("lt", ms + 1))
        ((name, values),) = clause["terms"].items()
        return _get(source, name) in values

    def _health(self) -> tuple[int, Any]:
        return 200, {
            "cluster_name": "wazuh-cluster",
            "status": "green",
            "timed_out": False,
            "number_of_nodes": 1,
        }

    # --- auth ------------------------------------------------------------------------------------------

    def _auth(self, headers: Mapping[str, str]) -> tuple[int, Any] | None:
        if not self.users and not self.api_keys:
            return None
        value = headers.get("authorization", "")
        scheme, _, cred = value.partition(" ")
        if scheme == "ApiKey" and cred in self.api_keys:
            return None
        if scheme == "Basic":
            user, _, password = base64.b64decode(cred).decode().partition(":")
            if self.users.get(user) == password and password:
                if user in self.readers:
                    return None
                reason = (
                    f"no permissions for [indices:data/read/search] and User [name={user}, backend_roles=[], "
                    "requestedTenant=null]"
                )
                return 403, _error(403, "security_exception", reason)
        return 401, b"Unauthorized"

    # --- the handler -----------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                body = orjson.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append(Recorded(self.command, parts.path, body, headers))
                status, answer = fake._route(self.command, parts.path, parse_qs(parts.query), body, headers)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                ctype = "text/plain" if status == 401 else "application/json; charset=UTF-8"
                self.send_header("Content-Type", ctype)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="OpenSearch Security"')
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _serve

        return Handler

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers: Mapping[str, str]
    ) -> tuple[int, Any]:
        for i, (part, what) in enumerate(self.fail_next):
            if path == part or path.endswith(part):
                del self.fail_next[i]
                if what < 0:
                    time.sleep(-what)
                    break
                return int(what), _error(int(what), "exception", "Internal server error (injected)")
        refused = self._auth(headers)
        if refused is not None:
            return refused
        if path.endswith("/_search/point_in_time") and method == "POST":
            return self._create_pit(path.strip("/").split("/")[0], query)
        if path == "/_search/point_in_time" and method == "DELETE":
            return self._delete_pit(body)
        if path == "/_search" and method in ("GET", "POST"):
            return self._search(body or {})
        if path.endswith("/_count") and method in ("GET", "POST"):
            return self._count(path.strip("/").split("/")[0], body or {})
        if path == "/_cluster/health":
            return self._health()
        return 400, _error(400, "illegal_argument_exception", f"not implemented by the fake: {method} {path}")
