"""Pulling Wazuh alerts from the Wazuh indexer (OpenSearch) instead of the manager's ``alerts.json``.

One pull opens a point in time (PIT: a frozen snapshot of the matching indices), pages through it with
``search_after`` sorted on the alert time plus a tiebreaker, and closes it. Each page is a :class:`Page`:
its alerts (checked by the same validating function as the file reader,
:func:`tools.sources.wazuh.alert_from_document`) and the :class:`Watermark` to store *with the proposals
built from that page* (one transaction, see ``Scanner.scan_indexer``), so a restart neither skips nor
repeats alerts.

The watermark is not only the last sort values: a document indexed late (its time already behind the last
page) would never be seen again by ``search_after``. So the next pull starts ``overlap`` seconds before the
last time read, and skips the document ids it already read inside that window (kept in the watermark,
bounded by :data:`MAX_SEEN`). A late document inside the window is read once; one later than the window is
missed (docs/alerts.md, "Wazuh indexer").

Generations (docs/alerts.md): Wazuh 4.x ``wazuh-alerts-4.x-*`` (sorted on ``timestamp`` then ``id``) and
Wazuh 5.x ``wazuh-findings-v5*`` data streams (sorted on ``@timestamp`` then ``wazuh.event.id``), told
apart by the index pattern. Every call has a timeout; TLS is verified unless turned off; credentials are
``SecretStr`` and only read when the client is built.
"""

from __future__ import annotations

import gc
import ssl
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import SecretStr

from bot import messages
from bot.core.alert import Alert
from bot.core.errors import SourceError
from bot.core.redact import redact, register_secret
from tools.sources.wazuh import MAX_REPORTED_MALFORMED, Malformed, alert_from_document

#: Ids kept in a watermark's overlap window; past that the window starts at the oldest id kept.
MAX_SEEN = 50_000
#: How long the indexer keeps a PIT between two page requests of one pull.
PIT_KEEP_ALIVE = "5m"
#: Times a pull reopens an expired PIT before it gives up (the next pull resumes from the watermark).
MAX_REOPEN = 3


@dataclass(frozen=True)
class Generation:
    """Where the alert time and the tiebreaker live in one Wazuh generation's documents."""

    name: str
    time_field: str
    tiebreaker: str
    source_field: str  # the attacker's address
    agent_field: str  # the monitored host's name


WAZUH_4 = Generation("4.x", "timestamp", "id", "data.srcip", "agent.name")
WAZUH_5 = Generation("5.x", "@timestamp", "wazuh.event.id", "source.ip", "wazuh.agent.name")

#: The fields the validating reader uses (tools/sources/wazuh.py), the only ones fetched (``_source``
#: includes): a page is parsed and held whole, so the rest of a document (compliance lists, decoders,
#: GeoLocation ...) would cost time and memory for nothing. Both generations' fields: an index pattern can
#: mix them.
SOURCE_FIELDS = (
    "timestamp", "@timestamp", "id",
    "rule.level", "rule.id", "rule.description", "rule.groups", "rule.mitre.id",
    "agent.name", "data.srcip", "data.url", "full_log",
    "wazuh.rule.level", "wazuh.rule.id", "wazuh.rule.title", "wazuh.rule.description", "wazuh.rule.groups",
    "wazuh.rule.tags", "wazuh.rule.mitre", "wazuh.agent.name", "source.ip", "event.original", "message",
)  # fmt: skip


def generation_of(index: str) -> Generation:
    """5.x for the findings/events data streams (``wazuh-findings-v5*``), else 4.x."""
    return WAZUH_5 if "-v5" in index else WAZUH_4


@dataclass(frozen=True)
class IndexerConfig:
    """How to reach the indexer (built from settings in ``bot/cli.py``)."""

    url: str
    index: str = "wazuh-alerts-4.x-*"
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    ca_bundle: Path | None = None
    verify_tls: bool = True
    timeout: float = 30.0
    page_size: int = 5000
    overlap_s: float = 300.0
    keep_alive: str = PIT_KEEP_ALIVE

    @property
    def source(self) -> str:
        """The state-store key of this source: URL and pattern, never a credential."""
        return f"indexer:{_without_userinfo(self.url)}/{self.index}"


@dataclass
class Watermark:
    """Where the next pull starts: the last sort values, and the ids already read in the overlap window.

    ``seen`` maps a document id to its sort time (epoch ms); ``since_ms`` is where the window starts.
    """

    after: list[Any] = field(default_factory=list)
    since_ms: int | None = None
    seen: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        return orjson.dumps({"after": self.after, "since_ms": self.since_ms, "seen": self.seen}).decode()

    @classmethod
    def from_json(cls, text: str) -> Watermark:
        data = orjson.loads(text)
        return cls(after=list(data["after"]), since_ms=data["since_ms"], seen=dict(data["seen"]))

    def advanced(self, hits: list[tuple[str, int]], after: list[Any], overlap_ms: int) -> Watermark:
        """The watermark after a page: ``hits`` are (id, sort time) read on it, ``after`` its last sort."""
        last = int(after[0]) if after and isinstance(after[0], int | float) else None
        seen = dict(self.seen)
        seen.update(hits)
        if last is None:
            return Watermark(after=list(after), since_ms=self.since_ms, seen=seen)
        start = last - overlap_ms
        kept = {i: t for i, t in seen.items() if t >= start}
        if len(kept) > MAX_SEEN:  # a burst: keep the newest ids, and the window starts at the oldest kept
            newest = sorted(kept.items(), key=lambda it: (it[1], it[0]))[-MAX_SEEN:]
            kept = dict(newest)
            start = newest[0][1]
        return Watermark(after=list(after), since_ms=start, seen=kept)


@dataclass
class Page:
    """One page of a pull: its alerts, what was skipped, and the watermark to store with its proposals."""

    alerts: list[Alert]
    watermark: Watermark
    hits: int = 0
    repeats: int = 0  # documents already read (inside the overlap window)
    malformed: list[Malformed] = field(default_factory=list)
    malformed_count: int = 0


@dataclass
class PullNotes:
    """What a pull reports besides its pages: reopened PITs, missing indices, shard failures."""

    notes: list[str] = field(default_factory=list)


class _OrjsonSerializer:
    """opensearch-py's serializer with orjson (a page of 5,000 hits decodes several times faster)."""

    mimetype = "application/json"

    def loads(self, s: Any) -> Any:
        return orjson.loads(s)

    def dumps(self, data: Any) -> str:
        if isinstance(data, str):
            return data
        return orjson.dumps(data).decode()


def build_client(config: IndexerConfig) -> Any:
    """The opensearch-py client: no retries (the next poll retries), a timeout on every call, TLS verified
    unless ``verify_tls`` is off, the CA bundle when given; basic auth or an API key."""
    from opensearchpy import OpenSearch

    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    if config.api_key is not None:
        key = config.api_key.get_secret_value()
        register_secret(key)
        headers["Authorization"] = f"ApiKey {key}"
    elif config.username:
        password = config.password.get_secret_value() if config.password is not None else ""
        register_secret(password)
        auth = (config.username, password)
    https = config.url.lower().startswith("https")
    kwargs: dict[str, Any] = {}
    if https:
        kwargs["verify_certs"] = config.verify_tls
        kwargs["ssl_show_warn"] = config.verify_tls
        if config.ca_bundle is not None:
            kwargs["ca_certs"] = str(config.ca_bundle)
        if not config.verify_tls:
            kwargs["ssl_assert_hostname"] = False
            kwargs["ssl_context"] = _unverified_context()
    return OpenSearch(
        hosts=[config.url],
        http_auth=auth,
        headers=headers or None,
        use_ssl=https,
        timeout=config.timeout,
        max_retries=0,
        retry_on_timeout=False,
        http_compress=False,
        serializer=_OrjsonSerializer(),
        **kwargs,
    )


def _unverified_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class IndexerReader:
    """Pages of alerts from the indexer, from a watermark (or a time) to the newest document."""

    def __init__(self, config: IndexerConfig, client: Any | None = None) -> None:
        self.config = config
        self.client = client if client is not None else build_client(config)
        self.generation = generation_of(config.index)

    @property
    def source(self) -> str:
        return self.config.source

    def describe(self) -> str:
        """The source as shown to people: URL (without credentials) and index pattern."""
        return f"{_without_userinfo(self.config.url)} {self.config.index}"

    def health(self) -> str:
        """The cluster's health status (green, yellow, red); raises :class:`SourceError` when unreachable."""
        body = self._call("cluster health", self.client.cluster.health)
        return str(body.get("status", "unknown"))

    def pages(
        self, watermark: Watermark | None, since_ms: int | None = None, notes: PullNotes | None = None
    ) -> Iterator[Page]:
        """Pages from ``watermark`` (or from ``since_ms``, or from the oldest document) to the newest.

        A missing index is a note and an empty pull; an expired PIT is reopened and the pull goes on after
        the last sort values; auth failures, server errors and timeouts raise :class:`SourceError`.
        """
        notes = notes if notes is not None else PullNotes()
        mark = watermark or Watermark(since_ms=since_ms)
        start = mark.since_ms if watermark is not None else since_ms
        pit = self._open_pit(notes)
        if pit is None:
            return
        overlap_ms = int(self.config.overlap_s * 1000)
        after: list[Any] | None = None
        reopened = 0
        position = 0
        try:
            while True:
                body = self._body(pit, start, after)
                # A page decodes into ~100,000 small acyclic objects: with the cyclic GC running, its
                # collections re-walk them all (most of the pull's time, measured). Paused while a page
                # is fetched and read, as the file reader does; on again before the page is handed out.
                gc_was_enabled = gc.isenabled()
                gc.disable()
                try:
                    response = self._call("search", self.client.search, body=body)
                    page = self._read(response, mark, position, overlap_ms)
                except _ExpiredPit:
                    reopened += 1
                    if reopened > MAX_REOPEN:
                        raise SourceError(messages.indexer_pit_lost(self.describe(), MAX_REOPEN)) from None
                    notes.notes.append(messages.indexer_pit_reopened(self.describe()))
                    pit = self._open_pit(notes)
                    if pit is None:
                        return
                    continue
                except _IndexGone:
                    notes.notes.append(messages.indexer_index_gone(self.describe()))
                    return
                finally:
                    if gc_was_enabled:
                        gc.enable()
                pit = response.get("pit_id") or pit  # the id may change from one search to the next
                failed = (response.get("_shards") or {}).get("failed") or 0
                if failed:
                    notes.notes.append(messages.indexer_shards_failed(self.describe(), int(failed)))
                if page is None:
                    return
                position += page.hits
                after = page.watermark.after
                mark = page.watermark
                yield page
                if page.hits < self.config.page_size:
                    return
        finally:
            self._close_pit(pit)

    def _read(self, response: Any, mark: Watermark, position: int, overlap_ms: int) -> Page | None:
        """The page in a search response, with the watermark after it; None when it has no hits."""
        hits = (response.get("hits") or {}).get("hits") or []
        if not hits:
            return None
        page, ids = self._page(hits, mark, position)
        last = hits[-1].get("sort") if type(hits[-1]) is dict else None
        page.watermark = mark.advanced(ids, last if type(last) is list else [], overlap_ms)
        return page

    def count(self, addresses: tuple[str, ...], targets: tuple[str, ...], since: float, until: float) -> int:
        """How many alerts from ``addresses`` to ``targets`` between two times (post-merge verification)."""
        g = self.generation
        window = {"gte": int(since * 1000), "lt": int(until * 1000), "format": "epoch_millis"}
        filters: list[dict[str, Any]] = [
            {"range": {g.time_field: window}},
            {"terms": {g.source_field: list(addresses)}},
        ]
        if targets:
            filters.append({"terms": {g.agent_field: list(targets)}})
        try:
            body = self._call(
                "count",
                self.client.count,
                index=self.config.index,
                body={"query": {"bool": {"filter": filters}}},
            )
        except (_IndexGone, _ExpiredPit):
            return 0
        return int(body.get("count", 0))

    # --- one page --------------------------------------------------------------------------------------

    def _page(self, hits: list[Any], mark: Watermark, position: int) -> tuple[Page, list[tuple[str, int]]]:
        """The page's alerts, and (id, sort time) of its hits for the watermark, in one pass."""
        alerts: list[Alert] = []
        ids: list[tuple[str, int]] = []
        page = Page(alerts=alerts, watermark=mark, hits=len(hits))
        seen = mark.seen
        for hit in hits:
            position += 1
            if type(hit) is not dict:
                page.malformed_count += 1
                continue
            doc_id = hit.get("_id")
            sort = hit.get("sort")
            if type(doc_id) is str:
                if type(sort) is list and sort and type(sort[0]) is int:
                    ids.append((doc_id, sort[0]))
                if doc_id in seen:
                    page.repeats += 1
                    continue
            src = hit.get("_source")
            # The 4.x manager's own shape (with its `id`) takes the reader's fast path; otherwise the hit
            # itself, whose `_id` is the alert id when the alert has none.
            item = alert_from_document(src if type(src) is dict and "id" in src else hit, position)
            if type(item) is str:
                page.malformed_count += 1
                if len(page.malformed) < MAX_REPORTED_MALFORMED:
                    page.malformed.append(Malformed(position, f"{item} (document {_shown_id(doc_id)})"))
                continue
            alerts.append(item)  # type: ignore[arg-type]
        return page, ids

    def _body(self, pit: str, start: int | None, after: list[Any] | None) -> dict[str, Any]:
        g = self.generation
        query: dict[str, Any] = (
            {"range": {g.time_field: {"gte": start, "format": "epoch_millis"}}}
            if start is not None
            else {"match_all": {}}
        )
        body: dict[str, Any] = {
            "size": self.config.page_size,
            "query": query,
            "pit": {"id": pit, "keep_alive": self.config.keep_alive},
            "sort": [{g.time_field: {"order": "asc"}}, {g.tiebreaker: {"order": "asc"}}],
            "track_total_hits": False,
            "_source": {"includes": list(SOURCE_FIELDS)},
        }
        if after:
            body["search_after"] = after
        return body

    # --- PIT -------------------------------------------------------------------------------------------

    def _open_pit(self, notes: PullNotes) -> str | None:
        try:
            body = self._call(
                "create PIT",
                self.client.create_pit,
                index=self.config.index,
                params={"keep_alive": self.config.keep_alive},
            )
        except _IndexGone:
            notes.notes.append(messages.indexer_no_index(self.describe()))
            return None
        pit = body.get("pit_id")
        if not isinstance(pit, str) or not pit:
            raise SourceError(messages.indexer_bad_answer(self.describe(), "create PIT", "no pit_id"))
        return pit

    def _close_pit(self, pit: str | None) -> None:
        """Delete the PIT (best effort: it expires on its own after ``keep_alive``)."""
        if pit is None:
            return
        with suppress(Exception):  # an expired or unreachable PIT needs no deleting; nothing to report
            self.client.delete_pit(body={"pit_id": [pit]}, request_timeout=self.config.timeout)

    # --- calls -----------------------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """One client call with the timeout, its errors turned into :class:`SourceError` (redacted)."""
        from opensearchpy import exceptions as ex

        where = self.describe()
        try:
            return fn(request_timeout=self.config.timeout, **kwargs)
        except ex.AuthenticationException:
            raise SourceError(messages.indexer_unauthorized(where, what)) from None
        except ex.AuthorizationException as exc:
            raise SourceError(messages.indexer_forbidden(where, what, _reason(exc))) from None
        except ex.NotFoundError as exc:
            kind = _error_type(exc)
            if kind == "search_context_missing_exception" or "point in time" in _reason(exc).lower():
                raise _ExpiredPit from None
            if kind == "index_not_found_exception":
                raise _IndexGone from None
            raise SourceError(messages.indexer_failed(where, what, 404, _reason(exc))) from None
        except ex.ConnectionTimeout:
            raise SourceError(messages.indexer_timeout(where, what, self.config.timeout)) from None
        except ex.SSLError as exc:
            raise SourceError(messages.indexer_tls(where, redact(str(exc.info or exc))[:300])) from None
        except ex.ConnectionError as exc:
            raise SourceError(
                messages.indexer_unreachable(where, redact(str(exc.info or exc))[:300])
            ) from None
        except ex.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            raise SourceError(messages.indexer_failed(where, what, status, _reason(exc))) from None


class _ExpiredPit(Exception):
    """The PIT expired (404 ``search_context_missing_exception``)."""


class _IndexGone(Exception):
    """No index matches (404 ``index_not_found_exception``)."""


def _error_type(exc: Any) -> str:
    info = exc.info if isinstance(getattr(exc, "info", None), dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        root = error.get("root_cause")
        if isinstance(root, list) and root and isinstance(root[0], dict):
            return str(root[0].get("type", error.get("type", "")))
        return str(error.get("type", ""))
    return str(getattr(exc, "error", "") or "")


def _reason(exc: Any) -> str:
    info = exc.info if isinstance(getattr(exc, "info", None), dict) else {}
    error = info.get("error")
    text = error.get("reason", "") if isinstance(error, dict) else (error or getattr(exc, "error", ""))
    return redact(str(text or exc.__class__.__name__))[:300]


def _shown_id(doc_id: Any) -> str:
    text = str(doc_id) if doc_id is not None else "without _id"
    return text if len(text) <= 64 else text[:64] + "…"


def _without_userinfo(url: str) -> str:
    """The URL without ``user:password@`` (a URL with credentials in it must not reach a log or a key)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rpartition('@')[2]}{slash}{path}".rstrip("/")


def reader_from_settings(settings: Any) -> IndexerReader | None:
    """The indexer reader the settings ask for (``SECOPS_INDEXER_URL``), or None."""
    if not settings.indexer:
        return None
    return IndexerReader(
        IndexerConfig(
            url=settings.indexer,
            index=settings.indexer_index,
            username=settings.indexer_username,
            password=settings.indexer_password,
            api_key=settings.indexer_api_key,
            ca_bundle=settings.indexer_ca_bundle,
            verify_tls=settings.indexer_verify_tls,
            timeout=settings.indexer_timeout,
            page_size=settings.indexer_page_size,
            overlap_s=settings.indexer_overlap,
        )
    )
